#!/bin/bash
# datapath.sh: throughput through the tunnel with iperf3 (TCP and UDP), on
# one flat network (hosts a and b and the server host srv on the lab's
# internet segment, no NAT), for every data path side by side:
#
#   plain    wireguard-go with static endpoints: the limit on this machine
#   nft      wice, host pair, nftables fast path
#   user     wice, host pair, `[proxy] mode = user` (in-process proxy)
#   relay    wice, `candidate-types = relay` on both sides: TURN via coturn,
#            through the user proxy
#   relay-bpf  the same with `[proxy] relay-path = bpf`: the ChannelData
#            framing in the kernel's tc programs (proxy/bpf-relay.c); the
#            row says so when the pair did not run on the eBPF path
#   nft-stopped  the nft path with both daemons killed (SIGKILL) once it is
#            up: the rules and endpoints stay, no daemon runs beside the
#            traffic (what the running daemon costs the nft path)
#   nebula   Nebula 1.6.1, direct (for comparison; its own crypto and TUN)
#
# Every path has its own pair of wireguard-go interfaces (and daemons
# limited to them), all set up before the first measurement; measurements
# then go round robin over the paths, BENCH_IPERF_REPS times, so that load
# from other users of the machine falls on all paths alike.  The figure is
# the median over the repetitions of the receiver's rate; ratios are to the
# median of plain WireGuard.
#
#   tests/bench/datapath.sh [PATH...]     (default: all)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
# shellcheck source=tests/bench/bench-lib.sh
. "$top_srcdir/tests/bench/bench-lib.sh"
# shellcheck source=tests/bench/nebula-lab.sh
. "$top_srcdir/tests/bench/nebula-lab.sh"

BENCH_IPERF_SECS=${BENCH_IPERF_SECS:-5}
BENCH_IPERF_REPS=${BENCH_IPERF_REPS:-3}
# UDP datagrams small enough for every tunnel's MTU (Nebula's is 1300).
DP_UDP_LEN=1200
DP_ALL="plain nft nft-stopped user relay relay-bpf nebula"
# Seconds between the last path up and the first measurement.
DP_SETTLE=${BENCH_SETTLE_SECS:-6}

# dp_index PATH: the number of PATH's subnet (10.99.N.0/24) and ports.
dp_index() {
	case $1 in
	plain) echo 1 ;;
	nft) echo 2 ;;
	user) echo 3 ;;
	relay) echo 4 ;;
	relay-bpf) echo 5 ;;
	nft-stopped) echo 6 ;;
	*) lab__die "dp_index: '$1'" ;;
	esac
}

# dp_target PATH: b's tunnel address for PATH.
dp_target() {
	if [ "$1" = nebula ]; then
		nb_ip b
	else
		echo "10.99.$(dp_index "$1").2"
	fi
}

# dp__wg_pair PATH: interfaces "aN" and "bN" on a and b, peers of each
# other (with static endpoints for plain).
dp__wg_pair() {
	local n
	n=$(dp_index "$1")
	lab_wg a "a$n" "10.99.$n.1/24" "5182$n"
	lab_wg b "b$n" "10.99.$n.2/24" "5182$n"
	if [ "$1" = plain ]; then
		lab_wg_peer "a$n" "b$n" endpoint "$(lab_ip b):5182$n"
		lab_wg_peer "b$n" "a$n" endpoint "$(lab_ip a):5182$n"
	else
		lab_wg_peer "a$n" "b$n"
		lab_wg_peer "b$n" "a$n"
	fi
}

dp__conf() {
	case $1 in
	nft | nft-stopped) printf '[ice]\ncandidate-types = host\n' ;;
	user) printf '[ice]\ncandidate-types = host\n[proxy]\nmode = user\n' ;;
	relay) wl_conf_servers udp && printf 'candidate-types = relay\n' ;;
	relay-bpf) wl_conf_servers udp && printf 'candidate-types = relay\n[proxy]\nrelay-path = bpf\n' ;;
	esac
}

# dp__daemons PATH: a wice daemon per host for PATH's interface only.
dp__daemons() {
	local n h
	n=$(dp_index "$1")
	for h in a b; do
		dp__conf "$1" >"$LAB_DIR/$h$n.conf"
		lab_bg "$h" "wice-$h$n" "$WICE" daemon -f -v -c "$LAB_DIR/$h$n.conf" -s "$LAB_DIR/$h$n.sock" \
			"$(lab_wg_ifname "$h$n")"
	done
}

