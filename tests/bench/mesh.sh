#!/bin/bash
# mesh.sh: a mesh from one secret: N daemons that share only the secret,
# the time until every pair pings the other's derived address, and what
# each daemon costs once the mesh is up.
#
#   tests/bench/mesh.sh [TOPOLOGY:N ...]
#     TOPOLOGY  lan (one LAN, no server: the members find each other by
#               LAN announcements) or nat (every node behind its own
#               port-preserving NAT with a home router's firewall; the
#               members meet in the signal server's rendezvous mailbox and
#               connect with STUN and TURN on "srv", as scale.sh's nat)
#   default: lan:N and nat:N for N in $BENCH_SCALE.
#
# Unlike scale.sh nothing is configured but the [mesh] section (and for
# nat the servers): every daemon creates its own wireguard-go interface
# and finds its peers.  A node's derived IPv4 address is read from its
# mesh interface (where its daemon puts it) as soon as it is there, and
# read again every BENCH_MESH_REREAD seconds (default 10) while pairs are
# missing, since a collision makes one of two members re-derive its
# address.  Node I pings every J > I (fping, one round every ~0.5 s, each
# pair until its first reply).  Figures, as in scale.sh:
#   mesh time   from the first daemon's start until all N(N-1)/2 pairs
#               answered (and the median pair); also when the last node's
#               address was known, which is when its pairs could start
#   RSS         of each daemon and of its wireguard-go once the mesh is up
#               (and RssAnon, the private part), median and max
#   idle CPU    user+system seconds per minute over BENCH_IDLE_SECS after
#               the mesh settled, of the daemon and of its wireguard-go
#   idle bytes  what each node sent per minute and per peer (nftables
#               counters on its uplink)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
# scale.sh's helpers (counters, CPU ticks, RSS, formatting); sourcing it
# runs nothing.
# shellcheck source=tests/bench/scale.sh
. "$top_srcdir/tests/bench/scale.sh"

BENCH_MESH_REREAD=${BENCH_MESH_REREAD:-10}

