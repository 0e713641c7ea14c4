# shellcheck shell=bash
# diag-lab.sh: the lab of the diagnostics tests (wice ping, wice netcheck,
# the verdict of wice show), on top of wice-lab.sh.
#
#   diag_setup NAT-A NAT-B   internet with a second STUN responder (the
#                            signal server's, UDP 3479 on srv, beside
#                            coturn's 3478), hosts a and b behind routers
#                            r1 and r2 of those NAT types, their daemons,
#                            and a first ping through the tunnel
#   diag_conf                the configuration both use: two STUN servers
#                            (so that a mapping per destination shows) and
#                            coturn as TURN server
#   diag_netcheck NAME       `wice netcheck --json` on host NAME
#   diag_key NAME            the WireGuard public key of host NAME
#   diag_ifname NAME         the name of host NAME's WireGuard interface
# shellcheck source=tests/lab/wice-lab.sh
. "${top_srcdir:-.}/tests/lab/wice-lab.sh"

DIAG_STUN2_PORT=3479

diag_conf() {
	local ip
	ip=$(lab_ip srv)
	wl_conf_servers | sed "s|^urls = stun:|urls = stun:$ip:$DIAG_STUN2_PORT, stun:|"
}

diag_setup() {
	wl_require
	lab_init
	wl_setup_internet
	lab_bg srv stun2 "$WICE" signal-server --listen "$(lab_ip srv):8081" --stun-port "$DIAG_STUN2_PORT"
	lab_wait_for 10 lab_listening srv udp "$DIAG_STUN2_PORT" || lab_fail "second STUN responder did not start"
	lab_nat r1 "$1"
	lab_nat r2 "$2"
	wl_host a r1 1
	wl_host b r2 2
	wl_pair a b
	wl_daemons "$(diag_conf)" a b
	wl_wait_ping a b 30 || lab_fail "no ping a -> b through the tunnel"
}

diag_netcheck() {
	lab_exec "$1" "$WICE" netcheck --json -c "$LAB_DIR/$1.conf"
}

diag_key() {
	lab_wg_pub "$(lab__get "wl.$1.wg")"
}

diag_ifname() {
	lab_wg_ifname "$(lab__get "wl.$1.wg")"
}
