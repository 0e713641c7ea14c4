#!/bin/bash
# run.sh: every benchmark side by side, then docs/BENCHMARKS.md from the
# figures (`make bench` runs this from the build directory, as root).
#
#   BENCH_QUICK=1   a quick pass for development: 3 runs per connect-time
#                   scenario, 2 s iperf3 tests once, scale 10 nodes, 10 s
#                   idle window (the document says it is a quick pass)
#   BENCH_DOC       where to write (default $top_srcdir/docs/BENCHMARKS.md)
#   BENCH_ONLY      a subset of "proxy connect datapath scale devread mesh
#                   tunnels"; "none"
#                   only writes the document again from the figures in
#                   $BENCH_OUT; "mesh" alone rewrites only the document's
#                   section "Mesh from one secret", and "connect" alone
#                   only the section "Connect time" and the connect goals
#                   (the other sections keep the figures of the run that
#                   wrote them; each rewritten section says when it ran)
# and the knobs of bench-lib.sh (BENCH_RUNS, BENCH_TIMEOUT, ...).
#
# A full run takes about half an hour on two cores; the load average is
# recorded with every figure because the machine may be shared.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	: "${BENCH_RUNS:=3}" "${BENCH_IPERF_SECS:=2}" "${BENCH_IPERF_REPS:=1}" "${BENCH_SCALE:=10}"
	: "${BENCH_IDLE_SECS:=10}"
fi
# The defaults of connect.sh, datapath.sh and scale.sh, for the document.
: "${BENCH_RUNS:=20}" "${BENCH_TIMEOUT:=10}" "${BENCH_IPERF_SECS:=5}" "${BENCH_IPERF_REPS:=3}"
: "${BENCH_SCALE:=10 25 50}" "${BENCH_IDLE_SECS:=30}" "${BENCH_MESH_TIMEOUT:=120}"
export BENCH_RUNS BENCH_TIMEOUT BENCH_IPERF_SECS BENCH_IPERF_REPS BENCH_SCALE BENCH_IDLE_SECS BENCH_MESH_TIMEOUT
# shellcheck source=tests/bench/bench-lib.sh
. "$top_srcdir/tests/bench/bench-lib.sh"

BENCH_DOC=${BENCH_DOC:-$top_srcdir/docs/BENCHMARKS.md}
BENCH_ONLY=${BENCH_ONLY:-proxy connect datapath scale devread mesh tunnels}

run__want() {
	[[ " $BENCH_ONLY " == *" $1 "* ]]
}

