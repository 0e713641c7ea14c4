# shellcheck shell=bash
# lab.sh: a network namespace lab for wice's integration tests (bash).
#
# Tests source this file and build small networks out of namespaces: an
# "internet" with public addresses, NAT routers of several kinds with a LAN
# behind each, plain LANs, hosts on them, and background processes inside
# (wireguard-go, coturn, signal server, wice). Whatever way the test ends
# (success, failed assertion, set -e, SIGTERM), the EXIT trap installed by
# lab_init prints the state on failure and tears everything down.
#
#   lab_skip_unless_root; lab_require socat
#   lab_init
#   lab_internet; lab_attach srv inet
#   lab_nat r1 easy; lab_attach h1 r1
#   lab_exec h1 ping -c1 "$(lab_ip srv)"
#
# Addresses (every segment is a /24 and a /64; host N is .N and ::N):
#   internet   198.18.0.0/24 and 2001:db8::/64. 198.18.0.0/15 is RFC 2544's
#              benchmarking range, routed nowhere and not private, so it
#              looks public to ICE; 2001:db8::/32 is RFC 3849's documentation
#              range. The internet's own namespace "inet" holds the bridge
#              and 198.18.0.1, the default gateway of public hosts (it does
#              not forward: the public /24 is one link).
#   LAN k      10.0.k.0/24 and fd00:0:0:k::/64, k = 1, 2, ... unless given.
#              Behind a router, the router is .1 and the hosts' gateway.
#   hosts      numbered from 10 on each segment, in order of attachment.
# IPv6 is only on-link: routers neither forward nor translate it.
#
# Names: namespaces are "$LAB_PREFIX-NAME". Interfaces inside a namespace
# have short fixed names (eth0, wan, lan, br0, pN) because namespaces keep
# them apart; veths are created directly inside their namespaces, never in
# the caller's. WireGuard interfaces are the exception: wireguard-go keeps
# its UAPI sockets in /var/run/wireguard, one directory for all namespaces,
# so they are named "$LAB_PREFIX$NAME" (at most 15 characters).
#
# The lab's state lives in files under $LAB_DIR, not in shell variables, so
# that functions called in command substitutions or subshells still record
# what they made. Setup functions exit the test (status 1, message on
# stderr) when something fails, even when called in an `if` or `||` context
# where set -e does not apply. Libraries built on this one (wice-lab.sh)
# may keep their own state with lab__set/lab__get. A test must not replace
# the EXIT trap after lab_init; processes it starts with lab_bg are stopped.

LAB_WG_RUN=/var/run/wireguard

# --- small internals ------------------------------------------------------

lab__die() {
	echo "lab: $*" >&2
	exit 1
}

# lab__run CMD...: run CMD; exit the test naming the command if it fails.
lab__run() {
	"$@" || lab__die "failed: $*"
}

# lab__set KEY VALUE / lab__get KEY: the lab's state, one file per key.
lab__set() {
	printf '%s\n' "$2" >"$LAB_DIR/state/$1"
}

lab__get() {
	[ -f "$LAB_DIR/state/$1" ] || return 1
	cat "$LAB_DIR/state/$1"
}

# lab__next KEY FIRST: print a counter's value (FIRST the first time) and
# advance it.
lab__next() {
	local n
	n=$(lab__get "$1") || n=$2
	lab__set "$1" "$((n + 1))"
	echo "$n"
}

# lab__now_us: microseconds since the epoch (no fork: EPOCHREALTIME).
lab__now_us() {
	echo "${EPOCHREALTIME/[.,]/}"
}

# --- skipping -------------------------------------------------------------

# lab_skip REASON: end the test as skipped (automake's status 77).
lab_skip() {
	echo "SKIP: $*"
	exit 77
}

# lab_skip_unless_root: skip unless root and able to make namespaces.
lab_skip_unless_root() {
	[ "$(id -u)" -eq 0 ] || lab_skip "needs root"
	unshare --net "$BASH" -c : 2>/dev/null || lab_skip "cannot create network namespaces"
}

# lab_require TOOL...: skip unless every TOOL is in PATH, naming the missing.
lab_require() {
	local tool missing=
	for tool in "$@"; do
		command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
	done
	[ -z "$missing" ] || lab_skip "missing tools:$missing"
}

