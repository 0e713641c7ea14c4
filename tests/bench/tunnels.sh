#!/bin/bash
# tunnels.sh: paths through the tunnels (issue 13): what traffic a -> c
# costs when it goes through a relaying peer b, beside a direct path and a
# TURN relay; and how long a dead direct path takes to hand its traffic to
# the hub of a star (and to take it back when the path returns).
#
#   path    a and c behind NAT routers, b on the internet; WireGuard with
#           keys only, link addresses on, the target is c's key address:
#             direct   both NATs port-preserving: a direct pair
#             peer     both NATs symmetric, no TURN, b relays
#                      (relay-for-peers = yes): a routes c through b
#             turn     both NATs symmetric, TURN on srv: a relay pair
#           figures: iperf3 TCP and UDP a -> c (median over
#           BENCH_IPERF_REPS), ping RTT (median of 50 pings, 20 ms apart)
#   star    hub-spoke.test's star (hub on the internet, spokes s1 and s2
#           behind port-preserving NATs), BENCH_TUNNEL_RUNS times: drop
#           s1's packets to s2's router; the time until s1 pings s2 again
#           (through the hub); the drop goes; the time until s1's peer s2
#           is direct again
#
# Writes the section "Through the tunnels" of $BENCH_DOC (spliced: the
# rest of the document stays).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
# shellcheck source=tests/bench/bench-lib.sh
. "$top_srcdir/tests/bench/bench-lib.sh"

BENCH_IPERF_SECS=${BENCH_IPERF_SECS:-5}
BENCH_IPERF_REPS=${BENCH_IPERF_REPS:-3}
BENCH_TUNNEL_RUNS=${BENCH_TUNNEL_RUNS:-3}
BENCH_DOC=${BENCH_DOC:-$top_srcdir/docs/BENCHMARKS.md}
TN_UDP_LEN=1200

tn__peer() { # HOST PEER: HOST's daemon's JSON for lab_wg PEER
	wl_show "$1" | jq -c --arg k "$(lab_wg_pub "$2")" '.interfaces[0].peers[] | select(.public_key == $k)'
}

tn__reached() {
	tn__peer "$1" "$2" | jq -r '.reached // "none"'
}

tn__is() { # WANT HOST PEER
	[ "$(tn__reached "$2" "$3")" = "$1" ]
}

# tn_path_setup KIND: the lab for one path kind; prints c's key address.
tn_path_setup() {
	local kind=$1 nat=symmetric srv h extra
	[ "$kind" != direct ] || nat=easy
	wl_setup_internet
	lab_attach b inet
	lab_nat r1 "$nat"
	lab_nat r2 "$nat"
	lab_attach a r1
	lab_attach c r2
	for h in a b c; do
		lab_wg "$h" "$h" "" 51820
	done
	lab_wg_peer a b
	lab_wg_peer b a
	lab_wg_peer b c
	lab_wg_peer c b
	lab_wg_peer a c
	lab_wg_peer c a
	srv=$(lab_ip srv)
	for h in a b c; do
		extra=
		[ "$h" != b ] || [ "$kind" != peer ] || extra="relay-for-peers = yes"
		if [ "$kind" = turn ]; then
			wl__daemon_start "$h" "$(wl_conf_servers udp)
[interface $(lab_wg_ifname "$h")]
link-addresses = yes"
		else
			wl__daemon_start "$h" "[signaling]
urls = http://$srv:$WL_SRV_PORT
[ice]
urls = stun:$srv:3478
[interface $(lab_wg_ifname "$h")]
link-addresses = yes
$extra"
		fi
	done
	case $kind in
	direct) lab_wait_for 60 tn__is direct a c ;;
	peer) lab_wait_for 90 tn__is via a c && lab_wait_for 20 tn__is via c a ;;
	turn) lab_wait_for 60 tn__is relay a c ;;
	esac || { echo "# $kind: a -> c is $(tn__reached a c)" >&2; return 1; }
	tn__peer a c | jq -r .link_addresses.key
}

