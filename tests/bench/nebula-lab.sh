# shellcheck shell=bash
# nebula-lab.sh: Nebula (Debian's `nebula`) in lab.sh namespaces, for the
# side-by-side benchmarks.  One certificate authority per lab; hosts get
# overlay addresses 10.98.0.N/24, the lighthouse 10.98.0.254.  Every node
# listens on UDP 4242 (Nebula's default), punchy is on (punch and respond)
# with Nebula's default delay (1s) unless NB_PUNCHY_DELAY sets punchy.delay
# (for hosts; the lighthouse does not punch).
#
#   nb_pki                       CA and the lighthouse's certificate
#   nb_cert NAME N               certificate for host NAME, 10.98.0.N
#   nb_lighthouse NS RUN RELAY   start the lighthouse ("nebula-lh-RUN") in
#                                NS; RELAY=1 makes it a relay too
#   nb_start NS NAME RUN LH-IP RELAY   start host NAME's nebula in NS
#                                ("nebula-NAME-RUN"); RELAY=1: use relays

NB_PORT=4242
NB_LH_IP=10.98.0.254

nb_dir() {
	echo "$LAB_DIR/nebula"
}

nb_pki() {
	local d
	d=$(nb_dir)
	mkdir -p "$d"
	lab__run nebula-cert ca -name "wice-bench" -duration 24h -out-crt "$d/ca.crt" -out-key "$d/ca.key"
	nb_cert lh 254
}

nb_cert() {
	local d
	d=$(nb_dir)
	lab__run nebula-cert sign -ca-crt "$d/ca.crt" -ca-key "$d/ca.key" -name "$1" -ip "10.98.0.$2/24" \
		-out-crt "$d/$1.crt" -out-key "$d/$1.key"
	lab__set "nb.$1.ip" "10.98.0.$2"
}

nb_ip() {
	lab__get "nb.$1.ip"
}

# nb__conf NAME AM-LIGHTHOUSE LH-PUBLIC-IP RELAY: a config file's text.
nb__conf() {
	local d name=$1 am_lh=$2 lh=$3 relay=$4
	d=$(nb_dir)
	cat <<-EOF
		pki:
		  ca: $d/ca.crt
		  cert: $d/$name.crt
		  key: $d/$name.key
		static_host_map:
		  "$NB_LH_IP": ["$lh:$NB_PORT"]
		lighthouse:
		  am_lighthouse: $am_lh
		  interval: 60
		  hosts: [$([ "$am_lh" = true ] || echo "\"$NB_LH_IP\"")]
		listen:
		  host: 0.0.0.0
		  port: $NB_PORT
		punchy:
		  punch: true
		  respond: true$([ -n "${NB_PUNCHY_DELAY:-}" ] && printf '\n  delay: %s' "$NB_PUNCHY_DELAY")
		relay:
		  am_relay: $([ "$am_lh" = true ] && [ "$relay" = 1 ] && echo true || echo false)
		  use_relays: $([ "$relay" = 1 ] && echo true || echo false)
		  relays: [$([ "$am_lh" != true ] && [ "$relay" = 1 ] && echo "\"$NB_LH_IP\"")]
		tun:
		  dev: nebula1
		  mtu: 1300
		logging:
		  level: info
		firewall:
		  outbound:
		    - port: any
		      proto: any
		      host: any
		  inbound:
		    - port: any
		      proto: any
		      host: any
	EOF
}

nb_lighthouse() {
	local ns=$1 run=$2 relay=$3 conf ip
	ip=$(lab_ip "$ns")
	conf=$(nb_dir)/lh.yml
	nb__conf lh true "$ip" "$relay" >"$conf"
	lab__set nb.lh.public "$ip"
	lab_bg "$ns" "nebula-lh-$run" nebula -config "$conf"
	lab_wait_for 10 lab_listening "$ns" udp "$NB_PORT" || lab__die "nebula lighthouse did not start"
}

nb_start() {
	local ns=$1 name=$2 run=$3 lh=$4 relay=$5 conf
	conf=$(nb_dir)/$name.yml
	[ -e "$conf" ] || nb__conf "$name" false "$lh" "$relay" >"$conf"
	lab_bg "$ns" "nebula-$name-$run" nebula -config "$conf"
}
