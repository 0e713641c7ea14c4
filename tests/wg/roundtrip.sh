#!/bin/sh
# Round trip between wice's WireGuard API (driven through wgtool) and the real
# wg(8) tool, against a real device: kernel (WG_MODE=kernel, used inside the
# test VM) or wireguard-go (WG_MODE=userspace, inside a test namespace).
#
# Configures with wg, reads back through our API and compares with
# `wg show IF dump`; then changes the device through our API and checks the
# result with wg, including that untouched peers stay exactly as they were.
# POSIX sh: it also runs under busybox in the VM.
#
# Environment: WG_MODE, WGTOOL, WG (default: wg), WG_IFNAME (default: wgrt0).
set -eu

WG=${WG:-wg}
IF=${WG_IFNAME:-wgrt0}
TMP=$(mktemp -d)
WGGO_PID=

cleanup() {
	if [ -n "$WGGO_PID" ]; then kill "$WGGO_PID" 2>/dev/null || true; fi
	ip link del "$IF" 2>/dev/null || true
	rm -f "/var/run/wireguard/$IF.sock"
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "roundtrip: FAIL: $*"
	exit 1
}

make_device() {
	case "$WG_MODE" in
	kernel)
		ip link add "$IF" type wireguard || fail "cannot create kernel device $IF"
		;;
	userspace)
		WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$IF" >"$TMP/wggo.log" 2>&1 &
		WGGO_PID=$!
		i=0
		until "$WG" show "$IF" >/dev/null 2>&1; do
			i=$((i + 1))
			[ $i -lt 200 ] || fail "wireguard-go did not create $IF"
			sleep 0.05
		done
		;;
	*) fail "WG_MODE must be kernel or userspace, not '$WG_MODE'" ;;
	esac
	ip link set "$IF" up
}

key() { "$WG" genkey; }
pub() { echo "$1" | "$WG" pubkey; }

# Interface line first, then the peers sorted: wg sorts peers by handshake
# time with an unstable sort, and wireguard-go lists them in map order.
sorted_dump() {
	"$@" >"$TMP/raw" || return 1
	head -n 1 "$TMP/raw"
	tail -n +2 "$TMP/raw" | sort
}

# Compares our dump with wg's; $1 names the step for the failure message.
same_dump() {
	sorted_dump "$WG" show "$IF" dump >"$TMP/wg.dump" || fail "$1: wg show failed"
	sorted_dump "$WGTOOL" dump "$IF" >"$TMP/our.dump" || fail "$1: wgtool dump failed"
	if ! cmp -s "$TMP/wg.dump" "$TMP/our.dump"; then
		diff "$TMP/wg.dump" "$TMP/our.dump" || true
		fail "$1: our reading differs from wg show dump"
	fi
}

# The dump of every peer except $1, to show a change left the others alone.
others() {
	"$WG" show "$IF" dump | tail -n +2 | grep -v "^$1	" | sort
}

make_device
PRIV=$(key)
echo "$PRIV" >"$TMP/priv"
P1=$(pub "$(key)"); P2=$(pub "$(key)"); P3=$(pub "$(key)")
PSK=$("$WG" genpsk)
echo "$PSK" >"$TMP/psk"

# 1. configured by wg, read by us
"$WG" set "$IF" private-key "$TMP/priv" listen-port 51820 fwmark 0x1234 \
	peer "$P1" preshared-key "$TMP/psk" endpoint 192.0.2.1:51820 allowed-ips 10.1.0.0/16,fd00:1::/64 persistent-keepalive 25 \
	peer "$P2" endpoint '[2001:db8::1]:4500' allowed-ips 10.2.0.1/32 \
	peer "$P3"
same_dump "initial configuration"
"$WGTOOL" list | grep -qx "$IF" || fail "wgtool list does not show $IF"

