# shellcheck shell=bash
# wice-lab.sh: wice on top of lab.sh, for the NAT scenarios and the demo.
#
#   wl_setup_internet            internet with a server host "srv" running
#                                `wice signal-server` (HTTP 8080) and coturn
#                                (STUN/TURN 3478, REST secret "labsecret")
#   wl_host NAME SEGMENT N       host on SEGMENT with wireguard-go "wN" and
#                                tunnel address 10.99.0.N/24
#   wl_pair A B                  make the two hosts' WireGuard peers of each
#                                other (keys and allowed IPs, NO endpoint)
#   wl_daemon NAME CONF-TEXT     start `wice daemon -f -v` on host NAME
#   wl_daemons CONF-TEXT NAME... start the daemons of several hosts at once
#   wl_show NAME                 `wice show --json` of host NAME's daemon
#   wl_wait_ping A B SECS        wait until A pings B through the tunnel
#   wl_pair_types NAME           "LOCAL-TYPE REMOTE-TYPE PROXY" of the peer
#   wl_wice NAME CMD [ARG...]    `wice CMD -s SOCKET ARG...` against NAME's daemon
#   wl_peer NAME OTHER           NAME's daemon's JSON for its peer OTHER
#   wl_monitor NAME LOG [ARG...] `wice monitor ARG...` of NAME's daemon in the
#                                background (output in lab_log LOG), once the
#                                daemon counts it
#   wl_testbed NAT1 NAT2 PATH    one run of a user's test bed, in a lab of its
#                                own (tests/lab/nat-hard-*.test)
# shellcheck source=tests/lab/lab.sh
. "${top_srcdir:-.}/tests/lab/lab.sh"

# Exported: tests wait with `bash -c "$(declare -f); wl_show ..."`.
WICE=${WICE:-${top_builddir:-.}/wice}
export WICE
WL_SRV_PORT=8080
WL_TURN_SECRET=labsecret
WL_TURN_USER=u
WL_TURN_PASSWORD=p

# wl_require: skip unless root and every tool the scenarios need is here.
wl_require() {
	lab_skip_unless_root
	lab_require wireguard-go wg nft jq socat turnserver ping
	[ -x "$WICE" ] || lab_fail "$WICE is not built"
}

# wl_setup_internet: the internet and its server host "srv" with the
# signal server and coturn. Knobs (environment):
#   WL_TURN_AUTH=rest|lt   coturn's credentials: the REST API's shared
#                          secret (default; wice derives a user and password
#                          from it) or long-term credentials with a static
#                          user (--lt-cred-mech --user), as a user's test bed
#                          would have them
#   WL_COTURN_LATE=1       coturn is not started here: the test starts it
#                          with wl_start_coturn, e.g. just before the daemons
#   WL_COTURN_VERBOSE=1    coturn logs every request (-V)
#   WL_COTURN_PLAIN=1      no --allowed-peer-ip: only what a user would write
#   WL_COTURN_ARGS="..."   more turnserver options (words)
#   WL_SIGSRV_ARGS="..."   more signal-server options (words)
#   WL_SRV_EGRESS=drop|none|private-blocked   what becomes of srv's packets
#                          to an address off the internet's /24 (such as a
#                          peer's private host candidate): the internet's
#                          gateway drops them silently (default); srv has no
#                          default route, as in a test bed (sendto fails
#                          with ENETUNREACH); or srv's own firewall refuses
#                          private destinations, as on a TURN server hardened
#                          against relaying into private networks (EPERM).
#                          coturn 4.6.1 closes an allocation whose relayed
#                          send fails; ICMP errors that come back did not
#                          (a gateway answering "net unreachable" left the
#                          allocations alone: coturn is built without
#                          TURN_IP_RECVERR unless asked for it).
wl_setup_internet() {
	lab_internet
	lab_attach srv inet
	case ${WL_SRV_EGRESS:-drop} in
	drop) ;;
	none) lab__run lab_exec srv ip route del default ;;
	private-blocked)
		lab__run lab_exec srv nft -f - <<-EOF
			table ip lab {
				chain output {
					type filter hook output priority filter; policy accept;
					ip daddr { 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 } drop
				}
			}
		EOF
		;;
	*) lab_fail "WL_SRV_EGRESS: unknown '$WL_SRV_EGRESS' (drop, none, private-blocked)" ;;
	esac
	# shellcheck disable=SC2086 # words by intent
	lab_bg srv signal-server "$WICE" signal-server --listen "$(lab_ip srv):$WL_SRV_PORT" ${WL_SIGSRV_ARGS:-}
	[ "${WL_COTURN_LATE:-0}" = 1 ] || wl_start_coturn
	lab_wait_for 10 lab_listening srv tcp "$WL_SRV_PORT" || lab_fail "signal server did not start"
}

