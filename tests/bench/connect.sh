#!/bin/bash
# connect.sh: connect time, side by side: wice, Nebula and plain WireGuard
# in the NAT lab's topologies.
#
#   tests/bench/connect.sh [SCENARIO...]      (default: all, in this order)
#
# A run starts both daemons as close together as possible and ends at the
# first ping reply through the tunnel (ping every 10 ms, from a to b); the
# time is measured from the first start.  BENCH_RUNS runs per scenario, each
# with a fresh start: daemons stopped, WireGuard peers removed and added
# back without endpoints, the NAT routers' conntrack tables flushed and the
# servers (signal server, Nebula lighthouse) restarted.  A run that gets no
# reply within BENCH_TIMEOUT seconds counts as not connected, and enters
# the median, p95 and max as the timeout: a figure that falls on such a
# run reads "> TIMEOUT-MS", so failures never make a tool look faster.
#
# Scenarios (the NAT lab's, tests/lab/nat-*.test):
#   wg-lan          plain WireGuard, static endpoints, one LAN: the
#                   handshake alone (time from `wg set` on both sides)
#   wice-lan        one LAN, multicast signaling, no servers
#   wice-easy       both behind port-preserving NATs with home-router
#                   firewalls, signal server, STUN and TURN
#   wice-hard       both behind port-preserving NATs without the firewall
#                   (the lab's hard case: an early inbound packet makes the
#                   router pick a new port for the outbound flow)
#   wice-onesym     one NAT symmetric: a relay pair
#   wice-relay      both NATs symmetric: a relay pair
#   wice-warm-lan, wice-warm-easy   daemons already running, the peers
#                   added with `wg set` on both sides at once
#   nebula-lan, nebula-easy, nebula-hard, nebula-onesym, nebula-relay   the same
#                   topologies with Nebula (lighthouse on the LAN or on
#                   the internet's server host), without relays
#   nebula-*-relayon   the same with the lighthouse as relay
#   nebula-*-punchy    the same with punchy.delay 10ms instead of Nebula's
#                   default 1s (how long a node waits before punching)
#
# CB_VERBOSE sets the daemons' log flags (default -v; "-v -v" for debug);
# CB_KEEP_LOGS=1 keeps every run's daemon logs in raw/ (a failed run's
# always are).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
# shellcheck source=tests/bench/bench-lib.sh
. "$top_srcdir/tests/bench/bench-lib.sh"
# shellcheck source=tests/bench/nebula-lab.sh
. "$top_srcdir/tests/bench/nebula-lab.sh"

CONNECT_ALL="wg-lan wice-lan wice-easy wice-hard wice-onesym wice-relay wice-warm-lan wice-warm-easy
	nebula-lan nebula-easy nebula-hard nebula-onesym nebula-relay
	nebula-lan-punchy nebula-easy-punchy nebula-hard-punchy
	nebula-lan-relayon nebula-easy-relayon nebula-hard-relayon nebula-onesym-relayon nebula-relay-relayon
	nebula-easy-relayon-punchy nebula-hard-relayon-punchy"

# --- topologies -------------------------------------------------------------

# cb_topology KIND WITH-WG: hosts a and b (and their routers) for KIND:
#   lan     a and b on one LAN (plus "lh" on it, for Nebula)
#   easy    a behind r1, b behind r2, both easy NATs
#   hard    both "hard" (no input firewall)
#   onesym  r1 symmetric, r2 easy
#   relay   both symmetric
# With WITH-WG=1 each host gets wireguard-go (wl_host); the internet's
# server host "srv" is created for every KIND but lan (its services are
# started by the caller).
cb_topology() {
	local kind=$1 wg=$2 t1 t2
	if [ "$kind" = lan ]; then
		lab_lan lan
		cb__host a lan 1 "$wg"
		cb__host b lan 2 "$wg"
		lab_attach lh lan
		lab__set cb.routers ""
		return
	fi
	case $kind in
	easy) t1=easy t2=easy ;;
	hard) t1=hard t2=hard ;;
	onesym) t1=symmetric t2=easy ;;
	relay) t1=symmetric t2=symmetric ;;
	*) lab__die "cb_topology: unknown kind '$kind'" ;;
	esac
	if [ "$wg" = 1 ]; then
		wl_setup_internet
		lab__set cb.sigserver signal-server
	else
		lab_internet
		lab_attach srv inet
	fi
	lab_nat r1 "$t1"
	lab_nat r2 "$t2"
	cb__host a r1 1 "$wg"
	cb__host b r2 2 "$wg"
	lab__set cb.routers "r1 r2"
}

