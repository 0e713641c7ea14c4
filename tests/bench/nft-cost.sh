#!/bin/bash
# nft-cost.sh: what the running daemon costs the nft fast path.  Three of
# datapath.sh's paths, in its lab and with its setup:
#
#   plain    wireguard-go with static endpoints
#   nft      wice, host pair, nftables fast path, daemons running
#   nft-stopped  the same, daemons killed (SIGKILL) once connected: the
#            rules and endpoints stay, nothing in user space runs
#
# TCP iperf3 runs go round robin over the three, BENCH_IPERF_REPS times
# (default 8), so that load from other users falls on all alike; figures
# are medians, with the load average of every run.  For every run it also
# records the nft daemons' CPU time and context switches (summed over
# their threads, from /proc), so that the daemons' cost under traffic
# (their own pair's runs) can be set beside their cost without it (the
# other pairs' runs).
#
# Measurements start NFT_COST_SETTLE seconds (default 10) after the pairs
# connect (on top of datapath.sh's own wait), for the steady state; 0
# puts the first runs close to the connect (before peer-ice.c cut
# libnice's idle-timeout, its check timer ticked every 5 ms there).
# Profiles, all of daemon a, before the measurements:
#   NFT_COST_STRACE=1      `strace -c -f` during an nft run and a plain run
#   NFT_COST_STRACE=trace  the same as whole traces ($BENCH_OUT/raw/strace.*)
#   NFT_COST_PERF=1        `perf record -g` during an nft run
#                          ($BENCH_OUT/raw/perf.nft.txt)
#   NFT_COST_HOOK=CMD      runs CMD (with $NFT_PID) while an nft run starts,
#                          e.g. a gdb script; output in raw/hook.out
#
#   BENCH_IPERF_REPS=8 tests/bench/nft-cost.sh     (as root)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
# shellcheck source=tests/bench/datapath.sh
. "$top_srcdir/tests/bench/datapath.sh"

BENCH_IPERF_REPS=${BENCH_IPERF_REPS:-8}
NC_PATHS="plain nft nft-stopped"
NC_SETTLE=${NFT_COST_SETTLE:-10}

# nc_pids: the running nft daemons (a and b).
nc_pids() {
	echo "$(lab_pid wice-a2) $(lab_pid wice-b2)"
}