# ms_prober: the script each node runs, sc_prober's loop with node
# numbers for targets: each round reads the targets' current addresses
# from $dir/J (written as the daemons show them, rewritten after a
# collision; a target without one yet waits) and logs answered pairs as
# "MS-SINCE-T0 SELF TARGET".
ms_prober() {
	cat <<-'EOF'
		t0=$1 deadline=$2 out=$3 self=$4 dir=$5
		shift 5
		left=("$@")
		# Forks are what the probers cost the machine they measure: one
		# per round (fping); the pause is a read from a FIFO no one
		# writes, not `sleep`, and the answers are read with mapfile,
		# not `tr`.
		got=$dir/.got.$self
		mkfifo "$dir/.pause.$self"
		exec {pause}<>"$dir/.pause.$self"
		while [ ${#left[@]} -gt 0 ] && [ "${EPOCHREALTIME/[.,]/}" -lt "$deadline" ]; do
			addrs=() known=()
			for t in "${left[@]}"; do
				a=
				[ ! -e "$dir/$t" ] || read -r a <"$dir/$t"
				addrs+=("${a:-none}")
				[ -z "$a" ] || known+=("$a")
			done
			alive=" "
			if [ ${#known[@]} != 0 ]; then
				fping -a -q -r 0 -t 300 -i 1 "${known[@]}" >"$got" 2>/dev/null
				mapfile -t answered <"$got"
				alive=" ${answered[*]} "
			fi
			now=${EPOCHREALTIME/[.,]/}
			next=()
			for k in "${!left[@]}"; do
				if [[ $alive == *" ${addrs[k]} "* ]]; then
					echo "$(((now - t0) / 1000)) $self ${left[k]}" >>"$out"
				else
					next+=("${left[k]}")
				fi
			done
			left=("${next[@]}")
			read -r -t 0.2 -u "$pause" || true
		done
	EOF
}

ms_build() {
	local topo=$1 n=$2 i
	lab_neigh_room $((4 * n * n + 1024))
	if [ "$topo" = lan ]; then
		lab_lan lan
	else
		wl_setup_internet
	fi
	for i in $(seq 1 "$n"); do
		if [ "$topo" = lan ]; then
			lab_attach "h$i" lan
		else
			lab_nat "r$i" easy "$i"
			lab_attach "h$i" "r$i"
		fi
		sc_counters "h$i" eth0
	done
	wl_mesh_secret mesh
}

# ms_start TOPOLOGY N: start every node's daemon, back to back.
ms_start() {
	local topo=$1 n=$2 i servers=
	[ "$topo" = lan ] || servers=$(wl_conf_servers udp)
	sc_servers_first
	MS_T0=$(bench_now_us)
	for i in $(seq 1 "$n"); do
		wl__daemon_start "h$i" "$servers
$(wl_mesh_conf "h$i")"
	done
}

# ms_address I: node I's derived IPv4 address into $LAB_DIR/addr/I, once
# its daemon has put one on its mesh interface (up to 60 s): the address
# the daemon derived and shows, read where it takes effect.  Read with
# `ip` (about 2 ms) twice a second: asking each daemon with `wice show |
# jq` (about 40 ms of CPU) from 50 pollers took two cores' worth of CPU
# from the 50 starting daemons the benchmark times.
ms_address() {
	local i=$1 a try line
	for try in $(seq 120); do
		a=
		line=$(ip -n "$LAB_PREFIX-h$i" -o -4 addr show dev "${LAB_PREFIX}h$i" 2>/dev/null) || line=
		if [[ $line =~ inet\ ([0-9.]+)/ ]]; then
			a=${BASH_REMATCH[1]}
		fi
		if [ -n "$a" ]; then
			[ "$(cat "$LAB_DIR/addr/$i" 2>/dev/null)" = "$a" ] || {
				echo "$a" >"$LAB_DIR/addr/.tmp.$i"
				mv "$LAB_DIR/addr/.tmp.$i" "$LAB_DIR/addr/$i"
			}
			return 0
		fi
		sleep 0.5
	done
	echo "# mesh: h$i has no address on its mesh interface after 60 s" >&2
	return 1
}

# ms_addresses N: every node's address, read in parallel (waiting for
# these readers alone: the daemons and probers are children too).
ms_addresses() {
	local i pids=()
	for i in $(seq 1 "$1"); do
		ms_address "$i" &
		pids+=("$!")
	done
	wait "${pids[@]}"
}

ms_probe() {
	local n=$1 i deadline
	ms_prober >"$LAB_DIR/prober.sh"
	deadline=$((MS_T0 + BENCH_MESH_TIMEOUT * 1000000))
	: >"$LAB_DIR/pairs"
	for i in $(seq 1 $((n - 1))); do
		lab_bg "h$i" "probe-$i" bash "$LAB_DIR/prober.sh" "$MS_T0" "$deadline" "$LAB_DIR/pairs" "$i" \
			"$LAB_DIR/addr" $(seq $((i + 1)) "$n")
	done
}

# ms_wait N READER: until the probers are done; once the first READER of
# the addresses is done, read them again every BENCH_MESH_REREAD seconds
# and say when one changed.
ms_wait() {
	local n=$1 reader=$2 next before
	wait "$reader"
	next=$(($(bench_now_us) + BENCH_MESH_REREAD * 1000000))
	until sc__probers_done "$n"; do
		sleep 0.5
		[ "$(bench_now_us)" -ge "$next" ] || continue
		before=$(cat "$LAB_DIR"/addr/[0-9]*)
		ms_addresses "$n"
		[ "$(cat "$LAB_DIR"/addr/[0-9]*)" = "$before" ] ||
			echo "# mesh: an address changed after $((($(bench_now_us) - MS_T0) / 1000)) ms (collision?)"
		next=$(($(bench_now_us) + BENCH_MESH_REREAD * 1000000))
	done
}

# ms_wg_pid I: the pid of node I's wireguard-go (the daemon's child).
ms_wg_pid() {
	pgrep -P "$(lab_pid "wice-h$1")" -x wireguard-go | head -n 1
}

# ms_sample N: per node "DAEMON-TICKS WG-TICKS COUNTERS..." now.
ms_sample() {
	local i
	for i in $(seq 1 "$1"); do
		echo "$(sc_cpu_ticks "$(lab_pid "wice-h$i")") $(sc_cpu_ticks "$(ms_wg_pid "$i")") $(sc_counter_bytes "h$i")"
	done
}

# ms_goal TOPOLOGY N MS PAIRS: the issue's goal for this row and whether
# it was met ("-" where the issue sets none).
ms_goal() {
	local limit
	case $1:$2 in
	lan:50) limit=20 ;;
	nat:50) limit=45 ;;
	*:10) limit=90 ;; # wgmesh's own target
	*)
		echo -
		return
		;;
	esac
	if [ "${4%/*}" = "${4#*/}" ] && [ "$3" -le $((limit * 1000)) ]; then
		echo "<= $limit s: **met**"
	else
		echo "<= $limit s: **missed**"
	fi
}