cb__host() {
	if [ "$4" = 1 ]; then
		wl_host "$1" "$2" "$3"
	else
		lab_attach "$1" "$2"
	fi
}

# cb_reset: what every run starts from: no NAT mappings, no connections.
cb_reset() {
	# shellcheck disable=SC2046 # one router per word
	bench_flush_conntrack $(lab__get cb.routers) a b
}

# cb_repair: WireGuard peers of a and b removed and added back (no
# endpoint, no session), as a daemon would find them on a fresh boot.
cb_repair() {
	local ia ib
	ia=$(lab__get wl.a.wg)
	ib=$(lab__get wl.b.wg)
	wg set "$(lab_wg_ifname "$ia")" peer "$(lab_wg_pub "$ib")" remove 2>/dev/null
	wg set "$(lab_wg_ifname "$ib")" peer "$(lab_wg_pub "$ia")" remove 2>/dev/null
	wl_pair a b
}

# --- measuring --------------------------------------------------------------

# cb_ping_from_start T0-US NS ADDR: ping until the first reply or until
# BENCH_TIMEOUT seconds after T0; print the milliseconds since T0.  A ping
# that cannot start yet (no route: Nebula's device is not up) is retried.
cb_ping_from_start() {
	local t0=$1 ns=$2 addr=$3 deadline left now
	deadline=$((t0 + BENCH_TIMEOUT * 1000000))
	while :; do
		now=$(bench_now_us)
		left=$(((deadline - now) / 1000000))
		[ "$left" -ge 1 ] || return 1
		if lab_exec "$ns" ping -n -q -c 1 -i 0.01 -w "$left" "$addr" >/dev/null 2>&1; then
			echo $((($(bench_now_us) - t0) / 1000))
			return 0
		fi
		sleep 0.01
	done
}

# cb_record NAME TOOL TOPOLOGY LOAD-BEFORE: summarize raw/connect.NAME
# (one line per run: "ms" or "fail", then the path) into a table row and
# results.tsv.  A failed run counts as the timeout in the median, p95 and
# max; a figure at the timeout is written "> MS".
cb_record() {
	local name=$1 tool=$2 topo=$3 load0=$4 raw stats ok total path med p95 max cutoff connected
	raw=$BENCH_OUT/raw/connect.$name
	cutoff=$((BENCH_TIMEOUT * 1000))
	total=$(wc -l <"$raw")
	ok=$(grep -vc '^fail' "$raw")
	stats=$(awk -v t="$cutoff" '{ print ($1 == "fail" ? t : $1) }' "$raw" | bench_stats)
	read -r med p95 max <<<"$stats"
	med=$(cb__cut "$med" "$cutoff")
	p95=$(cb__cut "$p95" "$cutoff")
	max=$(cb__cut "$max" "$cutoff")
	connected="$ok/$total"
	[ "$ok" = "$total" ] || connected="$connected ($((total - ok)) not within ${BENCH_TIMEOUT} s)"
	path=$(awk '$1 != "fail" && NF > 1 { $1 = ""; print substr($0, 2) }' "$raw" | sort | uniq -c | sort -rn |
		awk '{ c = $1; $1 = ""; printf "%s%s (%d)", (NR > 1 ? ", " : ""), substr($0, 2), c }')
	printf '%-22s median %7s ms  p95 %7s ms  max %7s ms  connected %s  path: %s  load %s-%s\n' \
		"$name" "$med" "$p95" "$max" "$connected" "${path:--}" "$load0" "$(bench_load)"
	bench_result "connect.$name.median" "$med"
	bench_result "connect.$name.p95" "$p95"
	bench_result "connect.$name.max" "$max"
	bench_result "connect.$name.ok" "$ok/$total"
	bench_row connect "$tool" "$topo" "$med" "$p95" "$max" "$connected" "${path:--}" "$load0-$(bench_load)"
}