dp__path_of() {
	local n
	n=$(dp_index "$1")
	lab_exec a "$WICE" show --json -s "$LAB_DIR/a$n.sock" | jq -r '.interfaces[0].peers[0] |
		"\(.selected_pair.local.type // "none")-\(.selected_pair.remote.type // "none") \(.proxy // "none")"'
}

# dp__proxy_is PATH PROXY: both daemons of PATH carry their pair on PROXY
# (`wice show`: bpf, user, nft).
dp__proxy_is() {
	local n h
	n=$(dp_index "$1")
	for h in a b; do
		lab_exec "$h" "$WICE" show --json -s "$LAB_DIR/$h$n.sock" |
			jq -e --arg p "$2" '.interfaces[0].peers[0].proxy == $p' >/dev/null || return 1
	done
}

# dp__settle PATH: what PATH needs once its tunnel is up: relay-bpf waits
# for the pair to move to the eBPF path (and records which path it got),
# nft-stopped kills its daemons so that only their rules remain.
dp__settle() {
	local n
	case $1 in
	relay-bpf)
		lab_wait_for 15 dp__proxy_is "$1" bpf ||
			echo "# $1: the pair did not move to the eBPF path: $(dp__path_of "$1")" >&2
		bench_result "datapath.$1.proxy" "$(dp__path_of "$1" | cut -d' ' -f2)"
		;;
	nft-stopped)
		n=$(dp_index "$1")
		dp__proxy_is "$1" nft || echo "# $1: not on the nft path before the stop: $(dp__path_of "$1")" >&2
		kill -KILL "$(lab_pid "wice-a$n")" "$(lab_pid "wice-b$n")"
		lab_stop "wice-a$n"
		lab_stop "wice-b$n"
		lab_wait_for 10 lab_ping a "$(dp_target "$1")" || lab_fail "$1: no ping once the daemons were killed"
		;;
	esac
}

dp_setup() {
	local p
	wl_setup_internet
	lab_attach a inet
	lab_attach b inet
	for p in "$@"; do
		case $p in
		nebula)
			nb_pki
			nb_cert a 1
			nb_cert b 2
			nb_lighthouse srv 0 0
			nb_start a a 0 "$(lab_ip srv)" 0
			nb_start b b 0 "$(lab_ip srv)" 0
			;;
		*)
			dp__wg_pair "$p"
			[ "$p" = plain ] || dp__daemons "$p"
			;;
		esac
	done
	for p in "$@"; do
		lab_wait_for 30 lab_ping a "$(dp_target "$p")" || lab_fail "$p: no ping through the tunnel"
		case $p in
		plain | nebula) echo "# $p: up" ;;
		*) echo "# $p: up, path $(dp__path_of "$p")" ;;
		esac
		dp__settle "$p"
	done
	lab_bg b iperf3-server iperf3 -s
	lab_wait_for 10 lab_listening b tcp 5201 || lab_fail "iperf3 server did not start"
	# Measure the steady state, not the seconds after connect: checks
	# still in flight on other pairs, the relay agents' allocations and,
	# before libnice's idle-timeout was cut once a pair is selected
	# (peer-ice.c), ~200 check-timer wakeups a second in every daemon
	# for 5 s, which took the first plain run to ~88 % of its median.
	sleep "$DP_SETTLE"
}

# dp_iperf PATH tcp|udp: one measurement; prints "MBIT LOSS%".
dp_iperf() {
	local target args=() json
	target=$(dp_target "$1")
	[ "$2" = tcp ] || args=(-u -b 0 -l "$DP_UDP_LEN")
	json=$(lab_exec a iperf3 -c "$target" -t "$BENCH_IPERF_SECS" -J "${args[@]}" 2>/dev/null) || true
	jq -r '.end.sum_received | "\(.bits_per_second / 1e6 | floor) \(.lost_percent // 0 | . * 10 | floor / 10)"' \
		<<<"$json" 2>/dev/null || echo "0 -"
}

dp_measure() {
	local rep p proto raw out load
	for rep in $(seq 1 "$BENCH_IPERF_REPS"); do
		for p in "$@"; do
			for proto in tcp udp; do
				load=$(bench_load)
				out=$(dp_iperf "$p" "$proto")
				echo "$out $load" >>"$BENCH_OUT/raw/datapath.$p.$proto"
				echo "# rep $rep $p $proto: $out (Mbit/s, loss %), load $load"
			done
		done
	done
}

