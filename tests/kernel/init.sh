#!/bin/sh
# /init of the kernel-test VM (see mkinitramfs.sh): loads the modules,
# runs the WireGuard round trip, the interface watch check and the mesh
# link check against the kernel's WireGuard, then two wice daemons
# (daemon.sh, whose checks print "WICE-KERNEL-CHECK: NAME ok" lines),
# prints one "WICE-KERNEL-RESULT: PASS" or "WICE-KERNEL-RESULT: FAIL why"
# line for kernel.test on the console and powers the VM off.  Runs under
# busybox sh.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

# Bounds, generous because TCG is slow: the round trip and the daemons in
# seconds, each wgwatch event in tenths of a second.
ROUNDTRIP_TIMEOUT=200
WATCH_WAIT=100
DAEMON_TIMEOUT=180

power_off()
{
	sync
	poweroff -f
	echo o > /proc/sysrq-trigger
	# If both failed, exiting makes the kernel panic, and panic=-1 with
	# qemu's -no-reboot ends the VM too.
	sleep 5
	exit 1
}

fail()
{
	echo "WICE-KERNEL-RESULT: FAIL $*"
	power_off
}

# The kernel opens /dev/console before /init runs; the initramfs has no
# device nodes, so stdio is only usable once devtmpfs is mounted.
if ! mount -t devtmpfs devtmpfs /dev 2>/dev/null; then
	mount -t tmpfs -o mode=0755 tmpfs /dev
	mknod -m 600 /dev/console c 5 1
	mknod -m 666 /dev/null c 1 3
	mknod -m 666 /dev/zero c 1 5
	mknod -m 666 /dev/random c 1 8
	mknod -m 666 /dev/urandom c 1 9
fi
exec < /dev/console > /dev/console 2>&1
# What udev would add; scripts pass keys to wg through /dev/stdin.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

mount -t proc proc /proc || fail "cannot mount /proc"
mount -t sysfs sysfs /sys || fail "cannot mount /sys"
mount -t tmpfs -o mode=0755 tmpfs /run || fail "cannot mount /run"
mount -t tmpfs tmpfs /tmp || fail "cannot mount /tmp"
echo "WICE-KERNEL: kernel $(uname -r)"

ip link set lo up || fail "cannot bring up lo"

loaded=
while read -r module optional; do
	if insmod "/modules/$module"; then
		loaded="$loaded ${module%.ko}"
	elif [ -n "$optional" ]; then
		echo "WICE-KERNEL: skipped $module, a CPU-specific optional module"
	else
		fail "insmod $module"
	fi
done < /modules/order
echo "WICE-KERNEL: modules loaded:$loaded"

# roundtrip.sh prints "roundtrip: PASS" and exits 0 when all went well;
# demand both.  Its output goes to a file, not through tee: when timeout
# kills the script, a command it started would keep the pipe open and tee
# would wait for that command instead.
echo "WICE-KERNEL: round trip"
WG_MODE=kernel WGTOOL=/bin/wgtool WG=/bin/wg \
	timeout "$ROUNDTRIP_TIMEOUT" sh /roundtrip.sh > /tmp/roundtrip.out 2>&1
status=$?
cat /tmp/roundtrip.out
case $status in
0) ;;
124 | 143) fail "roundtrip.sh timed out after $ROUNDTRIP_TIMEOUT s" ;;
*) fail "roundtrip.sh exited with status $status" ;;
esac
grep -q "^roundtrip: PASS" /tmp/roundtrip.out ||
	fail "roundtrip.sh exited 0 but did not print 'roundtrip: PASS'"

# wait_for LINE PID: until wgwatch has printed LINE, for at most WATCH_WAIT
# tenths of a second, and only while wgwatch lives.
wait_for()
{
	i=0
	while ! grep -qx "$1" /tmp/watch.out; do
		# It may have printed LINE just before it died.
		kill -0 "$2" 2>/dev/null || { grep -qx "$1" /tmp/watch.out; return; }
		i=$((i + 1))
		[ "$i" -le "$WATCH_WAIT" ] || return 1
		sleep 0.1
	done
}

watch_failed()
{
	echo "WICE-KERNEL: wgwatch output:"
	cat /tmp/watch.out
	fail "$@"
}