# cb__cut MS CUTOFF-MS: MS, or "> CUTOFF-MS" when it is a run that timed
# out (a reply after the cutoff is not waited for, so none is counted).
cb__cut() {
	if [ "$1" = - ] || [ "$1" -lt "$2" ]; then
		echo "$1"
	else
		echo "> $2"
	fi
}

# --- wice -------------------------------------------------------------------

cb__wice_conf() {
	if [ "$1" = lan ]; then
		echo ""
	else
		wl_conf_servers udp
	fi
}

# cb__wice_servers RUN: restart the signal server for a run, so that no
# message of the run before waits in a mailbox; coturn runs throughout
# (the daemons release their allocations when they stop).
cb__wice_servers() {
	local run=$1 ip prev
	[ "$(lab__get cb.kind)" != lan ] || return 0
	ip=$(lab_ip srv)
	prev=$(lab__get cb.sigserver) && lab_stop "$prev"
	lab_bg srv "signal-server-$run" "$WICE" signal-server --listen "$ip:$WL_SRV_PORT"
	lab__set cb.sigserver "signal-server-$run"
	lab_wait_for 10 lab_listening srv tcp "$WL_SRV_PORT" || lab_fail "signal server did not start"
}

# cb__wice_start NAME RUN: start NAME's daemon (no waiting).
cb__wice_start() {
	lab_bg "$1" "wice-$1-$2" "$WICE" daemon -f ${CB_VERBOSE:--v} -c "$LAB_DIR/$1.conf" -s "$LAB_DIR/$1-$2.sock"
}

cb__wice_path() {
	lab_exec a "$WICE" show --json -s "$LAB_DIR/a-$1.sock" 2>/dev/null | jq -r '.interfaces[0].peers[0] |
		"\(.selected_pair.local.type // "none")-\(.selected_pair.remote.type // "none") \(.proxy // "none")"'
}

cb_wice() {
	local kind=$1 name=$2 run t0 ms load0
	lab__set cb.kind "$kind"
	cb_topology "$kind" 1
	cb__wice_conf "$kind" >"$LAB_DIR/a.conf"
	cp "$LAB_DIR/a.conf" "$LAB_DIR/b.conf"
	: >"$BENCH_OUT/raw/connect.$name"
	load0=$(bench_load)
	for run in $(seq 1 "$BENCH_RUNS"); do
		cb_repair
		cb_reset
		cb__wice_servers "$run"
		t0=$(bench_now_us)
		cb__wice_start a "$run"
		cb__wice_start b "$run"
		if ms=$(cb_ping_from_start "$t0" a 10.99.0.2); then
			echo "$ms $(cb__wice_path "$run")" >>"$BENCH_OUT/raw/connect.$name"
			if [ -n "${CB_KEEP_LOGS:-}" ]; then
				cp "$(lab_log "wice-a-$run")" "$BENCH_OUT/raw/connect.$name.$run.a.log"
				cp "$(lab_log "wice-b-$run")" "$BENCH_OUT/raw/connect.$name.$run.b.log"
			fi
		else
			echo "fail $(cb__wice_path "$run")" >>"$BENCH_OUT/raw/connect.$name"
			cp "$(lab_log "wice-a-$run")" "$BENCH_OUT/raw/connect.$name.fail$run.a.log"
			cp "$(lab_log "wice-b-$run")" "$BENCH_OUT/raw/connect.$name.fail$run.b.log"
		fi
		kill -TERM "$(lab_pid "wice-a-$run")" "$(lab_pid "wice-b-$run")" 2>/dev/null
		lab_stop "wice-a-$run"
		lab_stop "wice-b-$run"
	done
	cb_record "$name" wice "$kind" "$load0"
}