# wl_start_signal_server HOST: one more signal server, on HOST (lab
# process "signal-server-HOST"); returns once it listens.
wl_start_signal_server() {
	lab_bg "$1" "signal-server-$1" "$WICE" signal-server --listen "$(lab_ip "$1"):$WL_SRV_PORT"
	lab_wait_for 10 lab_listening "$1" tcp "$WL_SRV_PORT" || lab_fail "signal server on $1 did not start"
}

# wl_start_coturn [HOST]: start coturn on HOST, default srv (see
# wl_setup_internet; lab process "coturn", or "coturn-HOST" on another
# host); returns once it listens.
wl_start_coturn() {
	local host=${1:-srv} name=coturn ip auth extra=()
	[ "$host" = srv ] || name=coturn-$host
	ip=$(lab_ip "$host")
	case ${WL_TURN_AUTH:-rest} in
	rest) auth=(--use-auth-secret --static-auth-secret="$WL_TURN_SECRET") ;;
	lt) auth=(--lt-cred-mech --user="$WL_TURN_USER:$WL_TURN_PASSWORD") ;;
	*) lab_fail "WL_TURN_AUTH: unknown '$WL_TURN_AUTH' (rest, lt)" ;;
	esac
	[ "${WL_COTURN_VERBOSE:-0}" != 1 ] || extra+=(-V)
	[ "${WL_COTURN_PLAIN:-0}" = 1 ] || extra+=(--allowed-peer-ip=198.18.0.0-198.18.0.255)
	# shellcheck disable=SC2206 # words by intent
	extra+=(${WL_COTURN_ARGS:-})
	lab_bg "$host" "$name" turnserver -n --listening-ip="$ip" --relay-ip="$ip" --listening-port=3478 \
		--min-port=49152 --max-port=65535 --realm=wice.lab "${auth[@]}" \
		--no-tls --no-dtls --no-cli --log-file=stdout --simple-log "${extra[@]}"
	lab_wait_for 10 lab_listening "$host" udp 3478 || lab_fail "coturn on $host did not start"
}

# wl_conf_servers [TURN-TRANSPORT]: a wice.conf using the internet's servers
# (credentials as WL_TURN_AUTH says).
wl_conf_servers() {
	local ip transport=${1:-udp}
	ip=$(lab_ip srv)
	cat <<-EOF
		[signaling]
		urls = http://$ip:$WL_SRV_PORT
		[ice]
		urls = stun:$ip:3478, turn:$ip:3478?transport=$transport
	EOF
	if [ "${WL_TURN_AUTH:-rest}" = lt ]; then
		printf 'username = %s\npassword = %s\n' "$WL_TURN_USER" "$WL_TURN_PASSWORD"
	else
		printf 'turn-secret = %s\n' "$WL_TURN_SECRET"
	fi
}

wl_host() {
	local name=$1 seg=$2 n=$3
	lab_attach "$name" "$seg"
	lab_wg "$name" "w$n" "10.99.0.$n/24" 51820
	lab__set "wl.$name.wg" "w$n"
	lab__set "wl.$name.tunnel" "10.99.0.$n"
}

wl_pair() {
	local a b
	a=$(lab__get "wl.$1.wg")
	b=$(lab__get "wl.$2.wg")
	lab_wg_peer "$a" "$b"
	lab_wg_peer "$b" "$a"
}

wl_daemon() {
	wl__daemon_start "$1" "$2"
	lab_wait_for 10 test -S "$LAB_DIR/$1.sock" || lab_fail "daemon on $1 did not start"
}

# wl_daemons CONF-TEXT NAME...: start the daemons of every NAME at once, as
# hosts that boot together would, then wait until each one listens.
wl_daemons() {
	local conf=$1 name
	shift
	for name in "$@"; do
		wl__daemon_start "$name" "$conf"
	done
	for name in "$@"; do
		lab_wait_for 10 test -S "$LAB_DIR/$name.sock" || lab_fail "daemon on $name did not start"
	done
}

wl__daemon_start() {
	local name=$1 conf=$LAB_DIR/$1.conf
	(umask 077 && printf '%s\n' "$2" >"$conf")
	lab__set "wl.$name.started_us" "$(lab__now_us)"
	lab_bg "$name" "wice-$name" "$WICE" daemon -f ${WL_DAEMON_FLAGS:--v} -c "$conf" -s "$LAB_DIR/$name.sock"
}

