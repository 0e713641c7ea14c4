# shellcheck shell=bash
# server-lab.sh: `wice signal-server` in a namespace lab (tests/lab/lab.sh)
# for the tests of its limits: host srv runs the server, every other host
# is a client with an address of its own on one LAN.
#
#   . "$top_srcdir/tests/signaling/server-lab.sh"
#   sigsrv_lab a b
#   sigsrv_start --max-conns-per-addr 8
#   [ "$(sigsrv_status a "$URL/v1/challenge")" = 200 ]

: "${top_srcdir:=.}" "${top_builddir:=.}"
# shellcheck source=../lab/lab.sh
. "$top_srcdir/tests/lab/lab.sh"

lab_skip_unless_root
lab_require ip ss curl
WICE=${WICE:-$top_builddir/wice}
SIGCLIENT=$top_builddir/tests/signaling/sigclient
for f in "$WICE" "$SIGCLIENT"; do
	[ -x "$f" ] || lab_fail "$f not built"
done
PORT=8080

# sigsrv_lab HOST...: a LAN with the server's host srv and client HOSTs;
# sets SRV (the server's address) and URL.
sigsrv_lab() {
	local h
	lab_init
	lab_lan lan
	lab_attach srv lan
	for h in "$@"; do
		lab_attach "$h" lan
	done
	SRV=$(lab_ip srv)
	URL=http://$SRV:$PORT
}

# sigsrv_start ARGS...: the server with ARGS (every refusal in its log).
sigsrv_start() {
	lab_bg srv server env G_MESSAGES_DEBUG=wice-server "$WICE" signal-server \
		--listen "$SRV:$PORT" "$@"
	lab_wait_for 5 lab_listening srv tcp "$PORT" || lab_fail "the server does not listen"
}

# sigsrv_status HOST CURL-ARGS...: curl from HOST; prints the HTTP status
# (000: no answer), the body goes to $LAB_DIR/body.
sigsrv_status() {
	local h=$1
	shift
	lab_exec "$h" curl -s -m 5 -o "$LAB_DIR/body" -w '%{http_code}' "$@" || true
}

# sigsrv_cpu: clock ticks of CPU time the server has used.
sigsrv_cpu() {
	local stat
	stat=$(cat "/proc/$(lab_pid server)/stat")
	# shellcheck disable=SC2086 # the fields after the command name
	set -- ${stat##*) }
	echo $((${12} + ${13}))
}

# sigsrv_now_ms: the wall clock in milliseconds.
sigsrv_now_ms() {
	echo $((${EPOCHREALTIME/[.,]/} / 1000))
}