# cb_wice_warm KIND NAME: daemons run; each run adds the peers on both
# sides with `wg set` and pings; then removes them and waits until both
# daemons forgot the peer.
cb_wice_warm() {
	local kind=$1 name=$2 run t0 ms load0 ia ib
	lab__set cb.kind "$kind"
	cb_topology "$kind" 1
	cb__wice_conf "$kind" >"$LAB_DIR/a.conf"
	cp "$LAB_DIR/a.conf" "$LAB_DIR/b.conf"
	cb__wice_servers 0
	cb__wice_start a 0
	cb__wice_start b 0
	lab_wait_for 10 test -S "$LAB_DIR/a-0.sock" || lab_fail "daemon a did not start"
	lab_wait_for 10 test -S "$LAB_DIR/b-0.sock" || lab_fail "daemon b did not start"
	ia=$(lab__get wl.a.wg)
	ib=$(lab__get wl.b.wg)
	: >"$BENCH_OUT/raw/connect.$name"
	load0=$(bench_load)
	for run in $(seq 1 "$BENCH_RUNS"); do
		cb_reset
		# 1-2 s: a fixed pause put every `wg set` at the same point of
		# the daemons' device-read cycle (it started at the last read,
		# which forgot the peer), so that the runs measured one
		# moment of it instead of a random one, as a user's would be.
		sleep "1.$(printf '%03d' $((RANDOM % 1000)))"
		t0=$(bench_now_us)
		lab_wg_peer "$ia" "$ib"
		lab_wg_peer "$ib" "$ia"
		if ms=$(cb_ping_from_start "$t0" a 10.99.0.2); then
			echo "$ms $(cb__wice_path 0)" >>"$BENCH_OUT/raw/connect.$name"
		else
			echo "fail $(cb__wice_path 0)" >>"$BENCH_OUT/raw/connect.$name"
		fi
		wg set "$(lab_wg_ifname "$ia")" peer "$(lab_wg_pub "$ib")" remove
		wg set "$(lab_wg_ifname "$ib")" peer "$(lab_wg_pub "$ia")" remove
		lab_wait_for 10 cb__no_peers 0 || echo "# $name: a daemon still lists the removed peer" >&2
	done
	cp "$(lab_log wice-a-0)" "$BENCH_OUT/raw/connect.$name.a.log"
	cp "$(lab_log wice-b-0)" "$BENCH_OUT/raw/connect.$name.b.log"
	cb_record "$name" "wice (warm)" "$kind" "$load0"
}

cb__no_peers() {
	local h n
	for h in a b; do
		n=$(lab_exec "$h" "$WICE" show --json -s "$LAB_DIR/$h-$1.sock" 2>/dev/null |
			jq '.interfaces[0].peers | length') || return 1
		[ "$n" = 0 ] || return 1
	done
}

# --- plain WireGuard --------------------------------------------------------

cb_wg_lan() {
	local name=wg-lan run t0 ms load0 ia ib
	lab__set cb.kind lan
	cb_topology lan 1
	ia=$(lab__get wl.a.wg)
	ib=$(lab__get wl.b.wg)
	: >"$BENCH_OUT/raw/connect.$name"
	load0=$(bench_load)
	for run in $(seq 1 "$BENCH_RUNS"); do
		wg set "$(lab_wg_ifname "$ia")" peer "$(lab_wg_pub "$ib")" remove
		wg set "$(lab_wg_ifname "$ib")" peer "$(lab_wg_pub "$ia")" remove
		cb_reset
		t0=$(bench_now_us)
		lab_wg_peer "$ia" "$ib" endpoint "$(lab_ip b):51820"
		lab_wg_peer "$ib" "$ia" endpoint "$(lab_ip a):51820"
		if ms=$(cb_ping_from_start "$t0" a 10.99.0.2); then
			echo "$ms static" >>"$BENCH_OUT/raw/connect.$name"
		else
			echo "fail static" >>"$BENCH_OUT/raw/connect.$name"
		fi
	done
	cb_record "$name" "WireGuard (static endpoints)" lan "$load0"
}

# --- Nebula -----------------------------------------------------------------

