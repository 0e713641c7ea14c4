# shellcheck shell=bash
# bench-lib.sh: what the benchmark scripts share, on top of wice-lab.sh.
#
# The benchmarks print figures; they do not pass or fail.  Every scenario
# prints its figures as it goes and records them in two files under
# $BENCH_OUT (default: a fresh directory under /tmp):
#   results.tsv   one "KEY<TAB>VALUE" line per figure, for run.sh's summary
#   SECTION.md    the rows of the section's table in docs/BENCHMARKS.md
# Raw samples (one per run) go to $BENCH_OUT/raw/.  Each scenario runs in
# its own lab (a subshell with lab_init), so a scenario that breaks leaves
# nothing behind and the next one starts clean.
#
# Knobs (environment):
#   BENCH_RUNS      runs per connect-time scenario (default 20)
#   BENCH_TIMEOUT   seconds a connect-time run may take (default 10)
#   BENCH_IPERF_SECS, BENCH_IPERF_REPS  iperf3 seconds per test, repetitions
#   BENCH_SCALE     node counts for the scale benchmark (default "10 25 50")
#   BENCH_IDLE_SECS seconds over which idle cost is measured (default 30)
#   BENCH_MESH_TIMEOUT  seconds the scale benchmark waits for a full mesh
#                   (default 120)
#   BENCH_NO_IPV6=1 scale benchmark without IPv6 on the nodes (to tell
#                   IPv6 effects apart)
# shellcheck source=tests/lab/wice-lab.sh
. "${top_srcdir:-.}/tests/lab/wice-lab.sh"

BENCH_RUNS=${BENCH_RUNS:-20}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-10}
BENCH_OUT=${BENCH_OUT:-}

# bench_init: make $BENCH_OUT (unless given) and its raw/ directory.
bench_init() {
	if [ -z "$BENCH_OUT" ]; then
		BENCH_OUT=$(mktemp -d /tmp/wice-bench.XXXXXX)
	fi
	mkdir -p "$BENCH_OUT/raw"
	touch "$BENCH_OUT/results.tsv"
	export BENCH_OUT
}

# bench_require: like wl_require, plus the benchmarks' own tools.
bench_require() {
	wl_require
	lab_require conntrack fping iperf3 nebula nebula-cert
}

# bench_result KEY VALUE: record one figure (the last value for a key wins).
bench_result() {
	printf '%s\t%s\n' "$1" "$2" >>"$BENCH_OUT/results.tsv"
}

# bench_row SECTION CELL...: append a row to SECTION's table.
bench_row() {
	local section=$1 row='|' cell
	shift
	for cell in "$@"; do
		row="$row $cell |"
	done
	printf '%s\n' "$row" >>"$BENCH_OUT/$section.md"
}

# bench_load: the 1-minute load average now.
bench_load() {
	cut -d' ' -f1 /proc/loadavg
}

# bench_now_us: microseconds since the epoch (no fork: EPOCHREALTIME).
bench_now_us() {
	echo "${EPOCHREALTIME/[.,]/}"
}

# bench_stats < VALUES: "MEDIAN P95 MAX" of the numbers on stdin (one per
# line, integers), "- - -" when there are none.  The median of an even
# count is rounded half up (59.5 -> 60), not truncated.  p95 is the
# nearest-rank percentile: the ceil(0.95 n)-th smallest value.
bench_stats() {
	sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "- - -"; exit }
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			r = int(0.95 * NR); if (r < 0.95 * NR) r++
			printf "%d %d %d\n", int(med + 0.5), v[r], v[NR]
		}'
}

# bench_median < VALUES: the median of decimal numbers on stdin.
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# bench_wait_ping NS ADDR SECS: ping ADDR from NS every 10 ms until the first
# reply; false if none comes within SECS.
bench_wait_ping() {
	lab_exec "$1" ping -n -q -c 1 -i 0.01 -w "$3" "$2" >/dev/null 2>&1
}

# bench_flush_conntrack NS...: forget every connection (and so every NAT
# mapping) in these namespaces, so that a run does not inherit mappings
# from the one before.
bench_flush_conntrack() {
	local ns
	for ns in "$@"; do
		lab_exec "$ns" conntrack -F >/dev/null 2>&1 || true
	done
}

# bench_machine: one line describing this machine.
bench_machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	printf '%s cores (%s), %s MB RAM, Linux %s, wireguard-go %s, nebula %s, libnice %s' \
		"$(nproc)" "${cpu:-unknown CPU}" "$(($(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024))" \
		"$(uname -r)" \
		"$(dpkg-query -W -f='${Version}' wireguard-go 2>/dev/null || echo '?')" \
		"$(nebula -version 2>/dev/null | sed -n 's/^Version: //p')" \
		"$(pkg-config --modversion nice 2>/dev/null || echo '?')"
}
