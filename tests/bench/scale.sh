#!/bin/bash
# scale.sh: a full mesh of N nodes, and what it costs when idle.
#
#   tests/bench/scale.sh [TOOL:TOPOLOGY:N ...]
#     TOOL      wice (wice daemon + wireguard-go per node) or nebula
#     TOPOLOGY  lan (one LAN; wice signals by multicast, Nebula's lighthouse
#               sits on the LAN) or nat (every node behind its own
#               port-preserving NAT with a home router's firewall; wice
#               uses the signal server, STUN and TURN on "srv", Nebula's
#               lighthouse runs there)
#     VARIANT   (optional) consent: wice with "[ice] liveness = consent"
#   default: wice:lan:N and wice:nat:N for N in $BENCH_SCALE, then
#   wice:lan:N:consent, nebula:lan:N and nebula:nat:N for the largest N.
#
# Node I has tunnel address 10.99.0.I (wice) or 10.98.0.I (Nebula); for
# wice, its wireguard-go interface lists the other N-1 nodes as peers
# without endpoints.  All daemons are started at once; from then on, node I
# pings every node J > I (fping, one round every ~0.5 s, each pair until
# its first reply).  Figures:
#   mesh time   from the first daemon's start until all N(N-1)/2 pairs
#               answered (and the median pair)
#   RSS         of each daemon once the mesh is up (for wice also of its
#               wireguard-go), median and max over the nodes; and its
#               private part (RssAnon: without shared library pages)
#   idle CPU    user+system seconds each daemon spent over BENCH_IDLE_SECS
#               of idleness after the mesh is up, per minute
#   with wireguard-go   for wice, RSS and idle CPU of each node's daemon
#               and its wireguard-go together (what a node pays; Nebula's
#               one process does both jobs)
#   idle bytes  every IP packet a node sent out of its uplink in that time
#               (nftables counters in postrouting: IP headers and payload,
#               no link-layer framing, no ARP; the kernel's ICMP such as
#               IPv6 neighbour discovery counts), split into signaling,
#               STUN/TURN, tunnel, ICMP and other, per minute and per peer
#   allocations for wice behind NATs, the TURN allocations coturn holds
#               (its relay sockets) once the mesh is up and after the idle
#               window, with the daemons' RSS then
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
# shellcheck source=tests/bench/bench-lib.sh
. "$top_srcdir/tests/bench/bench-lib.sh"
# shellcheck source=tests/bench/nebula-lab.sh
. "$top_srcdir/tests/bench/nebula-lab.sh"

BENCH_SCALE=${BENCH_SCALE:-10 25 50}
BENCH_IDLE_SECS=${BENCH_IDLE_SECS:-30}
BENCH_MESH_TIMEOUT=${BENCH_MESH_TIMEOUT:-120}
# SC_WG_SNAPSHOT_SECS (unset: off): a diagnostic, see sc__wg_snapshot.
# Time for the mesh to settle (checks finished, TURN allocations made, the
# keepalives that WireGuard sends 10 s after the last ping received)
# before the idle window opens.
SC_SETTLE_SECS=15