# wgwatch prints "ready" once it listens and has reported what exists.
echo "WICE-KERNEL: watch"
: > /tmp/watch.out
/bin/wgwatch > /tmp/watch.out &
watch_pid=$!
wait_for ready "$watch_pid" || watch_failed "wgwatch did not print 'ready'"
ip link add wgk1 type wireguard || watch_failed "ip link add wgk1 type wireguard"
wait_for "added wgk1 kernel" "$watch_pid" || watch_failed "wgwatch did not report 'added wgk1 kernel'"
ip link del wgk1 || watch_failed "ip link del wgk1"
wait_for "removed wgk1" "$watch_pid" || watch_failed "wgwatch did not report 'removed wgk1'"
kill "$watch_pid"
wait "$watch_pid"
status=$?
cat /tmp/watch.out
[ "$status" -eq 0 ] || fail "wgwatch exited with status $status on SIGTERM"

# The mesh interface made by wice (tests/mesh/meshlink): with the module
# loaded it is a kernel WireGuard link (RTM_NEWLINK of kind "wireguard"),
# up, with its addresses and route, gone after SIGTERM; an existing one
# is adopted and kept, without what meshlink added.  /bin/ip by its path:
# busybox sh would run its own ip applet, which knows no "-d".
mesh_failed()
{
	echo "WICE-KERNEL: meshlink output:"
	cat /tmp/mesh.out
	fail "mesh-link: $*"
}

echo "WICE-KERNEL: mesh link"
# Its input is a fifo that this shell holds open (fd 3), so that only
# SIGTERM ends it.
mkfifo /tmp/mesh.in
exec 3<> /tmp/mesh.in
/bin/meshlink wgmesh0 -a 10.77.0.1/16 -a fd77::1/64 -r 192.168.77.0/24 < /tmp/mesh.in > /tmp/mesh.out 2>&1 3>&- &
mesh_pid=$!
wait_for_mesh()
{
	i=0
	until grep -qx ready /tmp/mesh.out; do
		kill -0 "$mesh_pid" 2>/dev/null || return 1
		i=$((i + 1))
		[ "$i" -le "$WATCH_WAIT" ] || return 1
		sleep 0.1
	done
}
wait_for_mesh || mesh_failed "meshlink did not print 'ready'"
grep -qx "kind kernel" /tmp/mesh.out || mesh_failed "not a kernel link"
/bin/ip -d link show wgmesh0 | grep -qw wireguard || mesh_failed "wgmesh0 is not of kind wireguard"
/bin/ip link show wgmesh0 | grep -q '[<,]UP[,>]' || mesh_failed "wgmesh0 is not up"
/bin/ip addr show dev wgmesh0 | grep -q "inet 10.77.0.1/16 " || mesh_failed "no 10.77.0.1/16"
/bin/ip addr show dev wgmesh0 | grep -q "inet6 fd77::1/64 " || mesh_failed "no fd77::1/64"
/bin/ip route show dev wgmesh0 | grep -q "^192.168.77.0/24 " || mesh_failed "no route 192.168.77.0/24"
wg show wgmesh0 > /dev/null || mesh_failed "wg show wgmesh0 failed"
kill "$mesh_pid"
wait "$mesh_pid"
status=$?
exec 3>&-
[ "$status" -eq 0 ] || mesh_failed "meshlink exited with status $status on SIGTERM"
! /bin/ip link show wgmesh0 > /dev/null 2>&1 || mesh_failed "wgmesh0 is still there after SIGTERM"
cat /tmp/mesh.out
/bin/ip link add wgk2 type wireguard || mesh_failed "ip link add wgk2 type wireguard"
# The end of its input ends it at once.
/bin/meshlink wgk2 -a 10.78.0.1/16 < /dev/null > /tmp/mesh.out 2>&1 || mesh_failed "meshlink on wgk2 failed"
grep -qx "kind kernel" /tmp/mesh.out || mesh_failed "wgk2: not a kernel link"
/bin/ip link show wgk2 > /dev/null 2>&1 || mesh_failed "the adopted wgk2 was deleted"
! /bin/ip addr show dev wgk2 | grep -q "10.78.0.1/16" || mesh_failed "10.78.0.1/16 left on wgk2"
/bin/ip link del wgk2
cat /tmp/mesh.out
echo "WICE-KERNEL-CHECK: mesh-link ok"

# daemon.sh prints its checks as it goes and "daemon: PASS" at the end.
echo "WICE-KERNEL: daemon"
timeout "$DAEMON_TIMEOUT" sh /daemon.sh
status=$?
case $status in
0) ;;
124 | 143) fail "daemon.sh timed out after $DAEMON_TIMEOUT s" ;;
*) fail "daemon.sh exited with status $status" ;;
esac

echo "WICE-KERNEL-RESULT: PASS"
power_off
