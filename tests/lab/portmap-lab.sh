# shellcheck shell=bash
# portmap-lab.sh: a NAT router that maps ports on request (miniupnpd:
# UPnP IGD, NAT-PMP and PCP), for tests/lab/port-mapping-*.test.
#
#   pm_scenario UPNP NATPMP WICE-SETTING   the whole scenario: both NATs
#                                symmetric, miniupnpd on a's router with
#                                UPnP and NAT-PMP/PCP on or off (yes/no),
#                                daemons with "[ice] port-mapping =
#                                WICE-SETTING" and a TURN server
#   pm_router ROUTER UPNP NATPMP [CONF-LINE...]  miniupnpd on a lab_nat router
#   pm_mappings ROUTER           the router's port forwards (DNAT rules made
#                                by miniupnpd), one per line
#
# miniupnpd refuses a WAN address it deems private or reserved, which the
# internet's 198.18.0.0/15 is, so the router gets a public-looking
# primary address (PM_PUBLIC) on its WAN link, which the other hosts on
# the internet reach on that link.  miniupnpd's nftables backend adds its
# rules to chains of "table inet filter" that must exist: forward
# "miniupnpd" (accepts), nat "prerouting_miniupnpd" (DNAT) and
# "postrouting_miniupnpd"; our forward chain lets everything else through
# to the lab's own firewall, which must then accept what was DNATed.
# shellcheck source=tests/lab/wice-lab.sh
. "${top_srcdir:-.}/tests/lab/wice-lab.sh"

PM_PUBLIC=100.1.0.1

pm_require() {
	wl_require
	lab_require miniupnpd
}

pm__public_address() {
	local r=$1 wan ns
	wan=$(lab_ip "$r")
	lab__run lab_exec "$r" ip -4 addr flush dev wan
	lab__run lab_exec "$r" ip addr add "$PM_PUBLIC/32" dev wan
	lab__run lab_exec "$r" ip addr add "$wan/24" dev wan
	lab__run lab_exec "$r" ip route add default via 198.18.0.1
	lab__set "pm.public.$r" "$PM_PUBLIC"
}

# pm_route_public NS IFNAME: NS (on the internet) reaches PM_PUBLIC on its link.
pm_route_public() {
	lab__run lab_exec "$1" ip route add "$PM_PUBLIC/32" dev "$2"
}

pm_router() {
	local r=$1 upnp=$2 natpmp=$3 conf
	shift 3
	pm__public_address "$r"
	lab__run lab_exec "$r" nft insert rule ip lab forward iifname "wan" ct status dnat accept
	lab__run lab_exec "$r" nft -f - <<-EOF
		table inet filter {
			chain forward {
				type filter hook forward priority filter; policy accept;
				jump miniupnpd
			}
			chain miniupnpd {
			}
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				jump prerouting_miniupnpd
			}
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				jump postrouting_miniupnpd
			}
			chain prerouting_miniupnpd {
			}
			chain postrouting_miniupnpd {
			}
		}
	EOF
	conf=$LAB_DIR/miniupnpd-$r.conf
	printf '%s\n' "ext_ifname=wan" "listening_ip=lan" "enable_upnp=$upnp" "enable_natpmp=$natpmp" \
		"secure_mode=yes" "lease_file=$LAB_DIR/miniupnpd-$r.leases" \
		"uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b" "allow 1024-65535 10.0.0.0/8 1024-65535" \
		"deny 0-65535 0.0.0.0/0 0-65535" "$@" >"$conf"
	lab_bg "$r" "miniupnpd-$r" miniupnpd -f "$conf" -d -P "$LAB_DIR/miniupnpd-$r.pid"
	if [ "$natpmp" = yes ]; then
		lab_wait_for 5 lab_listening "$r" udp 5351 || lab_fail "miniupnpd on $r does not listen for NAT-PMP/PCP"
	fi
	if [ "$upnp" = yes ]; then
		lab_wait_for 5 lab_listening "$r" udp 1900 || lab_fail "miniupnpd on $r does not listen for SSDP"
	fi
}

pm_mappings() {
	lab_exec "$1" nft list chain inet filter prerouting_miniupnpd | grep -w dnat || true
}

# pm__reached NAME WANT: NAME's peer is connected the way WANT says.
pm__reached() {
	[ "$(wl_peer_field "$1" "$2" reached 2>/dev/null)" = "$3" ]
}

# pm_scenario UPNP NATPMP SETTING [MINIUPNPD-CONF-LINE...]: a behind r1
# (symmetric, with miniupnpd), b behind r2 (symmetric), a TURN server;
# returns once a pings b.
pm_scenario() {
	local upnp=$1 natpmp=$2 setting=$3 conf
	shift 3
	lab_init
	wl_setup_internet
	lab_nat r1 symmetric
	lab_nat r2 symmetric
	pm_router r1 "$upnp" "$natpmp" "$@"
	pm_route_public r2 wan
	pm_route_public srv eth0
	wl_host a r1 1
	wl_host b r2 2
	wl_pair a b
	conf="$(wl_conf_servers udp)
port-mapping = $setting"
	wl_daemons "$conf" a b
	wl_wait_ping a b 30 || lab_fail "no ping a -> b through the tunnel"
}

# pm_expect_direct PROTOCOL: a's peer is reached directly through a
# mapping made with PROTOCOL: a shows it, b's selected pair goes to it,
# and pings go through.
pm_expect_direct() {
	local want=$1 mapping ext remote
	lab_wait_for 20 pm__reached a b direct || lab_fail "a's peer is not reached directly: $(wl_pair_types a)"
	lab_wait_for 5 pm__reached b a direct || lab_fail "b's peer is not reached directly: $(wl_pair_types b)"
	mapping=$(wl_peer a b | jq -c .port_mapping)
	echo "a: port mapping $mapping"
	grep -E "running, control socket|port mapping:|selected pair" "$(lab_log wice-a)" | sed 's/^/a: /'
	[ "$(jq -r .protocol <<<"$mapping")" = "$want" ] || lab_fail "a's mapping is not by $want: $mapping"
	ext=$(jq -r .external <<<"$mapping")
	[ "${ext%:*}" = "$PM_PUBLIC" ] || lab_fail "a's mapping is not on the router's public address: $ext"
	wl_wice a show | grep -F "port mapping: $want $ext -> " ||
		lab_fail "wice show on a does not name the mapping: $(wl_wice a show)"
	remote=$(wl_peer b a | jq -r '"\(.selected_pair.remote.address):\(.selected_pair.remote.port)"')
	[ "$remote" = "$ext" ] || lab_fail "b's selected pair goes to $remote, not to a's mapping $ext"
	wl_expect_path a "(host|prflx) prflx nft"
	wl_expect_path b "(host|prflx) srflx nft"
	wl_wait_ping a b 5 >/dev/null || lab_fail "no ping a -> b over the direct pair"
	wl_wait_ping b a 5 >/dev/null || lab_fail "no ping b -> a over the direct pair"
	[ -n "$(pm_mappings r1)" ] || lab_fail "r1 holds no mapping"
}

pm__no_mappings() {
	[ -z "$(pm_mappings "$1")" ]
}

# pm_expect_released: once a's daemon exits, r1 holds no mapping.
pm_expect_released() {
	lab_step "r1 maps: $(pm_mappings r1 | tr -s '\t ' ' ')"
	wl_stop_daemon a
	lab_wait_for 5 pm__no_mappings r1 || lab_fail "r1 still maps after a's daemon exited: $(pm_mappings r1)"
	lab_step "a's daemon exited; r1 holds no mapping"
}
