#!/bin/bash
# The main job: two hosts behind port-preserving NATs (home routers with
# the usual input firewall), each running wireguard-go configured with the
# other's key but no endpoint, a public server with `wice signal-server`
# and coturn, and a wice daemon on each host.  Shows `wice show` and pings
# across the tunnel.  Everything lives in network namespaces that are
# removed at the end.  Run as root from the build directory (`make demo`).
set -eu
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}
export top_srcdir top_builddir
. "$top_srcdir/tests/lab/wice-lab.sh"
wl_require
lab_init

lab_step "building the internet, two NAT routers and a host behind each"
wl_setup_internet
lab_nat r1 easy
lab_nat r2 easy
wl_host a r1 1
wl_host b r2 2
wl_pair a b
lab_step "WireGuard is configured, no endpoints:"
lab_exec a wg show "$(lab_wg_ifname w1)"
conf=$(wl_conf_servers)
lab_step "starting wice on both hosts (signaling and STUN/TURN at $(lab_ip srv))"
wl_daemon a "$conf"
wl_daemon b "$conf"
wl_wait_ping a b 30 || lab_fail "no ping through the tunnel"
lab_step "wice show on host a:"
lab_exec a "$WICE" show -s "$LAB_DIR/a.sock"
echo
lab_step "ping across the tunnel from a (10.99.0.1) to b (10.99.0.2):"
lab_exec a ping -c 3 -i 0.2 10.99.0.2
lab_step "demo done; tearing the lab down"