# --- life cycle -----------------------------------------------------------

# lab__prefix_free PREFIX: nothing on the machine uses PREFIX yet.
lab__prefix_free() {
	! compgen -G "/run/netns/$1-*" >/dev/null &&
		! compgen -G "$LAB_WG_RUN/$1*" >/dev/null
}

# lab_init: start a lab. Picks a prefix "wlXXXX" (4 hex digits from the pid
# and $RANDOM) that no namespace, UAPI socket or lab directory uses yet,
# reserving it by creating the lab directory (mkdir is atomic, so parallel
# tests cannot both get it), and installs the traps that tear the lab down.
# A subshell may start its own lab; it then tears down only its own.
lab_init() {
	local try
	if [ -n "${LAB_DIR:-}" ] && [ "${LAB_OWNER:-}" = "$BASHPID" ]; then
		lab__die "lab_init: this shell already runs lab $LAB_PREFIX"
	fi
	LAB_PREFIX=
	for try in 1 2 3 4 5 6 7 8 9 10; do
		printf -v LAB_PREFIX 'wl%04x' $(((RANDOM ^ (BASHPID << 4) ^ try) & 0xffff))
		LAB_DIR=${TMPDIR:-/tmp}/wice-lab-$LAB_PREFIX
		if lab__prefix_free "$LAB_PREFIX" && mkdir -m 700 "$LAB_DIR" 2>/dev/null; then
			break
		fi
		LAB_PREFIX=
	done
	[ -n "$LAB_PREFIX" ] || lab__die "lab_init: found no free prefix"
	mkdir "$LAB_DIR/state"
	: >"$LAB_DIR/pids"
	: >"$LAB_DIR/namespaces"
	: >"$LAB_DIR/wg-interfaces"
	: >"$LAB_DIR/etc-netns"
	LAB_START_US=$(lab__now_us)
	LAB_OWNER=$BASHPID
	export LAB_PREFIX LAB_DIR
	trap lab__on_exit EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

lab__on_exit() {
	local rc=$?
	set +e
	trap - EXIT
	trap '' HUP INT TERM # finish the teardown
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "${LAB_DUMP:-1}" != 0 ]; then
		lab_dump_on_failure
	fi
	lab_teardown
	exit "$rc"
}

# lab__alive PID...: true if any PID is still running (zombies count as
# gone: they are our children waiting to be reaped).
lab__alive() {
	local pid stat
	for pid in "$@"; do
		stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		[ "${stat%% *}" = Z ] || return 0
	done
	return 1
}

lab__gone() {
	! lab__alive "$@"
}

# lab__pids: every process of the lab: those lab_bg started and anything
# else still running inside a lab namespace.
lab__pids() {
	local ns
	cut -d' ' -f1 "$LAB_DIR/pids"
	while read -r ns; do
		ip netns pids "$ns" 2>/dev/null
	done <"$LAB_DIR/namespaces"
}

# lab_teardown: stop the lab's processes (TERM, then KILL after 3 s),
# delete its namespaces (and with them their links, bridges and nftables
# state), remove UAPI sockets of its WireGuard interfaces and the lab
# directory. Runs from the EXIT trap; safe to call twice.
lab_teardown() {
	local - pids pid ns ifname
	set +e
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return 0
	pids=$(lab__pids | sort -un)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one pid per word
		kill -TERM $pids 2>/dev/null
		# shellcheck disable=SC2086
		if ! lab_wait_for 3 lab__gone $pids 2>/dev/null; then
			for pid in $pids; do
				lab__alive "$pid" || continue
				echo "lab: killing $pid, alive 3 s after SIGTERM:" \
					"$(tr '\0' ' ' <"/proc/$pid/cmdline")" >&2
				kill -KILL "$pid" 2>/dev/null
			done
		fi
		for pid in $pids; do
			wait "$pid" 2>/dev/null
		done
	fi
	while read -r ns; do
		ip netns delete "$ns" 2>/dev/null
	done <"$LAB_DIR/namespaces"
	while read -r ifname; do
		rm -f "$LAB_WG_RUN/$ifname.sock"
	done <"$LAB_DIR/wg-interfaces"
	while read -r ns; do
		rm -rf "/etc/netns/$ns"
	done <"$LAB_DIR/etc-netns"
	if [ -f "$LAB_DIR/sysctl-restore" ]; then
		while read -r key value; do
			printf '%s\n' "$value" >"/proc/sys/${key//.//}"
		done <"$LAB_DIR/sysctl-restore"
	fi
	rm -rf "$LAB_DIR"
	LAB_DIR=
}