# sc_prober: the script each node runs to ping its targets: one fping
# round (all remaining targets in parallel, 300 ms timeout), then the
# answered targets are logged ("MS-SINCE-T0 SELF TARGET") and dropped.
sc_prober() {
	cat <<-'EOF'
		t0=$1 deadline=$2 out=$3 self=$4
		shift 4
		left=("$@")
		while [ ${#left[@]} -gt 0 ] && [ "${EPOCHREALTIME/[.,]/}" -lt "$deadline" ]; do
			alive=" $(fping -a -q -r 0 -t 300 -i 1 "${left[@]}" 2>/dev/null | tr '\n' ' ')"
			now=${EPOCHREALTIME/[.,]/}
			next=()
			for t in "${left[@]}"; do
				if [[ $alive == *" $t "* ]]; then
					echo "$(((now - t0) / 1000)) $self $t" >>"$out"
				else
					next+=("$t")
				fi
			done
			left=("${next[@]}")
			sleep 0.2
		done
	EOF
}

# sc_counters NS IFNAME: count what NS sends out of IFNAME, by kind.
sc_counters() {
	lab__run lab_exec "$1" nft -f - <<-EOF
		table inet bench {
			counter signaling {}
			counter stun {}
			counter tunnel {}
			counter icmpmsgs {}
			counter other {}
			chain out {
				type filter hook postrouting priority 500; policy accept;
				oifname != "$2" accept
				meta l4proto tcp counter name "signaling" accept
				meta l4proto udp ip daddr 224.0.0.0/4 counter name "signaling" accept
				meta l4proto udp ip6 daddr ff00::/8 counter name "signaling" accept
				meta l4proto udp @th,96,32 0x2112a442 counter name "stun" accept
				meta l4proto udp counter name "tunnel" accept
				meta l4proto { icmp, ipv6-icmp } counter name "icmpmsgs" accept
				counter name "other"
			}
		}
	EOF
}

# sc_counter_bytes NS: "SIGNALING STUN TUNNEL ICMP OTHER" bytes so far.
sc_counter_bytes() {
	lab_exec "$1" nft -j list counters table inet bench |
		jq -r '[.nftables[] | select(.counter) | .counter | {(.name): .bytes}] | add |
			"\(.signaling) \(.stun) \(.tunnel) \(.icmpmsgs) \(.other)"'
}

# sc_cpu_ticks PID: user+system clock ticks of PID.
sc_cpu_ticks() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	stat=${stat##*) }
	# fields after the command: state is 3rd of the whole line, utime 14th
	# shellcheck disable=SC2086 # one field per word
	set -- $stat
	echo $((${12} + ${13}))
}

# sc_allocations TOOL TOPOLOGY: the TURN allocations coturn holds (one
# relay socket each, ports 49152-65535 on srv), "-" where none is run.
sc_allocations() {
	if [ "$1" != wice ] || [ "$2" != nat ]; then
		echo -
		return
	fi
	lab_exec srv ss -Huan "sport >= :49152 and src $(lab_ip srv)" | wc -l
}

# sc_rss_kb PID [FIELD]: VmRSS (or another field of /proc/PID/status,
# e.g. RssAnon: the private part, without the shared libraries' pages).
sc_rss_kb() {
	sed -n "s/^${2:-VmRSS}:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status" 2>/dev/null || echo 0
}

# --- building the mesh --------------------------------------------------------

sc_build() {
	local tool=$1 topo=$2 n=$3 i
	# every node a namespace: see lab_neigh_room
	lab_neigh_room $((4 * n * n + 1024))
	if [ "$topo" = lan ]; then
		lab_lan lan
		[ "$tool" = wice ] || lab_attach lh lan
	elif [ "$tool" = wice ]; then
		wl_setup_internet
	else
		lab_internet
		lab_attach srv inet
	fi
	for i in $(seq 1 "$n"); do
		if [ "$topo" = lan ]; then
			lab_attach "h$i" lan
		else
			lab_nat "r$i" easy "$i"
			lab_attach "h$i" "r$i"
		fi
		[ "${BENCH_NO_IPV6:-0}" = 0 ] || lab_sysctl "h$i" net.ipv6.conf.all.disable_ipv6 1
		sc_counters "h$i" eth0
		[ "$tool" = wice ] || continue
		lab_wg "h$i" "w$i" "10.99.0.$i/24" 51820
	done
	[ "$tool" = wice ] || return 0
	# every node lists the others, in one `wg set` per node
	for i in $(seq 1 "$n"); do
		sc__wg_peers "$i" "$n"
	done
}

sc__wg_peers() {
	local i=$1 n=$2 j args=()
	for j in $(seq 1 "$n"); do
		[ "$j" != "$i" ] || continue
		args+=(peer "$(lab_wg_pub "w$j")" allowed-ips "10.99.0.$j/32")
	done
	lab__run wg set "$(lab_wg_ifname "w$i")" "${args[@]}"
}

# sc_conf TOPOLOGY: the daemons' configuration (SC_VARIANT "consent":
# with RFC 7675 consent checks, for the idle cost side by side).
sc_conf() {
	[ "$1" = lan ] || wl_conf_servers udp
	[ "${SC_VARIANT:-}" != consent ] || printf '[ice]\nliveness = consent\n'
}

# sc_servers_first: what runs on the server hosts (srv: the signal
# server, coturn, Nebula's lighthouse; lh: the LAN's lighthouse) gets nice
# BENCH_SERVER_NICE (default -10).  In the network modelled they are
# machines of their own; here they share two cores with 50 daemons and
# their 50 WireGuards, and at equal priority they got a hundredth of a
# core: each signaling message waited for the server's turn, and at 50
# nodes behind NATs an offer took 7-12 s on average to be answered (1.3-4 s
# with -10; the mesh 44-67 s against 16 s).  The same for every tool.
sc_servers_first() {
	local ns pid task
	for ns in srv lh; do
		for pid in $(ip netns pids "$LAB_PREFIX-$ns" 2>/dev/null); do
			# every thread: renice -p sets one (coturn relays in its
			# own threads, Nebula's Go runtime runs several)
			for task in /proc/"$pid"/task/*; do
				renice -n "${BENCH_SERVER_NICE:--10}" -p "${task##*/}" >/dev/null 2>&1 || true
			done
		done
	done
}

# sc_start TOOL TOPO N: start every node's daemon (for Nebula the
# lighthouse first, it is the rendezvous server and not timed).
sc_start() {
	local tool=$1 topo=$2 n=$3 i lhns=srv
	if [ "$tool" = nebula ]; then
		[ "$topo" = nat ] || lhns=lh
		nb_pki
		for i in $(seq 1 "$n"); do
			nb_cert "h$i" "$i"
			nb__conf "h$i" false "$(lab_ip "$lhns")" 0 >"$(nb_dir)/h$i.yml"
		done
		nb_lighthouse "$lhns" 0 0
	else
		sc_conf "$topo" >"$LAB_DIR/node.conf"
	fi
	sc_servers_first
	SC_T0=$(bench_now_us)
	for i in $(seq 1 "$n"); do
		if [ "$tool" = wice ]; then
			# shellcheck disable=SC2086 # BENCH_WICE_VERBOSE may hold several options
			lab_bg "h$i" "node-$i" "$WICE" daemon -f ${BENCH_WICE_VERBOSE:--v} -c "$LAB_DIR/node.conf" -s "$LAB_DIR/h$i.sock"
		else
			lab_bg "h$i" "node-$i" nebula -config "$(nb_dir)/h$i.yml"
		fi
	done
}

# sc_probe TOOL N: start every node's prober; node I pings J > I.
sc_probe() {
	local tool=$1 n=$2 i j net=10.99.0 targets deadline
	[ "$tool" = wice ] || net=10.98.0
	sc_prober >"$LAB_DIR/prober.sh"
	deadline=$((SC_T0 + BENCH_MESH_TIMEOUT * 1000000))
	: >"$LAB_DIR/pairs"
	for i in $(seq 1 $((n - 1))); do
		targets=()
		for j in $(seq $((i + 1)) "$n"); do
			targets+=("$net.$j")
		done
		lab_bg "h$i" "probe-$i" bash "$LAB_DIR/prober.sh" "$SC_T0" "$deadline" "$LAB_DIR/pairs" "$net.$i" \
			"${targets[@]}"
	done
}

sc__probers_done() {
	local i
	for i in $(seq 1 $(($1 - 1))); do
		lab__alive "$(lab_pid "probe-$i")" && return 1
	done
	return 0
}

# --- one configuration --------------------------------------------------------

# sc__wg_snapshot N NAME: with SC_WG_SNAPSHOT_SECS set, every node's
# `wg show dump` that many seconds after the start, in raw/ (for a pair
# that takes long: its endpoints, handshakes and counters then).
sc__wg_snapshot() {
	local i
	sleep "$SC_WG_SNAPSHOT_SECS"
	for i in $(seq 1 "$1"); do
		echo "# node $i"
		wg show "$(lab_wg_ifname "w$i")" dump
	done >"$BENCH_OUT/raw/scale.$2.wg" 2>&1
}

sc_one() {
	local tool=$1 topo=$2 n=$3 name pairs total stats med max rss wgrss cpu bytes load0 loadm i
	local kinds anon alloc_up alloc_idle rss_idle snapshot
	name=$tool.$topo.$n${SC_VARIANT:+.$SC_VARIANT}
	total=$((n * (n - 1) / 2))
	load0=$(bench_load)
	echo "# scale $name: building $n nodes"
	sc_build "$tool" "$topo" "$n"
	sc_start "$tool" "$topo" "$n"
	sc_probe "$tool" "$n"
	snapshot=
	if [ -n "${SC_WG_SNAPSHOT_SECS:-}" ] && [ "$tool" = wice ]; then
		sc__wg_snapshot "$n" "$name" &
		snapshot=$!
	fi
	lab_wait_for $((BENCH_MESH_TIMEOUT + 10)) sc__probers_done "$n" 2>/dev/null
	[ -z "$snapshot" ] || wait "$snapshot"
	pairs=$(wc -l <"$LAB_DIR/pairs")
	stats=$(cut -d' ' -f1 "$LAB_DIR/pairs" | bench_stats)
	read -r med _ max <<<"$stats"
	cp "$LAB_DIR/pairs" "$BENCH_OUT/raw/scale.$name.pairs"
	mkdir -p "$BENCH_OUT/raw/scale.$name.logs"
	cp "$LAB_DIR"/node-*.log "$BENCH_OUT/raw/scale.$name.logs/"
	loadm=$(bench_load)
	[ "$pairs" = "$total" ] || max="> $((BENCH_MESH_TIMEOUT * 1000))"
	echo "# scale $name: $pairs/$total pairs answered; all after $max ms, median pair $med ms; load $load0-$loadm"

	# RSS once the mesh is up
	rss=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(lab_pid "node-$i")"; done | bench_stats)
	anon=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(lab_pid "node-$i")" RssAnon; done | bench_stats)
	wgrss=-
	allrss=$rss
	if [ "$tool" = wice ]; then
		wgrss=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(lab_pid "wg-w$i")"; done | bench_stats)
		allrss=$(for i in $(seq 1 "$n"); do
			echo $(($(sc_rss_kb "$(lab_pid "node-$i")") + $(sc_rss_kb "$(lab_pid "wg-w$i")")))
		done | bench_stats)
	fi

	alloc_up=$(sc_allocations "$tool" "$topo")

	# idle cost
	sleep "$SC_SETTLE_SECS"
	for i in $(seq 1 "$n"); do
		echo "$(sc_cpu_ticks "$(lab_pid "node-$i")") $(sc_counter_bytes "h$i")"
		sc__wg_ticks "$tool" "$i" >>"$LAB_DIR/wg0"
	done >"$LAB_DIR/idle0"
	sleep "$BENCH_IDLE_SECS"
	for i in $(seq 1 "$n"); do
		echo "$(sc_cpu_ticks "$(lab_pid "node-$i")") $(sc_counter_bytes "h$i")"
		sc__wg_ticks "$tool" "$i" >>"$LAB_DIR/wg1"
	done >"$LAB_DIR/idle1"
	alloc_idle=$(sc_allocations "$tool" "$topo")
	rss_idle=$(for i in $(seq 1 "$n"); do sc_rss_kb "$(lab_pid "node-$i")"; done | bench_stats)
	echo "# scale $name: TURN allocations on coturn: $alloc_up when the mesh was up, $alloc_idle after the idle" \
		"window; daemon RSS then (median p95 max, kB) $rss_idle"
	bench_result "scale.$name.turn_allocations" "$alloc_up/$alloc_idle"
	bench_result "scale.$name.rss_idle_kb" "$(cut -d' ' -f1,3 <<<"$rss_idle")"
	# per node: daemon and wireguard-go CPU s/min together
	paste -d' ' "$LAB_DIR/idle0" "$LAB_DIR/idle1" "$LAB_DIR/wg0" "$LAB_DIR/wg1" |
		awk -v secs="$BENCH_IDLE_SECS" -v hz="$(getconf CLK_TCK)" \
			'{ printf "%.3f\n", ($7 - $1 + $14 - $13) / hz * 60 / secs }' >"$LAB_DIR/idle-all"
	allcpu="$(bench_median <"$LAB_DIR/idle-all")/$(sort -g "$LAB_DIR/idle-all" | tail -n 1)"
	rm -f "$LAB_DIR/wg0" "$LAB_DIR/wg1"
	paste -d' ' "$LAB_DIR/idle0" "$LAB_DIR/idle1" >"$BENCH_OUT/raw/scale.$name.idle"
	# per node: CPU s/min, bytes/min/peer in all and by kind
	awk -v secs="$BENCH_IDLE_SECS" -v peers=$((n - 1)) -v hz="$(getconf CLK_TCK)" '{
		k = 60 / secs / peers
		all = 0
		for (f = 2; f <= 6; f++)
			all += $(f + 6) - $f
		printf "%.3f %.0f", ($7 - $1) / hz * 60 / secs, all * k
		for (f = 2; f <= 6; f++)
			printf " %.0f", ($(f + 6) - $f) * k
		printf "\n"
	}' "$BENCH_OUT/raw/scale.$name.idle" >"$LAB_DIR/idle"
	cpu="$(cut -d' ' -f1 "$LAB_DIR/idle" | bench_median)/$(cut -d' ' -f1 "$LAB_DIR/idle" | sort -g | tail -n 1)"
	bytes="$(cut -d' ' -f2 "$LAB_DIR/idle" | bench_median)/$(cut -d' ' -f2 "$LAB_DIR/idle" | sort -g | tail -n 1)"
	kinds=$(awk '{ for (f = 3; f <= 7; f++) s[f] += $f }
		END { printf "%.0f / %.0f / %.0f / %.0f / %.0f\n", s[3] / NR, s[4] / NR, s[5] / NR, s[6] / NR, s[7] / NR }' \
		"$LAB_DIR/idle")
	echo "# scale $name: RSS (median p95 max, kB) daemon $rss (private $anon), wireguard-go $wgrss;" \
		"idle CPU s/min (median/max) $cpu; bytes/min/peer (median/max) $bytes" \
		"[mean signaling / STUN,TURN / tunnel / ICMP / other: $kinds]; load $(bench_load)"
	bench_result "scale.$name.pairs" "$pairs/$total"
	bench_result "scale.$name.mesh_ms" "$max"
	bench_result "scale.$name.rss_kb" "$(cut -d' ' -f1,3 <<<"$rss")"
	bench_result "scale.$name.rss_anon_kb" "$(cut -d' ' -f1,3 <<<"$anon")"
	bench_result "scale.$name.cpu_s_per_min" "$cpu"
	bench_result "scale.$name.rss_with_wg_kb" "$(cut -d' ' -f1,3 <<<"$allrss")"
	bench_result "scale.$name.cpu_with_wg_s_per_min" "$allcpu"
	bench_result "scale.$name.bytes_per_min_per_peer" "$bytes"
	# what the tool itself sends (signaling, STUN/TURN, tunnel packets):
	# not the kernel's neighbour discovery
	bench_result "scale.$name.own_bytes_per_min_per_peer" \
		"$(awk '{ print $3 + $4 + $5 }' "$LAB_DIR/idle" | bench_median)/$(awk '{ print $3 + $4 + $5 }' "$LAB_DIR/idle" | sort -g | tail -n 1)"
	if [ "$pairs" != "$total" ]; then
		# not idle: the daemons were still trying to reach the missing pairs
		cpu="$cpu (mesh incomplete)"
		allcpu="$allcpu (mesh incomplete)"
		bytes="$bytes (mesh incomplete)"
	fi
	bench_row scale "$tool${SC_VARIANT:+ (liveness = $SC_VARIANT)}" "$topo" "$n" "$pairs/$total" "$(sc__s "$max")" "$(sc__s "$med")" \
		"$(sc__mb "$rss") (private $(sc__mb "$anon"))" "$(sc__mb "$wgrss")" "$(sc__mb "$allrss")" \
		"$cpu" "$allcpu" "$bytes" "$kinds" \
		"$load0-$loadm-$(bench_load)"
}

# sc__wg_ticks TOOL I: CPU ticks of node I's wireguard-go (0 for Nebula,
# whose one process also does the tunnel).
sc__wg_ticks() {
	if [ "$1" = wice ]; then
		sc_cpu_ticks "$(lab_pid "wg-w$2")"
	else
		echo 0
	fi
}

# sc__s MS: seconds with one decimal ("> N" kept as is).
sc__s() {
	case $1 in
	-) echo - ;;
	'> '*) echo "> $(awk -v v="${1#> }" 'BEGIN { printf "%.0f", v / 1000 }')" ;;
	*) awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }' ;;
	esac
}

# sc__mb "MEDIAN P95 MAX" (kB): "MEDIAN / MAX" in MB.
sc__mb() {
	[ "$1" != - ] || {
		echo -
		return
	}
	awk -v s="$1" 'BEGIN { split(s, v, " "); printf "%.1f / %.1f", v[1] / 1024, v[3] / 1024 }'
}

scale_main() {
	local spec n largest=
	bench_require
	bench_init
	if [ $# -eq 0 ]; then
		for n in $BENCH_SCALE; do
			set -- "$@" "wice:lan:$n" "wice:nat:$n"
			largest=$n
		done
		set -- "$@" "wice:lan:$largest:consent" "nebula:lan:$largest" "nebula:nat:$largest"
	fi
	echo "# scale: idle window ${BENCH_IDLE_SECS}s, mesh timeout ${BENCH_MESH_TIMEOUT}s; figures in $BENCH_OUT"
	for spec in "$@"; do
		(
			set -e
			lab_init
			set +e
			IFS=: read -r tool topo n SC_VARIANT <<<"$spec"
			sc_one "$tool" "$topo" "$n"
		) || echo "# scale $spec: broke (status $?)" >&2
	done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	scale_main "$@"
fi