ms_one() {
	local topo=$1 n=$2 name total pairs stats med max addr_ms load0 loadm i
	local rss anon wgrss wganon cpu wgcpu bytes members sources goal addrs pids
	name=$topo.$n
	total=$((n * (n - 1) / 2))
	load0=$(bench_load)
	echo "# mesh $name: building $n nodes"
	ms_build "$topo" "$n"
	mkdir "$LAB_DIR/addr"
	ms_start "$topo" "$n"
	# the probers start at once and ping each target as soon as its
	# address is known
	ms_probe "$n"
	(
		ms_addresses "$n"
		echo $((($(bench_now_us) - MS_T0) / 1000)) >"$LAB_DIR/addr-ms"
	) &
	ms_wait "$n" $!
	addr_ms=$(cat "$LAB_DIR/addr-ms")
	addrs=("$LAB_DIR"/addr/[0-9]*)
	echo "# mesh $name: ${#addrs[@]} of $n addresses known after $addr_ms ms;" \
		"$(sort "$LAB_DIR"/addr/[0-9]* | uniq -d | wc -l) shared by two nodes"
	pairs=$(wc -l <"$LAB_DIR/pairs")
	stats=$(cut -d' ' -f1 "$LAB_DIR/pairs" | bench_stats)
	read -r med _ max <<<"$stats"
	cp "$LAB_DIR/pairs" "$BENCH_OUT/raw/mesh.$name.pairs"
	loadm=$(bench_load)
	[ "$pairs" = "$total" ] || max="> $((BENCH_MESH_TIMEOUT * 1000))"
	echo "# mesh $name: $pairs/$total pairs answered; all after $max ms, median pair $med ms; load $load0-$loadm"
	goal=$(ms_goal "$topo" "$n" "${max#> }" "$pairs/$total")

	rss=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(lab_pid "wice-h$i")"; done | bench_stats)
	anon=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(lab_pid "wice-h$i")" RssAnon; done | bench_stats)
	wgrss=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(ms_wg_pid "$i")"; done | bench_stats)
	wganon=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(ms_wg_pid "$i")" RssAnon; done | bench_stats)

	sleep "$SC_SETTLE_SECS"
	ms_sample "$n" >"$LAB_DIR/idle0"
	sleep "$BENCH_IDLE_SECS"
	ms_sample "$n" >"$LAB_DIR/idle1"
	paste -d' ' "$LAB_DIR/idle0" "$LAB_DIR/idle1" >"$BENCH_OUT/raw/mesh.$name.idle"
	# per node: daemon CPU s/min, wireguard-go CPU s/min, bytes/min/peer
	awk -v secs="$BENCH_IDLE_SECS" -v peers=$((n - 1)) -v hz="$(getconf CLK_TCK)" '{
		all = 0
		for (f = 3; f <= 7; f++)
			all += $(f + 7) - $f
		printf "%.3f %.3f %.0f\n", ($8 - $1) / hz * 60 / secs, ($9 - $2) / hz * 60 / secs, all * 60 / secs / peers
	}' "$BENCH_OUT/raw/mesh.$name.idle" >"$LAB_DIR/idle"
	cpu="$(cut -d' ' -f1 "$LAB_DIR/idle" | bench_median)/$(cut -d' ' -f1 "$LAB_DIR/idle" | sort -g | tail -n 1)"
	wgcpu="$(cut -d' ' -f2 "$LAB_DIR/idle" | bench_median)/$(cut -d' ' -f2 "$LAB_DIR/idle" | sort -g | tail -n 1)"
	bytes="$(cut -d' ' -f3 "$LAB_DIR/idle" | bench_median)/$(cut -d' ' -f3 "$LAB_DIR/idle" | sort -g | tail -n 1)"

	# what the members know at the end: fewest members a node lists, and
	# how they were found
	# (in parallel: a busy daemon may take seconds to answer)
	pids=()
	for i in $(seq 1 "$n"); do
		"$WICE" show --json -s "$LAB_DIR/h$i.sock" 2>/dev/null |
			jq -r '.mesh[0].members | "\(length) \([.[].source] | join(","))"' >"$LAB_DIR/members.$i" &
		pids+=("$!")
	done
	wait "${pids[@]}"
	cat "$LAB_DIR"/members.* >"$LAB_DIR/members"
	members=$(cut -d' ' -f1 "$LAB_DIR/members" | sort -n | head -n 1)
	sources=$(cut -d' ' -f2 "$LAB_DIR/members" | tr ',' '\n' | sort | uniq -c | awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }')
	mkdir -p "$BENCH_OUT/raw/mesh.$name.logs"
	cp "$LAB_DIR"/wice-h*.log "$BENCH_OUT/raw/mesh.$name.logs/"
	echo "# mesh $name: RSS (median p95 max, kB) daemon $rss (private $anon), wireguard-go $wgrss (private $wganon);" \
		"idle CPU s/min (median/max) daemon $cpu, wireguard-go $wgcpu; bytes/min/peer (median/max) $bytes;" \
		"fewest members listed $members/$((n - 1)) [sources: $sources]; load $(bench_load)"
	bench_result "mesh.$name.pairs" "$pairs/$total"
	bench_result "mesh.$name.mesh_ms" "$max"
	bench_result "mesh.$name.median_pair_ms" "$med"
	bench_result "mesh.$name.addresses_ms" "$addr_ms"
	bench_result "mesh.$name.rss_kb" "$(cut -d' ' -f1,3 <<<"$rss")"
	bench_result "mesh.$name.rss_anon_kb" "$(cut -d' ' -f1,3 <<<"$anon")"
	bench_result "mesh.$name.wg_rss_kb" "$(cut -d' ' -f1,3 <<<"$wgrss")"
	bench_result "mesh.$name.cpu_s_per_min" "$cpu"
	bench_result "mesh.$name.wg_cpu_s_per_min" "$wgcpu"
	bench_result "mesh.$name.bytes_per_min_per_peer" "$bytes"
	bench_result "mesh.$name.members_min" "$members/$((n - 1))"
	if [ "$pairs" != "$total" ]; then
		cpu="$cpu (mesh incomplete)"
		bytes="$bytes (mesh incomplete)"
	fi
	bench_row mesh "$topo" "$n" "$pairs/$total" "$(sc__s "$max")" "$goal" "$(sc__s "$med")" "$(sc__s "$addr_ms")" \
		"$(sc__mb "$rss") (private $(sc__mb "$anon"))" "$(sc__mb "$wgrss") (private $(sc__mb "$wganon"))" \
		"$cpu" "$wgcpu" "$bytes" "$members/$((n - 1)) ($sources)" "$load0-$loadm-$(bench_load)"
}

mesh_main() {
	local spec n t0
	bench_require
	bench_init
	if [ $# -eq 0 ]; then
		for n in $BENCH_SCALE; do
			set -- "$@" "lan:$n" "nat:$n"
		done
	fi
	t0=$(date +%s)
	bench_result mesh.started "$(date -u '+%Y-%m-%d %H:%M UTC')"
	bench_result mesh.load0 "$(bench_load)"
	echo "# mesh: idle window ${BENCH_IDLE_SECS}s, mesh timeout ${BENCH_MESH_TIMEOUT}s; figures in $BENCH_OUT"
	for spec in "$@"; do
		(
			set -e
			lab_init
			set +e
			IFS=: read -r topo n <<<"$spec"
			ms_one "$topo" "$n"
		) || echo "# mesh $spec: broke (status $?)" >&2
	done
	bench_result mesh.load1 "$(bench_load)"
	bench_result mesh.minutes $((($(date +%s) - t0 + 30) / 60))
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	mesh_main "$@"
fi