wl_show() {
	lab_exec "$1" "$WICE" show --json -s "$LAB_DIR/$1.sock"
}

# wl_wait_ping_within A B MS: A pings B within MS milliseconds of A's
# daemon start (a loose bound: WireGuard's own retry after a lost first
# handshake is 5 s, which a regression of the kick would fall back to).
wl_wait_ping_within() {
	local out ms
	out=$(wl_wait_ping "$1" "$2" 20) || lab_fail "no ping $1 -> $2 through the tunnel"
	echo "$out"
	ms=${out##* after }
	ms=${ms% ms}
	[ "$ms" -lt "$3" ] || lab_fail "first ping $1 -> $2 after $ms ms, expected under $3 ms"
}

# wl_wait_ping A B SECS: ping B's tunnel address from A until it answers;
# prints the time since A's daemon started.
wl_wait_ping() {
	local target start
	target=$(lab__get "wl.$2.tunnel")
	# One ping every 20 ms until the first reply: the time is measured to
	# the packet, not to a 1 s ping timeout.
	lab_exec "$1" ping -n -q -c 1 -i 0.02 -w "$3" "$target" >/dev/null 2>&1 || return 1
	start=$(lab__get "wl.$1.started_us")
	echo "first ping $1 -> $2 after $((($(lab__now_us) - start) / 1000)) ms"
}

wl_pair_types() {
	wl_show "$1" | jq -r '.interfaces[0].peers[0] |
		"\(.selected_pair.local.type // "none") \(.selected_pair.remote.type // "none") \(.proxy // "none")"'
}

# wl_expect_path NAME PATTERN: the peer's "LOCAL REMOTE PROXY" matches the
# extended regular expression PATTERN, and WireGuard agrees: its endpoint
# for the peer is the remote candidate (nft) or a loopback socket (user).
wl_expect_path() {
	local got
	got=$(wl_pair_types "$1")
	echo "$1: selected pair and proxy: $got"
	[[ $got =~ ^$2$ ]] || lab_fail "$1: expected pair /$2/, got '$got'"
	wl__expect_endpoint "$1"
}

wl__expect_endpoint() {
	local try
	# WireGuard is written on the interface's worker, a moment after the
	# pair is shown.
	for try in $(seq 20); do
		wl__endpoint_agrees "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	wl__endpoint_agrees "$1" || lab_fail "$1: WireGuard does not point where the selected pair says"
}

wl__endpoint_agrees() {
	local iface peer ifname key proxy addr port want ep
	iface=$(wl_show "$1" | jq -c '.interfaces[0]')
	peer=$(jq -c '.peers[0]' <<<"$iface")
	ifname=$(jq -r '.name' <<<"$iface")
	key=$(jq -r .public_key <<<"$peer")
	proxy=$(jq -r '.proxy // "none"' <<<"$peer")
	addr=$(jq -r '.selected_pair.remote.address' <<<"$peer")
	port=$(jq -r '.selected_pair.remote.port' <<<"$peer")
	ep=$(lab_exec "$1" wg show "$ifname" endpoints | awk -v k="$key" '$1 == k { print $2 }')
	case $proxy in
	nft)
		want=$addr:$port
		[[ $addr != *:* ]] || want="[$addr]:$port"
		[ "$ep" = "$want" ] || { echo "FAIL: $1: WireGuard's endpoint is '$ep', the selected pair's remote $want" >&2; return 1; }
		;;
	user)
		[[ $ep == 127.0.0.1:* || $ep == "[::1]:"* ]] || { echo "FAIL: $1: WireGuard's endpoint '$ep' is not the proxy" >&2; return 1; }
		;;
	esac
}

# wl_stop_daemon NAME: SIGTERM and wait.
wl_stop_daemon() {
	lab_stop "wice-$1"
}

# wl_wg_conf HOST [noendpoints]: `wg showconf` of lab_wg HOST (named after
# its host) with one peer per line, sorted (wireguard-go lists peers in no
# fixed order; the order of allowed IPs within a peer stays); with
# noendpoints, without the endpoints WireGuard learned from handshakes.
wl_wg_conf() {
	lab_exec "$1" wg showconf "$(lab_wg_ifname "$1")" |
		{ if [ "${2:-}" = noendpoints ]; then grep -v '^Endpoint'; else cat; fi; } |
		awk -v RS= '{ gsub(/\n/, " | "); print }' | sort
}