# 2. set one peer's endpoint through our API
before=$(others "$P2")
"$WGTOOL" set-endpoint "$IF" "$P2" 198.51.100.7:1234
"$WG" show "$IF" endpoints | grep -q "^$P2	198.51.100.7:1234$" || fail "endpoint not set"
[ "$before" = "$(others "$P2")" ] || fail "setting an endpoint disturbed other peers"
"$WGTOOL" set-endpoint "$IF" "$P3" '[2001:db8::2]:5555'
"$WG" show "$IF" endpoints | grep -q "^$P3	\[2001:db8::2\]:5555$" || fail "v6 endpoint not set"
same_dump "after set-endpoint"

# 3. add, update and remove peers through our API
P4=$(pub "$(key)")
before=$(others "$P4")
"$WGTOOL" put-peer "$IF" "$P4" allowed-ips 10.4.0.0/24,fd00:4::/48 endpoint 203.0.113.4:4444 keepalive 15 preshared-key "$PSK"
"$WG" show "$IF" dump | grep -q "^$P4	$PSK	203.0.113.4:4444	10.4.0.0/24,fd00:4::/48	0	0	0	15$" ||
	fail "added peer not as requested"
[ "$before" = "$(others "$P4")" ] || fail "adding a peer disturbed other peers"
"$WGTOOL" put-peer "$IF" "$P1" allowed-ips 10.9.0.0/16
"$WG" show "$IF" allowed-ips | grep -q "^$P1	10.9.0.0/16$" || fail "allowed ips of an existing peer not replaced"
before=$(others "$P2")
"$WGTOOL" remove-peer "$IF" "$P2"
"$WG" show "$IF" peers | grep -q "^$P2$" && fail "peer not removed"
[ "$before" = "$(others "$P2")" ] || fail "removing a peer disturbed other peers"
same_dump "after peer changes"

# 4. device settings through our API
PRIV2=$(key)
"$WGTOOL" set-device "$IF" private-key "$PRIV2" listen-port 40000 fwmark 0x99
[ "$("$WG" show "$IF" public-key)" = "$(pub "$PRIV2")" ] || fail "private key not set"
[ "$("$WG" show "$IF" listen-port)" = 40000 ] || fail "listen port not set"
[ "$("$WG" show "$IF" fwmark)" = 0x99 ] || fail "fwmark not set"
same_dump "after device changes"

# 5. big devices: a multi-part dump, and a peer whose allowed IPs span
# several netlink messages both ways.
i=0
: >"$TMP/conf"
while [ $i -lt 300 ]; do
	printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.0/24\n\n' "$(pub "$(key)")" $((100 + i / 200)) $((i % 200)) >>"$TMP/conf"
	i=$((i + 1))
done
"$WG" addconf "$IF" "$TMP/conf"
same_dump "300 peers"
P5=$(pub "$(key)")
ips=$(i=0; while [ $i -lt 1000 ]; do printf '172.%d.%d.0/24,' $((16 + i / 250)) $((i % 250)); i=$((i + 1)); done)
"$WGTOOL" put-peer "$IF" "$P5" allowed-ips "${ips%,}"
[ "$("$WG" show "$IF" allowed-ips | grep "^$P5" | tr ' ' '\n' | grep -c /)" = 1000 ] ||
	fail "1000 allowed ips not all set"
same_dump "peer with 1000 allowed ips"

# 6. bad requests are refused and change nothing
sorted_dump "$WG" show "$IF" dump >"$TMP/before"
# An endpoint for an unknown peer must not create that peer.
"$WGTOOL" set-endpoint "$IF" "$(pub "$(key)")" 192.0.2.9:9 2>/dev/null || true
"$WGTOOL" set-endpoint "$IF" "$P1" 'not-an-endpoint' 2>/dev/null && fail "bad endpoint accepted"
"$WGTOOL" dump nonexistent0 2>/dev/null && fail "dump of a missing device succeeded"
sorted_dump "$WG" show "$IF" dump >"$TMP/after"
if ! cmp -s "$TMP/before" "$TMP/after"; then diff "$TMP/before" "$TMP/after" | head; fail "refused requests changed the device"; fi

echo "roundtrip: PASS ($WG_MODE)"
