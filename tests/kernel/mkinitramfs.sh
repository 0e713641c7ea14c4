#!/bin/sh
# mkinitramfs.sh: builds the initramfs that kernel.test boots under qemu so
# that the WireGuard round trip and the daemon run against the real kernel
# module, which the machines we build on do not have.  The image holds
# static busybox, the modules below with their dependencies, iproute2's ip,
# wg, nft, jq, the test programs and wice with every shared library they
# load (about 70 MB: GLib, libnice, GnuTLS, curl, ...), the scripts and
# init.sh as /init.
#
# usage: mkinitramfs.sh --kernel
#            print the newest kernel version that has both /lib/modules/VER
#            and /boot/vmlinuz-VER; exit 77 when there is none
#        mkinitramfs.sh OUTPUT WGTOOL WGWATCH ROUNDTRIP INIT WICE DAEMON MESHLINK
#            write a newc cpio archive to OUTPUT, not compressed: under
#            TCG the kernel's gunzip costs what the smaller file saves in
#            loading (78 MB: 24-33 s to /init on a loaded 2-core host; gzip
#            -1, 35 MB: 39 s)
#
# KVER in the environment picks the kernel version instead; BUSYBOX, IP,
# WG, NFT and JQ name the binaries to use instead of the ones found in PATH.

set -u

die()
{
	echo "mkinitramfs: $*" >&2
	exit 1
}

find_kver()
{
	if [ -n "${KVER:-}" ]; then
		[ -d "/lib/modules/$KVER" ] && [ -f "/boot/vmlinuz-$KVER" ] || return 1
		echo "$KVER"
		return 0
	fi
	for dir in /lib/modules/*; do
		[ -d "$dir" ] && echo "${dir##*/}"
	done | sort -r -V | while read -r ver; do
		if [ -f "/boot/vmlinuz-$ver" ]; then
			echo "$ver"
			break
		fi
	done | grep .
}

# find_tool NAME OVERRIDE: the binary to copy; sbin is searched too because
# PATH of a non-root user usually lacks it.
find_tool()
{
	if [ -n "$2" ]; then
		echo "$2"
		return 0
	fi
	PATH=$PATH:/usr/sbin:/sbin command -v "$1" || die "cannot find $1"
}

# copy_file SRC DEST: DEST is relative to the image root; symlinks are
# followed so that the image holds plain files.
copy_file()
{
	mkdir -p "$root/${2%/*}" || die "cannot create ${2%/*}"
	rm -f "$root/$2"
	cp -L "$1" "$root/$2" || die "cannot copy $1"
}