tn_iperf() { # TARGET tcp|udp: "MBIT"
	local args=() json
	[ "$2" = tcp ] || args=(-u -b 0 -l "$TN_UDP_LEN")
	json=$(lab_exec a iperf3 -c "$1" -t "$BENCH_IPERF_SECS" -J "${args[@]}" 2>/dev/null) || true
	jq -r '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$json" 2>/dev/null || echo 0
}

tn_rtt() { # TARGET: median RTT of 50 pings, ms
	lab_exec a ping -n -c 50 -i 0.02 -W 1 "$1" 2>/dev/null | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | bench_median
}

tn_path() { # KIND
	local kind=$1 target rep
	(
		set -e
		lab_init
		set +e
		target=$(tn_path_setup "$kind" | tail -n 1) && [ -n "$target" ] || exit 1
		lab_wait_for 30 lab_ping a "$target" || exit 1
		lab_bg c iperf3-server iperf3 -s
		lab_wait_for 10 lab_listening c tcp 5201 || exit 1
		for rep in $(seq 1 "$BENCH_IPERF_REPS"); do
			echo "$(tn_iperf "$target" tcp) $(tn_iperf "$target" udp) $(bench_load)" >>"$BENCH_OUT/raw/tunnels.$kind"
			echo "# $kind rep $rep: $(tail -n 1 "$BENCH_OUT/raw/tunnels.$kind") (TCP, UDP Mbit/s, load)"
		done
		tn_rtt "$target" >"$BENCH_OUT/raw/tunnels.$kind.rtt"
		wl_show b | jq -r '.interfaces[0].relay.packets // 0' >"$BENCH_OUT/raw/tunnels.$kind.relayed"
		exit 0
	) || echo "# tunnels: path $kind broke" >&2
}

# tn_star: hub-spoke.test's star; per run, fallback and recovery times.
tn_star() {
	(
		set -e
		lab_init
		set +e
		local hubip srv n s run t0 r2wan
		wl_setup_internet
		lab_attach hub inet
		lab_sysctl hub net.ipv4.ip_forward 1
		lab_nat r1 easy
		lab_nat r2 easy
		hubip=$(lab_ip hub)
		lab_wg hub hub 10.77.0.1/24 51820
		n=1
		for s in s1 s2; do
			n=$((n + 1))
			lab_attach "$s" "r${s#s}"
			lab_wg "$s" "$s" "10.77.0.$n/24" 51820
			lab_wg_peer hub "$s"
			lab__run wg set "$(lab_wg_ifname "$s")" peer "$(lab_wg_pub hub)" allowed-ips 10.77.0.0/24 \
				endpoint "$hubip:51820" persistent-keepalive 25
		done
		srv=$(lab_ip srv)
		for s in hub s1 s2; do
			wl__daemon_start "$s" "[signaling]
urls = http://$srv:$WL_SRV_PORT
[ice]
urls = stun:$srv:3478
[interface $(lab_wg_ifname "$s")]
link-addresses = yes"
		done
		lab_wait_for 60 tn__is direct s1 s2 || exit 1
		r2wan=$(lab_ip r2)
		for run in $(seq 1 "$BENCH_TUNNEL_RUNS"); do
			lab_wait_for 120 tn__is direct s1 s2 || exit 1
			sleep 3
			lab__run lab_exec r1 nft insert rule ip lab forward ip daddr "$r2wan" drop
			t0=$(bench_now_us)
			lab_wait_for 60 tn__pings_via_hub || exit 1
			echo "fallback $((($(bench_now_us) - t0) / 1000))" >>"$BENCH_OUT/raw/tunnels.star"
			sleep 2
			lab__run lab_exec r1 nft flush chain ip lab forward
			lab__run lab_exec r1 nft add rule ip lab forward iifname wan ct state new drop
			t0=$(bench_now_us)
			lab_wait_for 180 tn__is direct s1 s2 || exit 1
			echo "recovery $((($(bench_now_us) - t0) / 1000))" >>"$BENCH_OUT/raw/tunnels.star"
			echo "# star run $run: $(tail -n 2 "$BENCH_OUT/raw/tunnels.star" | paste -sd' ') ms"
		done
		exit 0
	) || echo "# tunnels: star broke" >&2
}

tn__pings_via_hub() {
	lab_ping s1 10.77.0.3 && tn__is via s1 s2
}