# lab_dump_on_failure: print what helps to understand a failed test: per
# namespace the addresses, routes and nftables ruleset, the WireGuard
# interfaces, and the end of every log. Called by the EXIT trap when the
# test fails (set LAB_DUMP=0 to silence it); tests may call it too.
lab_dump_on_failure() {
	local - ns ifname log
	set +e
	[ -n "${LAB_DIR:-}" ] && [ -d "$LAB_DIR" ] || return 0
	{
		echo "=== lab $LAB_PREFIX state at failure"
		while read -r ns; do
			[ -e "/run/netns/$ns" ] || continue
			echo "--- $ns"
			ip -n "$ns" -br addr
			ip -n "$ns" route
			ip netns exec "$ns" nft list ruleset
		done <"$LAB_DIR/namespaces"
		while read -r ifname; do
			echo "--- wg show $ifname"
			wg show "$ifname"
		done <"$LAB_DIR/wg-interfaces"
		for log in "$LAB_DIR"/*.log; do
			[ -e "$log" ] || continue
			echo "--- ${log##*/} (last 40 lines)"
			tail -n 40 "$log"
		done
		echo "=== end of lab $LAB_PREFIX state"
	} >&2 2>&1
}

# lab_step MESSAGE: print a progress line with the seconds since lab_init.
lab_step() {
	local us=$(($(lab__now_us) - LAB_START_US))
	printf '# [%d.%02ds] %s\n' $((us / 1000000)) $((us % 1000000 / 10000)) "$*"
}

# lab_fail MESSAGE: fail the test with MESSAGE (the EXIT trap dumps state).
lab_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# --- waiting and processes ------------------------------------------------