# dp__check_after PATH...: a relay-bpf pair that left the eBPF path during
# the runs is recorded as such (its figures are then not the eBPF path's).
dp__check_after() {
	[[ " $* " == *" relay-bpf "* ]] || return 0
	[ "$(awk -F'\t' '$1 == "datapath.relay-bpf.proxy" { v = $2 } END { print v }' "$BENCH_OUT/results.tsv")" = bpf ] ||
		return 0 # never was: the row says so already
	dp__proxy_is relay-bpf bpf && return 0
	echo "# relay-bpf: left the eBPF path during the runs: $(dp__path_of relay-bpf)" >&2
	bench_result datapath.relay-bpf.proxy "$(dp__path_of relay-bpf | cut -d' ' -f2) (after the runs)"
}

dp__label() {
	case $1 in
	plain) echo "WireGuard, static endpoints (plain)" ;;
	nft) echo "wice, nft proxy (host pair)" ;;
	user) echo "wice, user proxy (host pair)" ;;
	relay) echo "wice, TURN relay (coturn) + user proxy" ;;
	relay-bpf)
		local got
		got=$(awk -F'\t' '$1 == "datapath.relay-bpf.proxy" { v = $2 } END { print v }' "$BENCH_OUT/results.tsv")
		if [ "$got" = bpf ]; then
			echo "wice, TURN relay (coturn) + eBPF"
		else
			echo "wice, TURN relay (coturn) + eBPF asked, **ran on ${got:-?}**"
		fi
		;;
	nft-stopped) echo "wice, nft proxy (host pair), daemons stopped" ;;
	nebula) echo "Nebula 1.6.1, direct" ;;
	esac
}

dp_report() {
	local p proto med lo hi ratio base loss loads cells
	for p in "$@"; do
		cells=("$(dp__label "$p")")
		for proto in tcp udp; do
			raw=$BENCH_OUT/raw/datapath.$p.$proto
			med=$(cut -d' ' -f1 "$raw" | bench_median)
			lo=$(cut -d' ' -f1 "$raw" | sort -n | head -n 1)
			hi=$(cut -d' ' -f1 "$raw" | sort -n | tail -n 1)
			base=$(cut -d' ' -f1 "$BENCH_OUT/raw/datapath.plain.$proto" 2>/dev/null | bench_median)
			ratio=$(awk -v m="$med" -v b="$base" 'BEGIN { if (b > 0) printf "%.0f", 100 * m / b; else print "-" }')
			loss=$(cut -d' ' -f2 "$raw" | bench_median)
			bench_result "datapath.$p.$proto.mbit" "$med"
			bench_result "datapath.$p.$proto.ratio" "$ratio"
			if [ "$proto" = tcp ]; then
				cells+=("$med ($lo-$hi)" "$ratio %")
			else
				cells+=("$med ($lo-$hi), loss $loss %" "$ratio %")
			fi
			printf '%-8s %s: median %s Mbit/s (%s-%s), %s %% of plain\n' "$p" "$proto" "$med" "$lo" "$hi" "$ratio"
		done
		loads=$(cut -d' ' -f3 "$BENCH_OUT/raw/datapath.$p.tcp" "$BENCH_OUT/raw/datapath.$p.udp" | sort -g |
			sed -n '1p;$p' | paste -sd-)
		cells+=("$loads")
		bench_row datapath "${cells[@]}"
	done
}

datapath_main() {
	bench_require
	bench_init
	# shellcheck disable=SC2086 # one path per word
	[ $# -gt 0 ] || set -- $DP_ALL
	echo "# data path: iperf3, ${BENCH_IPERF_SECS}s per test, $BENCH_IPERF_REPS repetitions; figures in $BENCH_OUT"
	rm -f "$BENCH_OUT"/raw/datapath.*
	(
		set -e
		lab_init
		set +e
		dp_setup "$@"
		dp_measure "$@"
		dp__check_after "$@"
		# the processes' logs, for the report
		cp "$LAB_DIR"/wice-*.log "$BENCH_OUT/raw/" 2>/dev/null
		exit 0
	) || echo "# data path: the benchmark broke (status $?)" >&2
	dp_report "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	datapath_main "$@"
fi