# nc_usage PID...: "CPU-NS SWITCHES" summed over the processes' threads.
nc_usage() {
	local pid t ns=0 sw=0 v n
	for pid in "$@"; do
		for t in /proc/"$pid"/task/*; do
			read -r v _ <"$t/schedstat" || continue
			ns=$((ns + v))
			n=$(awk '/ctxt_switches/ { s += $2 } END { print s + 0 }' "$t/status")
			sw=$((sw + n))
		done
	done
	echo "$ns $sw"
}

nc_measure() {
	local rep p out load before after cpu sw secs=$BENCH_IPERF_SECS
	for rep in $(seq 1 "$BENCH_IPERF_REPS"); do
		for p in $NC_PATHS; do
			load=$(bench_load)
			# shellcheck disable=SC2046 # two pids
			before=$(nc_usage $(nc_pids))
			out=$(dp_iperf "$p" tcp)
			# shellcheck disable=SC2046
			after=$(nc_usage $(nc_pids))
			read -r cpu sw <<<"$(awk -v b="$before" -v a="$after" -v s="$secs" 'BEGIN {
				split(b, x, " "); split(a, y, " ")
				printf "%.2f %.0f", (y[1] - x[1]) / 1e7 / s, (y[2] - x[2]) / s }')"
			out=${out%% *}
			echo "$out $load $cpu $sw" >>"$BENCH_OUT/raw/nftcost.$p"
			echo "# rep $rep $p: $out Mbit/s, load $load; nft daemons: $cpu % CPU, $sw switches/s"
		done
	done
}

# nc_strace PATH: syscall counts of nft daemon a during one PATH run.
nc_strace() {
	local spid
	local opts=(-c)
	[ "${NFT_COST_STRACE:-0}" != trace ] || opts=(-tt -T -y)
	strace "${opts[@]}" -f -p "$(lab_pid wice-a2)" -o "$BENCH_OUT/raw/strace.$1" &
	spid=$!
	sleep 0.5
	echo "# strace during $1: $(dp_iperf "$1" tcp)"
	kill -INT "$spid"
	wait "$spid" 2>/dev/null
	[ "${NFT_COST_STRACE:-0}" = trace ] || sed 's/^/#   /' "$BENCH_OUT/raw/strace.$1"
}

# nc_perf PATH: where nft daemon a spends its time during one PATH run.
nc_perf() {
	local ppid
	perf record -q -g -p "$(lab_pid wice-a2)" -o "$BENCH_OUT/raw/perf.$1" >/dev/null 2>&1 &
	ppid=$!
	sleep 0.5
	echo "# perf during $1: $(dp_iperf "$1" tcp)"
	kill -INT "$ppid"
	wait "$ppid" 2>/dev/null
	perf report -i "$BENCH_OUT/raw/perf.$1" --stdio --no-children 2>/dev/null |
		grep -v '^$' | head -n 60 >"$BENCH_OUT/raw/perf.$1.txt"
}

# nc_hook: NFT_COST_HOOK while an nft run starts.
nc_hook() {
	local hpid
	NFT_PID=$(lab_pid wice-a2) bash -c "$NFT_COST_HOOK" >"$BENCH_OUT/raw/hook.out" 2>&1 &
	hpid=$!
	sleep 2
	echo "# hook during nft: $(dp_iperf nft tcp)"
	wait "$hpid"
}

# nc_profile: the profiles asked for (see the top of this file).
nc_profile() {
	if [ "${NFT_COST_STRACE:-0}" != 0 ]; then
		nc_strace nft
		nc_strace plain
	fi
	[ -z "${NFT_COST_HOOK:-}" ] || nc_hook
	[ "${NFT_COST_PERF:-0}" != 1 ] || nc_perf nft
}

nc_report() {
	local p raw med base
	base=$(cut -d' ' -f1 "$BENCH_OUT/raw/nftcost.plain" | bench_median)
	for p in $NC_PATHS; do
		raw=$BENCH_OUT/raw/nftcost.$p
		med=$(cut -d' ' -f1 "$raw" | bench_median)
		printf '%-11s median %s Mbit/s (%s), %s %% of plain; load %s; nft daemons %s %% CPU, %s switches/s (medians)\n' \
			"$p" "$med" "$(cut -d' ' -f1 "$raw" | sort -n | paste -sd' ')" \
			"$(awk -v m="$med" -v b="$base" 'BEGIN { printf "%.1f", (b > 0 ? 100 * m / b : 0) }')" \
			"$(cut -d' ' -f2 "$raw" | paste -sd' ')" \
			"$(cut -d' ' -f3 "$raw" | bench_median)" "$(cut -d' ' -f4 "$raw" | bench_median)"
	done
}

nc_main() {
	bench_require
	lab_require strace
	bench_init
	echo "# nft cost: iperf3 TCP ${BENCH_IPERF_SECS}s, $BENCH_IPERF_REPS repetitions; figures in $BENCH_OUT"
	rm -f "$BENCH_OUT"/raw/nftcost.*
	(
		set -e
		lab_init
		set +e
		# shellcheck disable=SC2086
		dp_setup $NC_PATHS
		sleep "$NC_SETTLE"
		nc_profile
		nc_measure
		cp "$LAB_DIR"/wice-*.log "$BENCH_OUT/raw/" 2>/dev/null
		exit 0
	) || echo "# nft cost: the benchmark broke (status $?)" >&2
	nc_report
}

nc_main "$@"