# run__get KEY: the last value recorded for KEY ("-" if none).
run__get() {
	local v
	v=$(awk -F'\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$BENCH_OUT/results.tsv")
	echo "${v:--}"
}

# run__goal LABEL FIGURE OP LIMIT [UNIT]: a row of the goals table.
# FIGURE may be "-" (no figure), "> X" (beyond a timeout: missed) or "A/B"
# (runs connected: met when A == B).
run__goal() {
	local label=$1 fig=$2 op=$3 limit=$4 unit=${5:-} verdict
	case $fig in
	-) verdict="no figure" ;;
	'> '*) verdict=missed ;;
	*/*) verdict=$(awk -v f="$fig" 'BEGIN { split(f, v, "/"); print (v[1] == v[2] ? "met" : "missed") }') ;;
	*) verdict=$(awk -v f="$fig" -v l="$limit" -v op="$op" \
		'BEGIN { ok = op == "<=" ? f + 0 <= l + 0 : f + 0 >= l + 0; print (ok ? "met" : "missed") }') ;;
	esac
	[ "$fig" != - ] || unit=
	printf '| %s | %s %s%s | %s%s | **%s** |\n' "$label" "$op" "$limit" "${5:+ $5}" "$fig" "${unit:+ $unit}" "$verdict"
}

# run_goals: the goals table (issue 14's goals, and the older ones that
# still hold: issue 12's mesh from one secret, the idle cost).
run_goals() {
	local s n kb idle limit
	n=${BENCH_SCALE##* }
	echo "| Goal | Target | Measured | |"
	echo "| --- | --- | --- | --- |"
	run_connect_goals
	for s in tcp udp; do
		run__goal "nft proxy vs plain WireGuard, $s" "$(run__get "datapath.nft.$s.ratio")" ">=" 99 %
	done
	run__goal "user proxy vs plain WireGuard, tcp" "$(run__get datapath.user.tcp.ratio)" ">=" 90 %
	run__goal "user proxy vs plain WireGuard, udp" "$(run__get datapath.user.udp.ratio)" ">=" 80 %
	run__goal "TURN relay, eBPF path vs plain WireGuard, tcp$(run__bpf_note)" \
		"$(run__get datapath.relay-bpf.tcp.ratio)" ">=" 80 %
	run__info "TURN relay, eBPF path vs plain WireGuard, udp" "$(run__get datapath.relay-bpf.udp.ratio)" %
	for s in tcp udp; do
		run__info "TURN relay, user proxy vs plain WireGuard, $s" "$(run__get "datapath.relay.$s.ratio")" %
	done
	for s in lan nat; do
		limit=30
		[ "$s" = lan ] || limit=20
		run__goal "$n-node full mesh ($s), all pairs ping" \
			"$(run__mesh_s "$(run__get "scale.wice.$s.$n.mesh_ms")")" "<=" "$limit" s
		kb=$(run__get "scale.wice.$s.$n.rss_kb")
		run__goal "RSS per daemon at $((n - 1)) peers ($s), max" \
			"$(awk -v k="${kb##* }" 'BEGIN { if (k == "-" || k == "") print "-"; else printf "%.1f", k / 1024 }')" \
			"<=" 20 MB
		kb=$(run__get "scale.wice.$s.$n.rss_anon_kb")
		[ "$s" = lan ] || run__goal "RSS per daemon at $((n - 1)) peers ($s), private part (RssAnon), max" \
			"$(awk -v k="${kb##* }" 'BEGIN { if (k == "-" || k == "") print "-"; else printf "%.1f", k / 1024 }')" \
			"<=" 8 MB
		# with pairs missing, the daemons were not idle but still trying
		idle=
		run__complete "$(run__get "scale.wice.$s.$n.pairs")" || idle=", mesh incomplete"
		run__goal "Idle CPU per daemon ($s$idle), median" \
			"$(run__get "scale.wice.$s.$n.cpu_s_per_min" | cut -d/ -f1)" "<=" 0.5 s/min
		run__goal "Idle traffic per peer ($s$idle), median: wice's own (signaling, STUN/TURN, tunnel)" \
			"$(run__get "scale.wice.$s.$n.own_bytes_per_min_per_peer" | cut -d/ -f1)" "<=" 2048 B/min
		run__goal "Idle traffic per peer ($s$idle), median: all IP a node sent on its uplink (wice's and the kernel's ICMP, e.g. IPv6 ND; no ARP, no link-layer framing)" \
			"$(run__get "scale.wice.$s.$n.bytes_per_min_per_peer" | cut -d/ -f1)" "<=" 2048 B/min
	done
	run__goal "Idle CPU of a daemon with ${BENCH_DEVREAD_PEERS:-300} peers on one interface (none answers; device reads included)" \
		"$(run__get devread.daemon_cpu_s_per_min)" "<=" 0.5 s/min
	run__info "Device read at ${BENCH_DEVREAD_PEERS:-300} peers (UAPI get from wireguard-go), median" \
		"$(run__get devread.read_ms)" ms
	run_mesh_goals
}

# run__info LABEL FIGURE [UNIT]: a row of the goals table without a goal
# (a figure to read beside one).
run__info() {
	local unit=${3:-}
	[ "$2" != - ] || unit=
	printf '| %s | (no goal) | %s%s | information |\n' "$1" "$2" "${unit:+ $unit}"
}

# run__bpf_note: ", not on the eBPF path (...)" when the row
# "relay-bpf" did not run on the eBPF path (datapath.sh records which).
run__bpf_note() {
	local p
	p=$(run__get datapath.relay-bpf.proxy)
	[ "$p" = bpf ] || [ "$p" = - ] || printf ', **not on the eBPF path: ran on %s**' "$p"
}

# run_connect_goals: the connect-time rows of the goals table (their
# labels start "Connect," or "Every run connects:", which
# run__splice_connect relies on).
run_connect_goals() {
	local s med p95
	run__goal "Connect, same LAN, median" "$(run__get connect.wice-lan.median)" "<=" 40 ms
	run__goal "Connect, both behind port-preserving NATs, median" "$(run__get connect.wice-easy.median)" "<=" 60 ms
	run__goal "Connect, relay (both NATs symmetric), median" "$(run__get connect.wice-relay.median)" "<=" 80 ms
	run__goal "Connect, relay (one NAT symmetric), median" "$(run__get connect.wice-onesym.median)" "<=" 150 ms
	run__goal "Connect, warm add (\`wg set\` on running daemons, same LAN) to the first ping, median" \
		"$(run__get connect.wice-warm-lan.median)" "<=" 100 ms
	for s in lan easy hard onesym relay warm-lan warm-easy; do
		med=$(run__get "connect.wice-$s.median")
		p95=$(run__get "connect.wice-$s.p95")
		case $med in
		- | '> '*) run__goal "Connect, p95 within 2 x median: wice-$s (no median)" - "<=" "2 x median" ;;
		*) run__goal "Connect, p95 within 2 x median: wice-$s (median $med ms)" "$p95" "<=" $((2 * med)) ms ;;
		esac
	done
	for s in lan easy hard onesym relay warm-lan warm-easy; do
		run__goal "Every run connects: wice-$s" "$(run__get "connect.wice-$s.ok")" "=" all
	done
}

# run_mesh_goals: the goals of the mesh from one secret (issue 12): the
# largest N on a LAN in 20 s and behind NATs in 45 s, and wgmesh's own
# target, 10 nodes in 90 s.
run_mesh_goals() {
	local n=${BENCH_SCALE##* } s limit
	for s in lan nat; do
		limit=20
		[ "$s" = lan ] || limit=45
		run__goal "$n-node mesh from one secret ($s), all pairs ping" \
			"$(run__mesh_s "$(run__get "mesh.$s.$n.mesh_ms")")" "<=" "$limit" s
	done
	for s in lan nat; do
		run__goal "10-node mesh from one secret ($s) within wgmesh's target" \
			"$(run__mesh_s "$(run__get "mesh.$s.10.mesh_ms")")" "<=" 90 s
	done
}

# run__complete "A/B": A == B.
run__complete() {
	[ "${1%/*}" = "${1#*/}" ]
}