# lab_wait_for SECONDS CMD...: run CMD every 50 ms until it succeeds; return
# 1 (with a message on stderr) if SECONDS (may be fractional) pass first.
lab_wait_for() {
	local secs=$1 whole frac deadline
	shift
	whole=${secs%%.*}
	frac=
	[[ $secs == *.* ]] && frac=${secs#*.}
	frac=${frac}000000
	deadline=$((${EPOCHREALTIME/[.,]/} + ${whole:-0} * 1000000 + 10#${frac:0:6}))
	until "$@"; do
		if [ "${EPOCHREALTIME/[.,]/}" -ge "$deadline" ]; then
			echo "lab: timed out after ${secs}s waiting for: $*" >&2
			return 1
		fi
		sleep 0.05
	done
}

# lab_netns NAME: print the real namespace name of lab namespace NAME.
lab_netns() {
	echo "$LAB_PREFIX-$1"
}

# lab_exec NS CMD...: run CMD in lab namespace NS.
lab_exec() {
	local ns=$1
	shift
	ip netns exec "$LAB_PREFIX-$ns" "$@"
}

# lab_bg NS NAME CMD...: start CMD in the background in namespace NS; its
# output goes to "$LAB_DIR/NAME.log" and teardown stops it. NAME must be
# unique in the lab. CMD should not daemonize (pass -f or similar), so that
# the recorded pid is the process itself.
lab_bg() {
	local ns=$1 name=$2
	shift 2
	[ ! -e "$LAB_DIR/state/pid.$name" ] || lab__die "lab_bg: '$name' is already used"
	ip netns exec "$LAB_PREFIX-$ns" "$@" >"$LAB_DIR/$name.log" 2>&1 </dev/null &
	echo "$! $name" >>"$LAB_DIR/pids"
	lab__set "pid.$name" "$!"
}

# lab_pid NAME / lab_log NAME: pid and log file of a lab_bg process.
lab_pid() {
	lab__get "pid.$1"
}

lab_log() {
	echo "$LAB_DIR/$1.log"
}

# lab_stop NAME: stop a lab_bg process (TERM, KILL after 5 s) and reap it.
lab_stop() {
	local pid
	pid=$(lab_pid "$1") || lab__die "lab_stop: no process '$1'"
	kill -TERM "$pid" 2>/dev/null || true
	lab_wait_for 5 lab__gone "$pid" 2>/dev/null ||
		kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# --- namespaces, segments, hosts ------------------------------------------

# lab_sysctl NS KEY VALUE: set a sysctl (net.* keys are per namespace).
lab_sysctl() {
	printf '%s\n' "$3" | lab_exec "$1" tee "/proc/sys/${2//.//}" >/dev/null ||
		lab__die "cannot set $2=$3 in $1"
}

# lab_neigh_room ENTRIES: room for ENTRIES neighbours (ARP and NDP) in
# all.  The kernel's neighbour tables are shared by every namespace, and
# their default hard limit (gc_thresh3, 1024) is less than a LAN of 25
# hosts needs when each of them is a namespace here (25 x 24 IPv6
# neighbours, global and link-local): past it the kernel drops packets
# ("neighbour table overflow"), which no real LAN of 25 hosts sees.  Put
# back at teardown.
lab_neigh_room() {
	local fam key old want
	for fam in ipv4 ipv6; do
		for key in gc_thresh2:$(($1 / 2)) gc_thresh3:$1; do
			want=${key#*:}
			key=net.$fam.neigh.default.${key%%:*}
			old=$(cat "/proc/sys/${key//.//}")
			[ "$old" -lt "$want" ] || continue
			grep -q "^$key " "$LAB_DIR/sysctl-restore" 2>/dev/null || echo "$key $old" >>"$LAB_DIR/sysctl-restore"
			printf '%s\n' "$want" >"/proc/sys/${key//.//}" || lab__die "cannot set $key=$want"
		done
	done
}

# lab_ns NAME: create namespace NAME with lo up and no IPv6 duplicate
# address detection, so that addresses work as soon as they are added.
# With LAB_DAD=1 addresses go through DAD the way they do on a real host
# (Linux's default): global IPv6 addresses are tentative for ~1-2 s, link-
# local ones too, and a daemon sees its addresses change after it started.
lab_ns() {
	local ns=$LAB_PREFIX-$1
	[ ! -e "/run/netns/$ns" ] || lab__die "lab_ns: '$1' exists"
	echo "$ns" >>"$LAB_DIR/namespaces"
	lab__run ip netns add "$ns"
	lab__run ip -n "$ns" link set lo up
	[ "${LAB_DAD:-0}" = 1 ] && return
	lab_sysctl "$1" net.ipv6.conf.all.accept_dad 0
	lab_sysctl "$1" net.ipv6.conf.default.accept_dad 0
}

# lab_etc NS PATH: print where to put a file that replaces /etc/PATH for
# commands run in NS (`ip netns exec` bind-mounts each entry of
# /etc/netns/NAME over the one of /etc: a directory replaces the whole
# directory, so /etc/netns/NAME/ssl stands for all of /etc/ssl). The
# directories are made; teardown removes /etc/netns/NAME.
lab_etc() {
	local ns=$LAB_PREFIX-$1 path=$2
	grep -qx "$ns" "$LAB_DIR/etc-netns" || echo "$ns" >>"$LAB_DIR/etc-netns"
	lab__run mkdir -p "/etc/netns/$ns/$(dirname "$path")"
	echo "/etc/netns/$ns/$path"
}

# lab_hosts NS LINE...: NS's own /etc/hosts: localhost and the LINEs
# ("ADDRESS NAME..."), for tests of host names without DNS.
lab_hosts() {
	local f ns=$1
	shift
	f=$(lab_etc "$ns" hosts)
	printf '%s\n' "127.0.0.1 localhost" "::1 localhost" "$@" >"$f" || lab__die "cannot write $f"
}

# lab__nodad: "nodad" for `ip addr add` of an IPv6 address, unless LAB_DAD=1.
lab__nodad() {
	[ "${LAB_DAD:-0}" = 1 ] || echo nodad
}

# lab__segment NS BRIDGE NET4 NET6 [GW-HOST-NUMBER]: make BRIDGE in NS a
# segment that hosts attach to under the name NS. With a host number, the
# bridge itself gets that address and is the segment's default gateway.
lab__segment() {
	local ns=$1 br=$2 net4=$3 net6=$4 gw=${5:-}
	lab__run ip -n "$LAB_PREFIX-$ns" link add "$br" type bridge
	lab__run ip -n "$LAB_PREFIX-$ns" link set "$br" up
	lab__set "seg.$ns.bridge" "$br"
	lab__set "seg.$ns.net4" "$net4"
	lab__set "seg.$ns.net6" "$net6"
	if [ -n "$gw" ]; then
		lab__run ip -n "$LAB_PREFIX-$ns" addr add "$net4.$gw/24" dev "$br"
		# shellcheck disable=SC2046 # no word or one
		lab__run ip -n "$LAB_PREFIX-$ns" addr add "$net6$gw/64" dev "$br" $(lab__nodad)
		lab__set "seg.$ns.gw" "$net4.$gw"
		lab__set "ip4.$ns.$ns" "$net4.$gw"
		lab__set "ip6.$ns.$ns" "$net6$gw"
		lab__get "ip4.$ns" >/dev/null || lab__set "ip4.$ns" "$net4.$gw"
		lab__get "ip6.$ns" >/dev/null || lab__set "ip6.$ns" "$net6$gw"
	fi
}

# lab_internet: create the internet, namespace "inet" with a bridge that
# public hosts and routers' WAN sides attach to (lab_attach HOST inet).
lab_internet() {
	lab_ns inet
	lab__segment inet br0 198.18.0 2001:db8:: 1
}

# lab__lan_index [K]: K, or the next unused LAN number.
lab__lan_index() {
	if [ -n "${1:-}" ]; then
		echo "$1"
	else
		lab__next lan-index 1
	fi
}

# lab_lan NAME [K]: create a plain LAN (a switch, no router, no gateway):
# namespace NAME with a bridge, 10.0.K.0/24. Hosts join with lab_attach.
lab_lan() {
	local k
	k=$(lab__lan_index "${2:-}")
	lab_ns "$1"
	lab__segment "$1" br0 "10.0.$k" "fd00:0:0:$k::"
}

# lab_attach HOST SEGMENT [IFNAME]: connect HOST (created if new) to
# SEGMENT (inet, a lab_lan, or a lab_nat router's LAN) with a veth named
# IFNAME (default eth0, eth1, ...), give it the segment's next addresses and,
# if it has none yet, a default route via the segment's gateway.
lab_attach() {
	local host=$1 seg=$2 ifname=${3:-} br net4 net6 gw n hns
	br=$(lab__get "seg.$seg.bridge") || lab__die "lab_attach: no segment '$seg'"
	net4=$(lab__get "seg.$seg.net4")
	net6=$(lab__get "seg.$seg.net6")
	[ -e "/run/netns/$LAB_PREFIX-$host" ] || lab_ns "$host"
	hns=$LAB_PREFIX-$host
	[ -n "$ifname" ] || ifname=eth$(lab__next "ifs.$host" 0)
	n=$(lab__next "seg.$seg.next" 10)
	[ "$n" -le 254 ] || lab__die "lab_attach: segment '$seg' is full"
	lab__run ip -n "$LAB_PREFIX-$seg" link add "p$n" type veth peer name "$ifname" netns "$hns"
	lab__run ip -n "$LAB_PREFIX-$seg" link set "p$n" master "$br" up
	lab__run ip -n "$hns" addr add "$net4.$n/24" dev "$ifname"
	# shellcheck disable=SC2046 # no word or one
	lab__run ip -n "$hns" addr add "$net6$n/64" dev "$ifname" $(lab__nodad)
	lab__run ip -n "$hns" link set "$ifname" up
	if gw=$(lab__get "seg.$seg.gw") && [ -z "$(ip -n "$hns" -4 route show default)" ]; then
		lab__run ip -n "$hns" route add default via "$gw"
	fi
	lab__get "ip4.$host" >/dev/null || lab__set "ip4.$host" "$net4.$n"
	lab__get "ip6.$host" >/dev/null || lab__set "ip6.$host" "$net6$n"
	lab__set "ip4.$host.$seg" "$net4.$n"
	lab__set "ip6.$host.$seg" "$net6$n"
}

# lab_ip HOST [SEGMENT] / lab_ip6 HOST [SEGMENT]: HOST's address on
# SEGMENT, by default on the first segment it joined (for a router: its
# public WAN address).
lab_ip() {
	lab__get "ip4.$1${2:+.$2}" || lab__die "lab_ip: '$1' has no address${2:+ on $2}"
}

lab_ip6() {
	lab__get "ip6.$1${2:+.$2}" || lab__die "lab_ip6: '$1' has no address${2:+ on $2}"
}

# lab__addr NS IFNAME ADDR/PLEN: add an IPv4 or IPv6 address (no DAD).
lab__addr() {
	local nodad=
	[[ $3 != *:* ]] || nodad=$(lab__nodad)
	# shellcheck disable=SC2086 # no word or one
	lab__run ip -n "$LAB_PREFIX-$1" addr add "$3" dev "$2" $nodad
}

# lab_link NS1 IF1 ADDR1 NS2 IF2 ADDR2: a point-to-point veth between two
# namespaces (created if new), addresses in CIDR form ("" for none).
lab_link() {
	local ns
	for ns in "$1" "$4"; do
		[ -e "/run/netns/$LAB_PREFIX-$ns" ] || lab_ns "$ns"
	done
	lab__run ip -n "$LAB_PREFIX-$1" link add "$2" type veth peer name "$5" netns "$LAB_PREFIX-$4"
	[ -z "$3" ] || lab__addr "$1" "$2" "$3"
	[ -z "$6" ] || lab__addr "$4" "$5" "$6"
	lab__run ip -n "$LAB_PREFIX-$1" link set "$2" up
	lab__run ip -n "$LAB_PREFIX-$4" link set "$5" up
}

# lab_nat ROUTER TYPE[,OPTION...] [K]: create a NAT router: "wan" on the
# internet (call lab_internet first), and a LAN bridge "lan" 10.0.K.1/24
# inside the router that hosts join with lab_attach HOST ROUTER. K defaults
# to the next LAN number of a counter (which explicit Ks do not advance);
# give two routers the same K for overlapping private ranges.
# TYPE is what the router's nftables table "lab" does to IPv4:
#   easy       masquerade, which keeps the source port when it can
#              (endpoint-independent mapping, address and port dependent
#              filtering), plus the input firewall of home routers: new
#              connections from "wan" to the router itself are dropped
#              (counter "wan_drop", see lab_nat_drops) and never get a
#              conntrack entry that would steal the mapping of a later
#              outbound flow (DESIGN.md, "Facts about this machine")
#   hard       the same masquerade without any firewall: an early inbound
#              packet makes the router pick a new port for the outbound flow
#              (and the router answers it with ICMP port unreachable)
#   symmetric  masquerade random,fully-random (endpoint-dependent mapping,
#              a new random port per destination) plus the input firewall
# easy and symmetric also drop new connections forwarded from "wan".
# OPTIONs, comma-separated after TYPE:
#   noicmp     the router sends no ICMP destination unreachable to "wan"
#              (without a firewall, Linux answers unsolicited UDP with port
#              unreachable; many home routers stay silent instead)
#   loss10     10 % of the packets forwarded either way are dropped
#              (numgen: this kernel has no netem)
#   public     the LAN is 198.19.K.0/24, a public-looking range (RFC 2544,
#              like the internet's), instead of the private 10.0.K.0/24
lab_nat() {
	local r=$1 type=${2%%,*} opts=, k masq firewall net4=10.0 opt
	[[ $2 != *,* ]] || opts=,${2#*,},
	case $type in
	easy) masq=masquerade firewall=1 ;;
	hard) masq=masquerade firewall= ;;
	symmetric) masq='masquerade random,fully-random' firewall=1 ;;
	*) lab__die "lab_nat: unknown type '$type' (easy, hard, symmetric)" ;;
	esac
	for opt in ${opts//,/ }; do
		case $opt in
		noicmp | loss10) ;;
		public) net4=198.19 ;;
		*) lab__die "lab_nat: unknown option '$opt' (noicmp, loss10, public)" ;;
		esac
	done
	k=$(lab__lan_index "${3:-}")
	lab_ns "$r"
	lab_sysctl "$r" net.ipv4.ip_forward 1
	lab_attach "$r" inet wan
	lab__segment "$r" lan "$net4.$k" "fd00:0:0:$k::" 1
	lab__set "nat.$r" "$2"
	lab__run lab_exec "$r" nft -f - <<-EOF
		table ip lab {
			counter wan_drop {}
			counter loss_drop {}
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan" $masq
			}
			chain input {
				type filter hook input priority filter; policy accept;
				${firewall:+iifname "wan" ct state new counter name "wan_drop" drop}
			}
			chain forward {
				type filter hook forward priority filter; policy accept;
				${firewall:+iifname "wan" ct state new drop}
				$([[ $opts != *,loss10,* ]] || echo 'numgen random mod 10 0 counter name "loss_drop" drop')
			}
			chain output {
				type filter hook output priority filter; policy accept;
				$([[ $opts != *,noicmp,* ]] || echo 'oifname "wan" icmp type destination-unreachable drop')
			}
		}
	EOF
}