# wl_restart_daemon NAME CONF-TEXT: stop NAME's daemon and start it again
# with CONF-TEXT (the old log stays as wice-NAME.log.N).
wl_restart_daemon() {
	local n
	wl_stop_daemon "$1"
	n=$(lab__next "wl.$1.restarts" 1)
	mv "$(lab_log "wice-$1")" "$LAB_DIR/wice-$1.log.$n"
	rm -f "$LAB_DIR/state/pid.wice-$1"
	rm -f "$LAB_DIR/$1.sock"
	wl_daemon "$1" "$2"
}

# wl_wice NAME CMD [ARG...]: run a wice client command in host NAME's
# namespace against its daemon's control socket.
wl_wice() {
	local name=$1 cmd=$2
	shift 2
	lab_exec "$name" "$WICE" "$cmd" -s "$LAB_DIR/$name.sock" "$@"
}

# wl_peer NAME OTHER: the JSON object NAME's daemon shows for the peer that
# is host OTHER's WireGuard interface.
wl_peer() {
	local key
	key=$(lab_wg_pub "$(lab__get "wl.$2.wg")")
	wl_show "$1" | jq -e --arg k "$key" '[.interfaces[].peers[] | select(.public_key == $k)][0] // empty'
}

# wl_peer_field NAME OTHER FIELD: one field of wl_peer (jq -r).
wl_peer_field() {
	wl_peer "$1" "$2" | jq -r ".$3"
}

wl__monitors() {
	wl_show "$1" | jq -e ".control.monitors >= $2" >/dev/null
}

# wl_monitor NAME LOG [ARG...]: start `wice monitor` against NAME's daemon as
# lab process LOG; returns once the daemon has it as a monitor.
wl_monitor() {
	local name=$1 log=$2 before
	shift 2
	before=$(wl_show "$name" | jq .control.monitors)
	lab_bg "$name" "$log" "$WICE" monitor -s "$LAB_DIR/$name.sock" "$@"
	lab_wait_for 5 wl__monitors "$name" $((before + 1)) || lab_fail "monitor $log did not start"
}

# wl_testbed NAT1 NAT2 PATH-REGEX: one run of a test bed built the way a
# user would build one, in a lab of its own (start it in a subshell): hosts
# a and b behind routers of types NAT1 and NAT2 (lab_nat), coturn started
# WL_TESTBED_SETTLE seconds (default 0.5) before both daemons, which start
# together right after the network is built (unless WL_COTURN_LATE=0:
# coturn then runs from the start), and the other WL_* and LAB_* knobs as
# the caller sets them.  With WL_TESTBED_NEW_ADDR=1, a gets one more address
# right after its daemon started (what an IPv6 address done with duplicate
# address detection looks like to the daemon, ~1 s after boot).  Fails
# unless a pings b within WL_TESTBED_TIMEOUT
# seconds (default 15) and b pings a, the pair of a's daemon matches
# PATH-REGEX ("LOCAL REMOTE PROXY"), and neither daemon restarted ICE.
# Prints "first ping a -> b after N ms, path LOCAL REMOTE PROXY".
wl_testbed() {
	local want=$3 conf first got n restarts
	lab_init
	WL_COTURN_LATE=${WL_COTURN_LATE:-1}
	wl_setup_internet
	lab_nat r1 "$1"
	lab_nat r2 "$2"
	wl_host a r1 1
	wl_host b r2 2
	wl_pair a b
	if [ "$WL_COTURN_LATE" = 1 ]; then
		wl_start_coturn
		sleep "${WL_TESTBED_SETTLE:-0.5}"
	fi
	conf=$(wl_conf_servers udp)
	wl_daemons "$conf" a b
	if [ "${WL_TESTBED_NEW_ADDR:-0}" = 1 ]; then
		n=$(lab_ip a)
		lab__run lab_exec a ip addr add "${n%.*}.99/24" dev eth0
	fi
	first=$(wl_wait_ping a b "${WL_TESTBED_TIMEOUT:-15}") ||
		lab_fail "no ping a -> b within ${WL_TESTBED_TIMEOUT:-15} s"
	wl_wait_ping b a 5 >/dev/null || lab_fail "no ping b -> a"
	got=$(wl_pair_types a)
	[[ $got =~ ^$want$ ]] || lab_fail "a's pair and proxy '$got', expected /$want/"
	for n in a b; do
		restarts=$(wl_show "$n" | jq '.interfaces[0].peers[0].restarts')
		[ "$restarts" = 0 ] || lab_fail "$n restarted ICE $restarts times"
	done
	echo "$first, path $got"
}