# run__mesh_s MS: seconds ("> MS" stays "> S").
run__mesh_s() {
	case $1 in
	-) echo - ;;
	'> '*) echo "> $(awk -v v="${1#> }" 'BEGIN { printf "%.0f", v / 1000 }')" ;;
	*) awk -v v="$1" 'BEGIN { printf "%.1f", v / 1000 }' ;;
	esac
}

run__section() {
	[ -s "$BENCH_OUT/$1.md" ] && cat "$BENCH_OUT/$1.md" || echo "| (not run) |"
}

run_doc() {
	local started load0 load1
	started=$(run__get run.started)
	load0=$(run__get run.load0)
	load1=$(run__get run.load1)
	cat <<-EOF
		# Benchmarks

		Generated by \`make bench\` (tests/bench/run.sh) on $started; do not edit by
		hand, run it again. Every figure below was measured in that one run,
		except in a section that gives its own date (BENCH_ONLY=connect or mesh
		measures and rewrites that section alone), on one machine, with wice,
		Nebula and plain WireGuard side by side in the same network-namespace
		topologies (tests/lab/lab.sh).$([ "$(run__get run.quick)" = 1 ] && printf '\n\n**Quick pass (BENCH_QUICK=1): few runs, short tests; not the real figures.**')

		- Machine: $(bench_machine)
		- wice: $(run__get run.version)
		- Load average (1 min) at start and end: $load0 and $load1. The machine
		  may be shared; each row gives the load while it was measured.
		- Runs per connect-time scenario: $(run__get run.runs) (timeout $(run__get run.timeout)s); iperf3:
		  $(run__get run.iperf); scale: N = $(run__get run.scale), mesh timeout $(run__get run.mesh_timeout)s,
		  idle window $(run__get run.idle)s. The whole run took $(run__get run.minutes) minutes.

		## Goals

		$(run_goals)

		$(run_connect_doc)

		## Data path

		iperf3 from host a to host b through the tunnel, both hosts and the
		TURN server on one flat segment (no NAT), all paths set up at once and
		measured round robin. TCP: one stream. UDP: unlimited offered load
		(\`-b 0\`, 1200-byte datagrams), so the sender overruns the tunnel; the
		figure is what the receiver got (goodput), with the loss. Median over
		the repetitions in Mbit/s (min-max), and the ratio to plain WireGuard.
		wireguard-go does the crypto on every path but Nebula's; all processes
		share the machine's cores. "TURN relay + eBPF": the relay pair with
		\`[proxy] relay-path = bpf\`, the ChannelData framing in tc programs
		(the row says so if \`wice show\` did not report the eBPF path, before
		or after the runs), beside the same relay through the user proxy.
		"daemons stopped": the nft path with both daemons killed (SIGKILL)
		once it was up, its rules and endpoints left in place: the path
		without a daemon running beside the traffic.

		| Path | TCP Mbit/s | TCP vs plain | UDP Mbit/s | UDP vs plain | Load |
		| --- | --- | --- | --- | --- | --- |
		$(run__section datapath)

		### User proxy alone (tests/bench/user-proxy-bench, \`make bench-user-proxy\`)

		\`\`\`
		$(cat "$BENCH_OUT/user-proxy-bench.txt" 2>/dev/null || echo "(not run)")
		\`\`\`

		## Scale and idle cost

		N nodes, each a daemon (for wice: with one wireguard-go interface that
		lists the other N-1 nodes as peers, no endpoints). lan: one LAN (wice:
		multicast signaling; Nebula: lighthouse on the LAN). nat: every node
		behind its own port-preserving NAT (signal server, STUN and TURN, or
		the lighthouse, on the internet). What runs on the server hosts
		(signal server, coturn, the lighthouse) has nice ${BENCH_SERVER_NICE:--10}: in the
		network modelled they are machines of their own, here they share the
		two cores with every node (at equal priority an offer at 50 nodes
		behind NATs waited 7-12 s for the signal server's turn). Mesh: from the first daemon's start
		until every pair answered a ping (node I pings each J > I about every
		0.5 s); the median pair too. RSS of the daemon (and of wireguard-go
		for wice) once the mesh is up, median / max over the nodes, and in
		parentheses, where recorded, the daemon's private part (RssAnon; the
		rest is shared library pages). "With wireguard-go": a wice node's
		daemon and its wireguard-go added up per node (what a node pays, to
		hold beside Nebula's one process, which does both jobs; for Nebula
		the same figure as its own). Idle: over
		the idle window after the mesh is up (${SC_SETTLE_SECS:-15} s to settle first): CPU
		seconds per minute of each daemon (and with its wireguard-go), and
		the bytes of every IP packet each node sent out of its uplink per
		minute and per peer (nftables counters in postrouting: IP headers and
		payload, no link-layer framing and no ARP, but the kernel's ICMP such
		as IPv6 neighbour discovery), median / max,
		and the mean split into signaling / STUN and TURN / tunnel / ICMP /
		other. With pairs missing the daemons were not idle (still trying),
		which the idle figures then say. Load: at the start, when the mesh
		was up (or timed out) and at the end of the idle window.

		wice rows run with the default \`[ice] liveness = wireguard\` (no STUN
		consent checks; WireGuard's own traffic tells a dead path); the row
		"liveness = consent" adds RFC 7675 consent checks on the controlling
		side of each pair. The kernel's neighbour tables (ARP, NDP) are shared
		by all namespaces, and their default limit (1024 entries) is less than
		a LAN of 25 namespaces needs; the scale runs raise it for their
		duration (\`lab_neigh_room\` in tests/lab/lab.sh), for every tool, so
		that N namespaces behave like N hosts.

		| Tool | Topology | N | Pairs | Mesh s | Median pair s | RSS MB | wireguard-go RSS MB | RSS MB with wireguard-go | Idle CPU s/min | Idle CPU s/min with wireguard-go | Idle B/min/peer | Split B/min/peer | Load |
		| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
		$(run__section scale)

		## Device reads at ${BENCH_DEVREAD_PEERS:-300} peers

		WireGuard announces no peer changes, so the daemon re-reads the whole
		device to see a peer added with \`wg set\`, less often the longer a read
		takes (src/daemon/iface.c). tests/bench/devread.sh: one host, one
		wireguard-go interface with ${BENCH_DEVREAD_PEERS:-300} peers (keys and allowed IPs, no
		endpoints), a wice daemon on it (LAN signaling, no peer answers). Read:
		a UAPI \`get\` of the whole device (what the daemon's worker sends),
		20 times 50 ms apart with the daemon running, median (min-max) in ms.
		Idle CPU, after 15 s to settle and over the idle window: the daemon's
		CPU seconds per minute, the part on its WireGuard worker thread
		(wg-io: the device reads), and wireguard-go's (it answers them).

		| Peers | Read ms | Daemon idle CPU s/min | of it wg-io s/min | wireguard-go idle CPU s/min | Load |
		| --- | --- | --- | --- | --- | --- |
		$(run__section devread)

		$(run_mesh_doc)
	EOF
}

# run_connect_doc: the section "Connect time" (tests/bench/connect.sh),
# stamped with its own date and load: BENCH_ONLY=connect writes it alone.
run_connect_doc() {
	cat <<-EOF
		## Connect time

		Measured by tests/bench/connect.sh on $(run__get connect.started) at wice $(run__get run.version); load
		average (1 min) $(run__get connect.load0) at the start and $(run__get connect.load1) at the end; the
		runs took $(run__get connect.minutes) minutes ($(run__get run.runs) runs per scenario, timeout $(run__get run.timeout) s).

		From starting both daemons (WireGuard already configured with each
		other's keys and no endpoints; the daemons started back to back, timed
		from the first start) to the first ping reply through the tunnel, pinging
		every 10 ms. Each run starts fresh: NAT mappings flushed, WireGuard peers
		re-added without endpoints, signal server or lighthouse restarted.
		"Warm": both daemons already run and the peers are added with \`wg set\`
		on both sides at once; timed from the first \`wg set\`. Plain WireGuard:
		static endpoints on one LAN, timed from the first \`wg set\` (the
		handshake alone). Nebula: lighthouse on the LAN (lan) or on the
		internet's server host, punchy on (punch and respond) with Nebula's
		default punchy.delay of 1 s, or with "punchy.delay 10ms" where the row
		says so (a node then punches 10 ms after it learns the other's
		address instead of 1 s); "relay on" makes the lighthouse a relay.
		Topologies (tests/lab/nat-*.test): lan = one LAN; easy = both
		hosts behind port-preserving masquerade NATs with a home router's
		input firewall; hard = the same NATs without the input firewall;
		onesym = one of the NATs symmetric; relay = both
		symmetric. Times in ms; path = selected candidate pair and data path
		(wice) or how the tunnel was made (Nebula), with the number of runs.
		A run with no reply within $(run__get run.timeout) s is not waited for further: it counts as
		not connected (the Connected column says how many) and enters the
		median, p95 and max as the cutoff, so a figure that falls on such a run
		reads "> $(($(run__get run.timeout) * 1000))". Medians of an even number of runs are rounded,
		not truncated.

		| Tool | Topology | Median | p95 | Max | Connected | Path (runs) | Load |
		| --- | --- | --- | --- | --- | --- | --- | --- |
		$(run__section connect)
	EOF
}

# run__splice_connect DOC: DOC with its section "Connect time" and its
# connect goals replaced by new ones, on stdout.
run__splice_connect() {
	local new goals
	new=$(run_connect_doc)
	goals=$(run_connect_goals)
	NEW=$new GOALS=$goals awk '
		/^## / { skip = 0 }
		/^## Connect time$/ { print ENVIRON["NEW"]; print ""; skip = 1; next }
		/^\| (Connect,|Every run connects:) / { if (!goals++) print ENVIRON["GOALS"]; next }
		!skip { print }
	' "$1"
}

# run_mesh_doc: the section "Mesh from one secret" (tests/bench/mesh.sh),
# stamped with its own date and load: BENCH_ONLY=mesh writes it alone.
run_mesh_doc() {
	cat <<-EOF
		## Mesh from one secret

		Measured by tests/bench/mesh.sh on $(run__get mesh.started) at wice $(run__get run.version); load
		average (1 min) $(run__get mesh.load0) at the start and $(run__get mesh.load1) at the end; the
		runs took $(run__get mesh.minutes) minutes (mesh timeout $(run__get run.mesh_timeout) s, idle window
		$(run__get run.idle) s).

		N daemons (\`wice daemon -f\`) that share only the secret: no
		WireGuard interface, key or peer is configured; each daemon's
		configuration is a \`[mesh]\` section (for nat also the signal
		server, STUN and TURN on the internet's server host), it creates its
		own wireguard-go interface and finds the others. lan: one LAN, no
		server (LAN announcements). nat: every node behind its own
		port-preserving NAT with a home router's firewall, as in the scale
		benchmark (rendezvous mailbox on the signal server; the server hosts'
		processes with nice ${BENCH_SERVER_NICE:--10}, as there). All daemons are
		started back to back; each node's derived IPv4 address is read from
		its mesh interface (\`ip addr\`, where its daemon puts it) as soon
		as it is there, and read again while pairs are missing (a collision
		re-derives one).
		Node I then pings every J > I (fping, a round every ~0.5 s). Mesh:
		from the first daemon's start until every pair answered, with the
		median pair and the time when every address was known (no pair can
		be timed before that). RSS of the daemon and of its wireguard-go
		child once the mesh is up, median / max over the nodes, private part
		(RssAnon) in parentheses. Idle, after ${SC_SETTLE_SECS:-15} s to settle, over the idle
		window: CPU seconds per minute of the daemon and of its wireguard-go,
		and the bytes each node sent per minute and per peer, median / max.
		Members: the fewest members a node listed at the end, and how all
		were found (sum over the nodes). Goal: the issue's (50 nodes on a
		LAN within 20 s, behind NATs within 45 s; wgmesh's own target, 10
		nodes within 90 s), against the mesh time. Load: at the start, when
		the mesh was up (or timed out) and at the end of the idle window.

		| Topology | N | Pairs | Mesh s | Goal | Median pair s | Addresses known s | RSS MB | wireguard-go RSS MB | Idle CPU s/min | wireguard-go idle CPU s/min | Idle B/min/peer | Members (sources) | Load |
		| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
		$(run__section mesh)
	EOF
}

# run__splice_mesh DOC: DOC with its mesh section replaced by a new one
# (or the new one appended), on stdout.
run__splice_mesh() {
	local new
	new=$(run_mesh_doc)
	NEW=$new awk '
		/^## / { skip = 0 }
		/^## Mesh from one secret$/ { print ENVIRON["NEW"]; skip = 1; done = 1; next }
		!skip { print }
		END { if (!done) printf "\n%s\n", ENVIRON["NEW"] }
	' "$1"
}

# run__version: the source tree's commit (or the binary's version).
run__version() {
	if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top_srcdir" describe --always --dirty
	else
		"$WICE" version 2>/dev/null
	fi
}

run_main() {
	local t0
	bench_require
	bench_init
	echo "# benchmarks: figures in $BENCH_OUT, document $BENCH_DOC"
	if [ "$BENCH_ONLY" != none ]; then
		t0=$(date +%s)
		bench_result run.started "$(date -u '+%Y-%m-%d %H:%M UTC')"
		bench_result run.load0 "$(bench_load)"
		bench_result run.version "$(run__version)"
		bench_result run.runs "$BENCH_RUNS"
		bench_result run.timeout "$BENCH_TIMEOUT"
		bench_result run.iperf "${BENCH_IPERF_SECS}s per test, $BENCH_IPERF_REPS repetitions"
		bench_result run.scale "$BENCH_SCALE"
		bench_result run.mesh_timeout "$BENCH_MESH_TIMEOUT"
		bench_result run.idle "$BENCH_IDLE_SECS"
		bench_result run.quick "${BENCH_QUICK:-0}"
	fi
	if run__want proxy; then
		if [ -x "$top_builddir/tests/bench/user-proxy-bench" ]; then
			echo "# user proxy microbenchmark"
			"$top_builddir/tests/bench/user-proxy-bench" 2>&1 | tee "$BENCH_OUT/user-proxy-bench.txt"
		else
			echo "(not built: make tests/bench/user-proxy-bench)" >"$BENCH_OUT/user-proxy-bench.txt"
		fi
	fi
	run__want connect && "$top_srcdir/tests/bench/connect.sh"
	run__want datapath && "$top_srcdir/tests/bench/datapath.sh"
	run__want scale && "$top_srcdir/tests/bench/scale.sh"
	run__want devread && "$top_srcdir/tests/bench/devread.sh"
	run__want mesh && "$top_srcdir/tests/bench/mesh.sh"
	if [ "$BENCH_ONLY" != none ]; then
		bench_result run.load1 "$(bench_load)"
		bench_result run.minutes $((($(date +%s) - t0 + 30) / 60))
	fi
	SC_SETTLE_SECS=$(sed -n 's/^SC_SETTLE_SECS=//p' "$top_srcdir/tests/bench/scale.sh")
	if [ "$BENCH_ONLY" = connect ] && [ -f "$BENCH_DOC" ]; then
		run__splice_connect "$BENCH_DOC" >"$BENCH_DOC.tmp" && mv "$BENCH_DOC.tmp" "$BENCH_DOC"
		echo "# wrote the connect section and goals of $BENCH_DOC"
		run_connect_goals
		return
	fi
	if [ "$BENCH_ONLY" = mesh ] && [ -f "$BENCH_DOC" ]; then
		run__splice_mesh "$BENCH_DOC" >"$BENCH_DOC.tmp" && mv "$BENCH_DOC.tmp" "$BENCH_DOC"
		echo "# wrote the mesh section of $BENCH_DOC"
		run_mesh_goals
		return
	fi
	if [ "$BENCH_ONLY" != tunnels ]; then
		run_doc >"$BENCH_DOC.tmp" && mv "$BENCH_DOC.tmp" "$BENCH_DOC"
		echo "# wrote $BENCH_DOC"
	fi
	# Its own section, spliced into the document just written.
	run__want tunnels && BENCH_DOC=$BENCH_DOC "$top_srcdir/tests/bench/tunnels.sh"
	sed -n '/^## Goals/,/^## Connect/p' "$BENCH_DOC" | sed '$d'
}

run_main "$@"
