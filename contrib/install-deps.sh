#!/bin/sh
# Installs the Debian (bookworm) packages wice needs to build and to run its
# whole test suite.  Run as root.
set -eu
PACKAGES="
	autoconf automake libtool pkg-config make gcc clang llvm libbpf-dev bpftool
	libglib2.0-dev libnice-dev libsodium-dev libmnl-dev libcurl4-openssl-dev
	libjson-glib-dev libsoup-3.0-dev libnftables-dev libcap-ng-dev libcriterion-dev linux-libc-dev
	libqrencode-dev libpng-dev libminiupnpc-dev
	iproute2 nftables conntrack wireguard-tools wireguard-go iputils-ping procps psmisc socat jq curl
	coturn openssl miniupnpd-nftables etcd-server etcd-client
	nebula iperf3 fping
	qemu-system-x86 linux-image-amd64 busybox-static kmod cpio
	valgrind mandoc systemd
	zbar-tools
	dpkg-dev debhelper lintian git
	python3
"
missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q $missing