# wl_testbed_variants: run the lines "NAME NAT1 NAT2 PATH-REGEX
# [VAR=VALUE...]" of stdin (commas in PATH-REGEX stand for spaces), each
# with wl_testbed in a lab of its own and with its VAR=VALUE knobs; fails
# after the last one if any failed (that lab's state and logs are
# printed).
wl_testbed_variants() {
	local name nat1 nat2 want knobs out err failed=
	err=$(mktemp)
	while read -r name nat1 nat2 want knobs; do
		case $name in "" | \#*) continue ;; esac
		# shellcheck disable=SC2086,SC2016 # knobs are words VAR=VALUE; $1.. are bash -c's
		if out=$(env $knobs bash -c '. "$1"; wl_testbed "$2" "$3" "$4"' - \
			"${top_srcdir:-.}/tests/lab/wice-lab.sh" "$nat1" "$nat2" "${want//,/ }" 2>"$err" </dev/null); then
			echo "# $name ($nat1 $nat2 $knobs): $out"
		else
			echo "# $name ($nat1 $nat2 $knobs): FAILED"
			cat "$err" >&2
			failed="$failed $name"
		fi
	done
	rm -f "$err"
	[ -z "$failed" ] || lab_fail "variants failed:$failed"
}

# --- meshes ------------------------------------------------------------------
#   wl_mesh_secret [NAME]        a new secret in $LAB_DIR/NAME.secret (mesh)
#   wl_mesh_conf HOST [SECRET]   the [mesh] section for HOST: its interface is
#                                "$LAB_PREFIX$HOST" (wireguard-go's sockets
#                                share one directory), state in the lab
#   wl_mesh_field HOST JQ        a jq filter over HOST's mesh JSON
#   wl_mesh_wait_full SECS HOST...  every HOST pings every other's derived
#                                IPv4 and IPv6 address; prints the time
wl_mesh_secret() {
	(umask 077 && "$WICE" mesh init >"$LAB_DIR/${1:-mesh}.secret") || lab_fail "wice mesh init failed"
}

wl_mesh_conf() {
	local host=$1 secret=${2:-mesh}
	echo "$LAB_PREFIX$host" >>"$LAB_DIR/wg-interfaces"
	cat <<-EOF
		[mesh]
		secret-file = $LAB_DIR/$secret.secret
		interface = $LAB_PREFIX$host
		state-dir = $LAB_DIR/state-$host
		hostname = $host
	EOF
}

wl_mesh_field() {
	wl_show "$1" | jq -r ".mesh[0] | $2"
}

# wl__mesh_pings A B: A reaches both of B's addresses through the mesh.
wl__mesh_pings() {
	local v4 v6
	v4=$(wl_mesh_field "$2" .address4 2>/dev/null) && v6=$(wl_mesh_field "$2" .address6 2>/dev/null) || return 1
	lab_exec "$1" ping -n -q -c 1 -W 0.5 "$v4" >/dev/null 2>&1 &&
		lab_exec "$1" ping -n -q -c 1 -W 0.5 "$v6" >/dev/null 2>&1
}

wl__mesh_full() {
	local a b
	for a in "$@"; do
		for b in "$@"; do
			[ "$a" = "$b" ] || wl__mesh_pings "$a" "$b" || return 1
		done
	done
}

wl_mesh_wait_full() {
	local secs=$1 start
	shift
	start=$(lab__get "wl.$1.started_us")
	lab_wait_for "$secs" wl__mesh_full "$@" || lab_fail "no full mesh of $* in $secs s"
	echo "full mesh of $# hosts after $((($(lab__now_us) - start) / 1000)) ms"
}

# wl_ping_loop_start A B NAME: ping B's tunnel address from A every 10 ms
# (as lab process NAME) until wl_ping_loop_stop.
wl_ping_loop_start() {
	lab_bg "$1" "$3" ping -n -D -i 0.01 "$(lab__get "wl.$2.tunnel")"
}

# wl_ping_loop_stop NAME: stop it and print "SENT LOST GAP-MS": the echo
# requests up to the last answered one, those of them never answered, and
# the longest time between two answers in ms (requests after the last
# answer are still on their way and not counted).
wl_ping_loop_stop() {
	lab_stop "$1"
	awk 'match($0, /icmp_seq=[0-9]+/) { seq = substr($0, RSTART + 9, RLENGTH - 9) + 0; got[seq] = 1; if (seq > max) max = seq
			t = substr($1, 2, length($1) - 2) + 0; if (last && t - last > gap) gap = t - last; last = t }
		END { lost = 0; for (s = 1; s <= max; s++) if (!(s in got)) lost++
			printf "%d %d %d\n", max, lost, gap * 1000 }' "$(lab_log "$1")"
}