# lab_nat_forward ROUTER PORTS HOST [TO-PORT]: a static port forward on a
# lab_nat router, as a user sets one up: UDP to the router's WAN address
# on PORTS (a port or a range "A-B") goes to HOST's LAN address, at
# TO-PORT (default: the same port), and the router's firewall lets it in.
lab_nat_forward() {
	local r=$1 ports=$2 to
	to=$(lab_ip "$3")${4:+:$4}
	lab__run lab_exec "$r" nft -f - <<-EOF
		table ip lab {
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				iifname "wan" udp dport $ports dnat to $to
			}
		}
		insert rule ip lab forward ct status dnat accept
	EOF
}

# lab_nat_drops ROUTER: print how many packets the input firewall dropped.
lab_nat_drops() {
	lab_exec "$1" nft list counter ip lab wan_drop |
		sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# lab_ping NS ADDR: one ping from NS to ADDR (IPv4 or IPv6), 1 s timeout.
lab_ping() {
	lab_exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1
}

# --- UDP helpers (need socat) ---------------------------------------------

# lab_listening NS udp|tcp PORT: something in NS listens on PORT.
lab_listening() {
	local flag=-u
	[ "$2" = udp ] || flag=-t
	[ -n "$(lab_exec "$1" ss -Hln "$flag" "sport = :$3")" ]
}

# lab_udp_echo NS PORT: a reflector on UDP PORT in NS that answers every
# (non-empty) datagram with "ADDR:PORT", the sender's address as seen there
# (a STUN server in miniature). Returns once it listens.
lab_udp_echo() {
	# The shell reads the datagram before it answers: if it exited first,
	# socat's write of the datagram would fail (EPIPE) and drop the answer.
	# shellcheck disable=SC2016 # expanded by socat's shell
	lab_bg "$1" "udp-echo-$1-$2" socat "UDP4-RECVFROM:$2,fork" \
		SYSTEM:'head -c 1 >/dev/null; echo "$SOCAT_PEERADDR:$SOCAT_PEERPORT"'
	lab_wait_for 5 lab_listening "$1" udp "$2" || lab__die "lab_udp_echo: no listener"
}

# lab_udp_probe NS SPORT DST DPORT: send a datagram from UDP port SPORT in NS
# to a lab_udp_echo at DST:DPORT and print the reply, the mapped address
# "ADDR:PORT". Fails if no reply comes within 2 s.
lab_udp_probe() {
	local out
	# socat exits as soon as the child has read one reply line (-t 0).
	out=$(lab_exec "$1" timeout 5 socat -t 0 -T 2 \
		"UDP4:$3:$4,sourceport=$2" SYSTEM:'echo probe; head -n 1 >&3' 3>&1) || true
	[ -n "$out" ] || return 1
	echo "$out"
}

# lab_udp_send NS SPORT DST DPORT [TEXT]: send one datagram (TEXT, default
# "hello") from UDP port SPORT in NS to DST:DPORT.
lab_udp_send() {
	printf '%s\n' "${5:-hello}" |
		lab_exec "$1" socat -u - "UDP4-SENDTO:$3:$4,sourceport=$2"
}

# lab_udp_sink NS PORT NAME: log every datagram to UDP PORT in NS to the
# log of NAME (lab_log NAME). Returns once it listens.
lab_udp_sink() {
	lab_bg "$1" "$3" socat -u "UDP4-RECV:$2" STDOUT
	lab_wait_for 5 lab_listening "$1" udp "$2" || lab__die "lab_udp_sink: no listener"
}

# --- WireGuard (wireguard-go) ---------------------------------------------

# lab_wg NS NAME [ADDR/PLEN [PORT]]: start wireguard-go in namespace NS for
# interface "$LAB_PREFIX$NAME" (see lab_wg_ifname) with a fresh key pair,
# listen port PORT (default: random) and tunnel address ADDR/PLEN; the link
# is up once it returns. Waits until the UAPI socket listens.
lab_wg() {
	local ns=$1 name=$2 addr=${3:-} port=${4:-} ifname key
	ifname=$LAB_PREFIX$name
	[ "${#ifname}" -le 15 ] || lab__die "lab_wg: '$ifname' is longer than 15 characters"
	key=$LAB_DIR/wg.$name.key
	echo "$ifname" >>"$LAB_DIR/wg-interfaces"
	lab__set "wg.$name.ns" "$ns"
	lab__wg_start "$ns" "$name" "$ifname"
	(umask 077 && wg genkey >"$key") || lab__die "wg genkey failed"
	wg pubkey <"$key" >"$LAB_DIR/wg.$name.pub" || lab__die "wg pubkey failed"
	lab__run wg set "$ifname" private-key "$key" ${port:+listen-port "$port"}
	if [ -n "$addr" ]; then
		lab__addr "$ns" "$ifname" "$addr"
		lab__set "wg.$name.addr" "${addr%/*}"
	fi
	lab__run ip -n "$LAB_PREFIX-$ns" link set "$ifname" up
}

# lab__wg_start NS NAME IFNAME: run wireguard-go until its UAPI socket
# listens, up to three times. wireguard-go binds the socket before it
# listens, and wg(8) deletes a socket whose connect() is refused: a `wg
# show` in that window (from any test: the directory is shared) makes it
# exit with "Failed to listen on uapi socket". So readiness is read with
# ss, which never connects, and a start that lost this race is retried.
lab__wg_start() {
	local ns=$1 name=$2 ifname=$3 try pid log
	log=$(lab_log "wg-$name")
	for try in 1 2 3; do
		rm -f "$LAB_DIR/state/pid.wg-$name"
		lab_bg "$ns" "wg-$name" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 \
			wireguard-go -f "$ifname"
		pid=$(lab_pid "wg-$name")
		lab_wait_for 5 lab__wg_settled "$ns" "$ifname" "$pid" 2>/dev/null
		if lab__alive "$pid"; then
			lab__uapi_listening "$ns" "$ifname" && return 0
			lab__die "wireguard-go for $ifname did not listen in 5 s: $(cat "$log")"
		fi
		wait "$pid" 2>/dev/null
		echo "lab: wireguard-go for $ifname exited (try $try): $(tail -n 1 "$log")" >&2
		mv "$log" "$log.$try"
	done
	lab__die "wireguard-go for $ifname did not start"
}

# lab__uapi_listening NS IFNAME: IFNAME's UAPI socket listens in NS.
lab__uapi_listening() {
	lab_exec "$1" ss -Hxl | grep -qF "/$2.sock "
}

lab__wg_settled() {
	lab__gone "$3" || lab__uapi_listening "$1" "$2"
}

# lab_wg_ifname NAME / lab_wg_pub NAME: interface name and public key.
lab_wg_ifname() {
	echo "$LAB_PREFIX$1"
}

lab_wg_pub() {
	cat "$LAB_DIR/wg.$1.pub"
}

# lab_wg_peer NAME PEER [WG-SET-PEER-OPTION...]: add lab_wg PEER as a peer of
# NAME, with allowed-ips PEER's tunnel address /32 (if it has one) and
# further options passed to `wg set`, e.g. endpoint 10.0.1.11:51820.
lab_wg_peer() {
	local name=$1 peer=$2 pub peer_addr
	shift 2
	pub=$(lab_wg_pub "$peer") || lab__die "lab_wg_peer: no lab_wg '$peer'"
	if peer_addr=$(lab__get "wg.$peer.addr"); then
		set -- allowed-ips "$peer_addr/32" "$@"
	fi
	lab__run wg set "$LAB_PREFIX$name" peer "$pub" "$@"
}
