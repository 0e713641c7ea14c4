# shellcheck shell=bash
# etcd-lab.sh: an etcd cluster in a lab (Debian's etcd-server), for the
# tests of the etcd signaling backend.  Source after lab.sh.
#
#   etcd_cluster SEGMENT NAME...   one member per NAME, each a host on
#                                  SEGMENT, started together; returns once
#                                  the cluster has a leader
#   etcd_url [PREFIX]              etcd://IP:2379,IP:2379,.../PREFIX
#   etcd_serving ADDR              the member holding an established client
#                                  connection from ADDR (a host, or the WAN
#                                  address of its NAT router), or nothing
#   etcd_kill NAME                 SIGKILL a member and reap it
#   etcd_kill_all                  the same for every member (one that has
#                                  lost its quorum is slow to stop on TERM)
#   etcdctl_live HOST ARG...       etcdctl against the members running

ETCD_CLIENT_PORT=2379
ETCD_PEER_PORT=2380
ETCD_MEMBERS=()

etcd_require() {
	lab_require etcd etcdctl
}

etcd_cluster() {
	local seg=$1 name cluster=
	shift
	for name in "$@"; do
		lab_attach "$name" "$seg"
		cluster+=${cluster:+,}$name=http://$(lab_ip "$name"):$ETCD_PEER_PORT
	done
	for name in "$@"; do
		local ip
		ip=$(lab_ip "$name")
		lab_bg "$name" "etcd-$name" etcd --name "$name" --data-dir "$LAB_DIR/$name.etcd" \
			--listen-client-urls "http://$ip:$ETCD_CLIENT_PORT" \
			--advertise-client-urls "http://$ip:$ETCD_CLIENT_PORT" \
			--listen-peer-urls "http://$ip:$ETCD_PEER_PORT" \
			--initial-advertise-peer-urls "http://$ip:$ETCD_PEER_PORT" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token wice-lab --log-level warn
		ETCD_MEMBERS+=("$name")
	done
	lab_wait_for 30 etcd__healthy "$1" || lab_fail "the etcd cluster did not come up"
}

etcd__healthy() {
	lab_exec "$1" etcdctl --endpoints "$(etcd__endpoints)" endpoint health >/dev/null 2>&1
}

# etcd__endpoints: the client URLs of the members still running (etcdctl
# waits seconds for one that is gone).
etcd__endpoints() {
	local name list=
	for name in "${ETCD_MEMBERS[@]}"; do
		lab__alive "$(lab_pid "etcd-$name")" || continue
		list+=${list:+,}http://$(lab_ip "$name"):$ETCD_CLIENT_PORT
	done
	echo "$list"
}

# etcdctl_live HOST ARG...: etcdctl on HOST against the members running.
etcdctl_live() {
	local h=$1
	shift
	lab_exec "$h" etcdctl --endpoints "$(etcd__endpoints)" "$@"
}

etcd_url() {
	local name list=
	for name in "${ETCD_MEMBERS[@]}"; do
		list+=${list:+,}$(lab_ip "$name"):$ETCD_CLIENT_PORT
	done
	echo "etcd://$list/${1:-wice}"
}

etcd_serving() {
	local name
	for name in "${ETCD_MEMBERS[@]}"; do
		if lab__alive "$(lab_pid "etcd-$name")" &&
			[ -n "$(lab_exec "$name" ss -Htn state established "( sport = :$ETCD_CLIENT_PORT and dst $1 )")" ]; then
			echo "$name"
			return
		fi
	done
}

etcd_kill() {
	local pid
	pid=$(lab_pid "etcd-$1")
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

etcd_kill_all() {
	local name
	for name in "${ETCD_MEMBERS[@]}"; do
		etcd_kill "$name"
	done
}
