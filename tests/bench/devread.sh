#!/bin/bash
# devread.sh: what device reads cost at many peers (issue 14, warm add).
# WireGuard announces no peer changes, so the daemon re-reads the whole
# device (src/daemon/iface.c), more rarely the longer a read takes; this
# measures that read and what it leaves of the daemon's idle CPU.
#
# One host on a LAN with one wireguard-go interface that lists
# BENCH_DEVREAD_PEERS peers (default 300; keys only, no endpoints, as a
# large `wg setconf` would) and a wice daemon on it (LAN signaling; no
# peer answers).  After SC settling (15 s) and over BENCH_IDLE_SECS:
#   read      a UAPI `get` of the device, as the daemon's worker sends it
#             (connect, request, whole answer), 20 times 50 ms apart
#             while the daemon runs: median (min-max) ms
#   cpu       the daemon's CPU seconds per minute, the part of it on its
#             WireGuard worker thread ("wg-io": the reads), and
#             wireguard-go's (it answers the reads)
#
#   tests/bench/devread.sh
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
# shellcheck source=tests/bench/bench-lib.sh
. "$top_srcdir/tests/bench/bench-lib.sh"

BENCH_DEVREAD_PEERS=${BENCH_DEVREAD_PEERS:-300}
BENCH_IDLE_SECS=${BENCH_IDLE_SECS:-30}
DR_SETTLE_SECS=15
DR_READS=20

# dr_peers IFNAME N: add N peers (fresh keys, one /32 each) in one `wg addconf`.
dr_peers() {
	local i conf=$LAB_DIR/dr-peers.conf
	: >"$conf"
	for i in $(seq 1 "$2"); do
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.100.%d.%d/32\n\n' \
			"$(wg genkey | wg pubkey)" $((i / 250)) $((i % 250 + 1)) >>"$conf"
	done
	wg addconf "$1" "$conf"
}

# dr_reads IFNAME: "MEDIAN MIN MAX PEERS" of DR_READS UAPI gets, in ms.
dr_reads() {
	python3 - "/var/run/wireguard/$1.sock" "$DR_READS" <<-'EOF'
		import socket, sys, time
		path, n, times, peers = sys.argv[1], int(sys.argv[2]), [], 0
		for _ in range(n):
		    t = time.monotonic()
		    s = socket.socket(socket.AF_UNIX)
		    s.connect(path)
		    s.sendall(b"get=1\n\n")
		    buf = b""
		    while not buf.endswith(b"\n\n"):
		        d = s.recv(1 << 16)
		        if not d:
		            break
		        buf += d
		    s.close()
		    times.append((time.monotonic() - t) * 1000)
		    peers = buf.count(b"\npublic_key=")
		    time.sleep(0.05)
		times.sort()
		m = len(times) // 2
		med = times[m] if len(times) % 2 else (times[m - 1] + times[m]) / 2
		print("%.2f %.2f %.2f %d" % (med, times[0], times[-1], peers))
	EOF
}

# dr_ticks PID [THREAD-NAME]: user+system clock ticks of PID, or of its
# threads called THREAD-NAME.
dr_ticks() {
	local t stat sum=0
	for t in /proc/"$1"/task/*; do
		[ -z "${2:-}" ] || [ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] || continue
		stat=$(cat "$t/stat" 2>/dev/null) || continue
		stat=${stat##*) }
		# shellcheck disable=SC2086 # one field per word
		set -- $stat
		sum=$((sum + ${12} + ${13}))
	done
	echo "$sum"
}

# dr_per_min TICKS0 TICKS1 SECS: CPU seconds per minute.
dr_per_min() {
	awk -v a="$1" -v b="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", (b - a) / hz * 60 / s }'
}

dr_run() {
	local ifname dpid wpid t0 t1 d0 d1 io0 io1 w0 w1 secs reads load0 load1 cpu io wcpu
	lab_lan lan
	wl_host a lan 1
	ifname=$(lab_wg_ifname "$(lab__get wl.a.wg)")
	dr_peers "$ifname" "$BENCH_DEVREAD_PEERS" || lab_fail "could not add the peers"
	load0=$(bench_load)
	wl_daemon a ""
	dpid=$(lab_pid wice-a)
	wpid=$(lab_pid "wg-$(lab__get wl.a.wg)")
	lab_wait_for 30 sh -c "[ \"\$(ip netns exec $LAB_PREFIX-a $WICE show --json -s $LAB_DIR/a.sock |
		jq '.interfaces[0].peers | length')\" = $BENCH_DEVREAD_PEERS ]" ||
		lab_fail "the daemon does not list the $BENCH_DEVREAD_PEERS peers"
	sleep "$DR_SETTLE_SECS"
	t0=$(bench_now_us)
	d0=$(dr_ticks "$dpid")
	io0=$(dr_ticks "$dpid" wg-io)
	w0=$(dr_ticks "$wpid")
	sleep "$BENCH_IDLE_SECS"
	d1=$(dr_ticks "$dpid")
	io1=$(dr_ticks "$dpid" wg-io)
	w1=$(dr_ticks "$wpid")
	t1=$(bench_now_us)
	lab__alive "$dpid" || lab_fail "the daemon exited"
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e6 }')
	cpu=$(dr_per_min "$d0" "$d1" "$secs")
	io=$(dr_per_min "$io0" "$io1" "$secs")
	wcpu=$(dr_per_min "$w0" "$w1" "$secs")
	# the reads after the idle window, so that they do not count as idle CPU
	reads=$(dr_reads "$ifname") || lab_fail "UAPI reads failed"
	load1=$(bench_load)
	# shellcheck disable=SC2086 # one figure per word
	set -- $reads
	[ "$4" = "$BENCH_DEVREAD_PEERS" ] || lab_fail "a read listed $4 peers, expected $BENCH_DEVREAD_PEERS"
	echo "# device read at $4 peers: median $1 ms ($2-$3); idle CPU s/min: daemon $cpu (wg-io $io), wireguard-go $wcpu"
	bench_result devread.peers "$4"
	bench_result devread.read_ms "$1"
	bench_result devread.daemon_cpu_s_per_min "$cpu"
	bench_result devread.wgio_cpu_s_per_min "$io"
	bench_result devread.wg_cpu_s_per_min "$wcpu"
	bench_row devread "$4" "$1 ($2-$3)" "$cpu" "$io" "$wcpu" "$load0-$load1"
}

devread_main() {
	bench_require
	lab_require python3
	bench_init
	echo "# device reads: $BENCH_DEVREAD_PEERS peers, idle window ${BENCH_IDLE_SECS}s; figures in $BENCH_OUT"
	: >"$BENCH_OUT/devread.md"
	(
		set -e
		lab_init
		set +e
		dr_run
	) || echo "# device reads: the benchmark broke (status $?)" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	devread_main "$@"
fi