tn__label() {
	case $1 in
	direct) echo "direct pair (both NATs port-preserving)" ;;
	peer) echo "through a relaying peer b (both NATs symmetric, no TURN)" ;;
	turn) echo "TURN relay on srv (both NATs symmetric), user proxy" ;;
	esac
}

tn_report() {
	local kind raw tcp udp rtt
	: >"$BENCH_OUT/tunnels.md"
	for kind in direct peer turn; do
		raw=$BENCH_OUT/raw/tunnels.$kind
		[ -s "$raw" ] || { bench_row tunnels "$(tn__label "$kind")" - - - -; continue; }
		tcp=$(cut -d' ' -f1 "$raw" | bench_median)
		udp=$(cut -d' ' -f2 "$raw" | bench_median)
		rtt=$(cat "$raw.rtt")
		bench_result "tunnels.$kind.tcp" "$tcp"
		bench_result "tunnels.$kind.udp" "$udp"
		bench_result "tunnels.$kind.rtt" "$rtt"
		bench_row tunnels "$(tn__label "$kind")" "$tcp" "$udp" "$rtt" \
			"$(cut -d' ' -f3 "$raw" | sort -g | sed -n '1p;$p' | paste -sd-)"
		printf '%-6s TCP %s Mbit/s, UDP %s Mbit/s, RTT %s ms\n' "$kind" "$tcp" "$udp" "$rtt"
	done
	for what in fallback recovery; do
		read -r med p95 max < <(sed -n "s/^$what //p" "$BENCH_OUT/raw/tunnels.star" 2>/dev/null | bench_stats)
		bench_result "tunnels.star.$what" "$med"
		printf '%s: median %s ms, max %s ms over %s runs\n' "$what" "$med" "$max" \
			"$(grep -c "^$what " "$BENCH_OUT/raw/tunnels.star" 2>/dev/null || echo 0)"
		eval "TN_${what}=\"\$med ms (max \$max)\""
	done
}

tn_doc() {
	cat <<-EOF
		## Through the tunnels

		Measured by tests/bench/tunnels.sh on $(date -u '+%Y-%m-%d %H:%M UTC') at wice $(git -C "$top_srcdir" describe --always --dirty 2>/dev/null); load average (1 min) $TN_LOAD0 at the start and $(bench_load) at the end; iperf3 ${BENCH_IPERF_SECS} s per test, $BENCH_IPERF_REPS repetitions (median), RTT the median of 50 pings.

		a -> c, WireGuard with keys only, to c's key address (fc00::/8):

		| Path | TCP Mbit/s | UDP Mbit/s | RTT ms | Load |
		| --- | --- | --- | --- | --- |
		$(cat "$BENCH_OUT/tunnels.md")

		A star (hub on the internet, spokes behind port-preserving NATs, wice on
		all three with link addresses): s1's packets to s2's router are dropped
		on s1's router, over $BENCH_TUNNEL_RUNS runs: until s1 pings s2 through the hub
		$TN_fallback; after the drop goes, until s1 shows s2 direct again
		$TN_recovery (ICE's restart backoff and checks decide this one).
	EOF
}

tn_splice() { # DOC: DOC with the section replaced or appended
	NEW=$(tn_doc) awk '
		/^## / { skip = 0 }
		/^## Through the tunnels$/ { print ENVIRON["NEW"]; skip = 1; done = 1; next }
		!skip { print }
		END { if (!done) printf "\n%s\n", ENVIRON["NEW"] }
	' "$1"
}

tunnels_main() {
	local kind
	bench_require
	bench_init
	TN_LOAD0=$(bench_load)
	rm -f "$BENCH_OUT"/raw/tunnels.* "$BENCH_OUT/tunnels.md"
	for kind in direct peer turn; do
		echo "# tunnels: path $kind"
		tn_path "$kind"
	done
	echo "# tunnels: star"
	tn_star
	tn_report
	if [ -f "$BENCH_DOC" ]; then
		tn_splice "$BENCH_DOC" >"$BENCH_DOC.tmp" && mv "$BENCH_DOC.tmp" "$BENCH_DOC"
		echo "# wrote the section \"Through the tunnels\" of $BENCH_DOC"
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	tunnels_main "$@"
fi