# copy_libs BINARY: copies every shared object the dynamic loader would map
# for BINARY, the loader included, to the same path in the image.  ldd
# already lists indirect dependencies.
copy_libs()
{
	out=$(LC_ALL=C ldd "$1" 2>&1)
	status=$?
	case $out in
	*"not a dynamic executable"* | *"statically linked"*)
		return 0 ;;
	esac
	[ "$status" -eq 0 ] || die "ldd $1 failed: $out"
	while read -r name arrow path rest; do
		case $arrow in
		"=>")
			case $path in
			/*) lib=$path ;;
			not) die "$1 needs $name, which is not found" ;;
			*) continue ;;	# linux-vdso.so.1 => (0x...) on old ldd
			esac ;;
		*)
			case $name in
			/*) lib=$name ;;	# the dynamic loader
			*) continue ;;	# linux-vdso.so.1 (0x...)
			esac ;;
		esac
		[ -e "$root$lib" ] || copy_file "$lib" "$lib"
	done <<EOF
$out
EOF
}

# install_bin SRC DEST: a program and its libraries.
install_bin()
{
	[ -f "$1" ] || die "$1 does not exist"
	copy_file "$1" "$2"
	chmod 755 "$root/$2"
	copy_libs "$1"
}

# install_dlopened SONAME: a library a program opens itself (dlopen), which
# ldd cannot see, with its own libraries; the daemon loads libcurl only
# when an HTTP or etcd backend starts (signaling/client/curl-dl.c).
install_dlopened()
{
	lib=$(LC_ALL=C ldconfig -p | awk -v n="$1" '$1 == n && $NF ~ /^\// { print $NF; exit }')
	[ -n "$lib" ] || die "$1 is not installed (ldconfig -p does not list it)"
	copy_file "$lib" "$lib"
	copy_libs "$lib"
}

install_busybox()
{
	bb=$(find_tool busybox "${BUSYBOX:-}")
	install_bin "$bb" /bin/busybox
	"$bb" --list-full > "$work/applets" || die "$bb --list-full failed"
	while read -r applet; do
		[ "$applet" = bin/busybox ] && continue
		mkdir -p "$root/${applet%/*}" || die "cannot create ${applet%/*}"
		ln -sf /bin/busybox "$root/$applet" || die "cannot link $applet"
	done < "$work/applets"
}

# The modules the VM loads, and why:
#   wireguard          the tunnel
#   veth               the links between the daemon test's namespaces
#   nft_ct             nf_tables with conntrack: the daemon's "notrack",
#                      the NAT router's "ct state"
#   nft_fib_inet       the daemon's "fib daddr type local"
#   nft_chain_nat, nft_masq   the NAT router
# (maps, sets, payload and meta are part of nf_tables itself).
MODULES="wireguard veth nft_ct nft_fib_inet nft_chain_nat nft_masq"

# install_modules VER: the module files in load order, listed in
# /modules/order for init.sh, each once.  A module built into the kernel
# shows up as "builtin NAME" and needs nothing.  Compressed modules are
# unpacked because busybox insmod may not read them.  Modules from
# arch/*/crypto are CPU-specific accelerations that refuse to load on a
# CPU without their instructions (crc32c-intel on qemu's default CPU);
# the generic code does the job then, so their lines say "optional".
install_modules()
{
	mkdir -p "$root/modules" || die "cannot create /modules"
	: > "$root/modules/order"
	for module in $MODULES; do
		deps=$(modprobe --show-depends "$module" -S "$1" 2>&1) ||
			die "modprobe --show-depends $module -S $1 failed: $deps"
		found=
		while read -r verb path rest; do
			case $verb in
			builtin) found=1; continue ;;
			insmod) found=1 ;;
			*) continue ;;
			esac
			base=${path##*/}
			case $base in
			*.xz | *.zst | *.gz) base=${base%.*} ;;
			esac
			grep -qxF -e "$base" -e "$base optional" "$root/modules/order" && continue
			case $path in
			*.ko) cp "$path" "$root/modules/$base" ;;
			*.ko.xz) xz -dc "$path" > "$root/modules/$base" ;;
			*.ko.zst) zstd -qdc "$path" > "$root/modules/$base" ;;
			*.ko.gz) gzip -dc "$path" > "$root/modules/$base" ;;
			*) die "unknown module format: $path" ;;
			esac || die "cannot copy $path"
			case $path in
			*/kernel/arch/*/crypto/*) echo "$base optional" ;;
			*) echo "$base" ;;
			esac >> "$root/modules/order"
		done <<EOF
$deps
EOF
		[ -n "$found" ] || die "no $module module for $1: $deps"
	done
}

# install_etc: what glibc and GLib read about users and names; the
# daemon's control socket looks up its groups.
install_etc()
{
	mkdir -p "$root/etc" || die "cannot create /etc"
	echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
	echo "root:x:0:" > "$root/etc/group"
	printf 'passwd: files\ngroup: files\nhosts: files\n' > "$root/etc/nsswitch.conf"
	printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"
}

if [ "${1:-}" = --kernel ]; then
	find_kver || exit 77
	exit 0
fi

[ $# -eq 8 ] || die "usage: mkinitramfs.sh OUTPUT WGTOOL WGWATCH ROUNDTRIP INIT WICE DAEMON MESHLINK"
output=$1 wgtool=$2 wgwatch=$3 roundtrip=$4 init=$5 wice=$6 daemon=$7 meshlink=$8

kver=$(find_kver) || die "no kernel with both /lib/modules/VER and /boot/vmlinuz-VER"
work=$(mktemp -d "${TMPDIR:-/tmp}/wice-initramfs.XXXXXX") || die "cannot create a work directory"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
root=$work/root

mkdir -p "$root" "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" ||
	die "cannot create the image tree"
# wg and wice look for userspace devices' sockets in /var/run/wireguard.
mkdir -p "$root/var" || die "cannot create /var"
ln -s ../run "$root/var/run" || die "cannot link /var/run"
install_busybox
# busybox has an ip applet of its own that knows no "type wireguard".
for dir in bin sbin usr/bin usr/sbin; do
	rm -f "$root/$dir/ip"
done
install_bin "$(find_tool ip "${IP:-}")" /bin/ip
install_bin "$(find_tool wg "${WG:-}")" /bin/wg
install_bin "$wgtool" /bin/wgtool
install_bin "$wgwatch" /bin/wgwatch
install_bin "$(find_tool nft "${NFT:-}")" /bin/nft
install_bin "$(find_tool jq "${JQ:-}")" /bin/jq
install_bin "$wice" /bin/wice
install_dlopened libcurl.so.4
install_bin "$meshlink" /bin/meshlink
install_modules "$kver"
install_etc
copy_file "$roundtrip" /roundtrip.sh
copy_file "$daemon" /daemon.sh
copy_file "$init" /init
chmod 755 "$root/init" "$root/roundtrip.sh" "$root/daemon.sh"
echo "$kver" > "$root/kernel-version"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$work/image.cpio" ||
	die "cpio failed"
mv "$work/image.cpio" "$output" || die "cannot write $output"