# cb_nebula KIND RELAY NAME [PUNCHY-DELAY]: Nebula in KIND's topology;
# RELAY=1: the lighthouse relays; PUNCHY-DELAY: punchy.delay instead of
# Nebula's default (1s).
cb_nebula() {
	local kind=$1 relay=$2 name=$3 run t0 ms load0 lhns lh prev target label
	NB_PUNCHY_DELAY=${4:-}
	lab__set cb.kind "$kind"
	cb_topology "$kind" 0
	lhns=srv
	[ "$kind" != lan ] || lhns=lh
	lh=$(lab_ip "$lhns")
	nb_pki
	nb_cert a 1
	nb_cert b 2
	target=$(nb_ip b)
	: >"$BENCH_OUT/raw/connect.$name"
	load0=$(bench_load)
	for run in $(seq 1 "$BENCH_RUNS"); do
		cb_reset
		prev=$(lab__get cb.lh) && lab_stop "$prev"
		nb_lighthouse "$lhns" "$run" "$relay"
		lab__set cb.lh "nebula-lh-$run"
		t0=$(bench_now_us)
		nb_start a a "$run" "$lh" "$relay"
		nb_start b b "$run" "$lh" "$relay"
		if ms=$(cb_ping_from_start "$t0" a "$target"); then
			echo "$ms $(cb__nebula_path "$run")" >>"$BENCH_OUT/raw/connect.$name"
		else
			echo "fail" >>"$BENCH_OUT/raw/connect.$name"
			cp "$(lab_log "nebula-a-$run")" "$BENCH_OUT/raw/connect.$name.fail$run.a.log"
			cp "$(lab_log "nebula-b-$run")" "$BENCH_OUT/raw/connect.$name.fail$run.b.log"
		fi
		kill -TERM "$(lab_pid "nebula-a-$run")" "$(lab_pid "nebula-b-$run")" 2>/dev/null
		lab_stop "nebula-a-$run"
		lab_stop "nebula-b-$run"
	done
	label=Nebula
	[ "$relay" = 1 ] && label="$label (relay on)"
	[ -n "$NB_PUNCHY_DELAY" ] && label="$label (punchy.delay $NB_PUNCHY_DELAY)"
	cb_record "$name" "$label" "$kind" "$load0"
}

# cb__nebula_path RUN: "direct" or "relay": how a's tunnel to b was made.
# Nebula logs the handshake that completes it with the remote's address,
# which is "<nil>" when the handshake came through a relay.
cb__nebula_path() {
	local line
	line=$(grep 'Handshake message received' "$(lab_log "nebula-a-$1")" | grep 'certName=b ' | tail -n 1)
	case $line in
	'') echo "?" ;;
	*'udpAddr="<nil>"'*) echo relay ;;
	*) echo direct ;;
	esac
}

# --- main -------------------------------------------------------------------

cb_run() {
	case $1 in
	wg-lan) cb_wg_lan ;;
	wice-lan) cb_wice lan "$1" ;;
	wice-easy) cb_wice easy "$1" ;;
	wice-hard) cb_wice hard "$1" ;;
	wice-onesym) cb_wice onesym "$1" ;;
	wice-relay) cb_wice relay "$1" ;;
	wice-warm-lan) cb_wice_warm lan "$1" ;;
	wice-warm-easy) cb_wice_warm easy "$1" ;;
	nebula-*)
		local k=${1#nebula-} relay=0 delay=
		case $k in *-punchy) k=${k%-punchy} delay=10ms ;; esac
		case $k in *-relayon) k=${k%-relayon} relay=1 ;; esac
		case $k in lan | easy | hard | onesym | relay) ;; *) lab__die "connect.sh: unknown scenario '$1'" ;; esac
		cb_nebula "$k" "$relay" "$1" "$delay" ;;
	*) lab__die "connect.sh: unknown scenario '$1'" ;;
	esac
}

connect_main() {
	local s t0
	bench_require
	bench_init
	echo "# connect time: $BENCH_RUNS runs per scenario, timeout ${BENCH_TIMEOUT}s; figures in $BENCH_OUT"
	t0=$(date +%s)
	bench_result connect.started "$(date -u '+%Y-%m-%d %H:%M UTC')"
	bench_result connect.load0 "$(bench_load)"
	# shellcheck disable=SC2086 # one scenario per word
	[ $# -gt 0 ] || set -- $CONNECT_ALL
	for s in "$@"; do
		(
			set -e
			lab_init
			set +e
			cb_run "$s"
		) || echo "# $s: the scenario broke (status $?)" >&2
	done
	bench_result connect.load1 "$(bench_load)"
	bench_result connect.minutes $((($(date +%s) - t0 + 30) / 60))
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	connect_main "$@"
fi
