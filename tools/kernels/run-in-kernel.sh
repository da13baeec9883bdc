#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# leakwatch's kernel-matrix runner (used by tools/kernels/test-kernels.sh and
# `make test-kernels`), adapted from the multi-kernel qemu runner measured on
# these machines.  Default cache: $KMX_CACHE, else ${TMPDIR:-/tmp}/kmatrix-cache.
#
# run-in-kernel.sh - run a command under another Linux kernel booted in qemu.
#
# Usage: run-in-kernel.sh [options] KERNEL -- COMMAND [ARGS...]
#
#   KERNEL is one of
#     - a Debian kernel package file (linux-image-*.deb)
#     - a Debian kernel package NAME (e.g. linux-image-6.1.0-56-amd64); it is
#       fetched with `apt-get download` into the cache
#     - a bzImage/vmlinuz file; modules for 9p/virtio are looked up in
#       $KMX_MODULES, <dir>/../lib/modules/<ver>, /lib/modules/<ver>
#       (none needed if the kernel has 9p + virtio-pci built in)
#
#   The guest sees the host's root filesystem read-only through virtio-9p,
#   with a tmpfs overlay on top (so the whole tree looks writable, changes are
#   thrown away), fresh tmpfs on /run and /dev/shm, and the current working
#   directory shared READ-WRITE at the same path.  COMMAND runs as root in that
#   directory with the caller's environment; its stdout/stderr come back on
#   stdout/stderr and the script exits with COMMAND's exit status.
#   In the guest: proc, sysfs, devtmpfs, devpts, tracefs, debugfs, bpffs and
#   cgroup2 are mounted.
#
# Options:
#   -m MEM        guest memory (default 1G, env KMX_MEM)
#   -s N          guest vCPUs (default: 1 under TCG, host cores under KVM; env KMX_SMP)
#   -a ACCEL      kvm | tcg | auto (default auto, env KMX_ACCEL)
#   -t SECONDS    kill the VM after this long (default 900, env KMX_TIMEOUT); exit 124
#   -n            do not share the cwd (COMMAND then runs in / of the overlay)
#   -M MODS       also load these kernel modules (comma list, deps resolved),
#                 e.g. -M veth,sch_ingress,dummy (env KMX_MODS); the guest has no
#                 /lib/modules of its own, so modprobe inside it does not work
#   -v            stream the guest kernel console to stderr
#   -k LOGFILE    keep the guest console log in LOGFILE
#   -A 'ARGS'     extra kernel command line (env KMX_APPEND)
#   -h            help
#
# Env: KMX_CACHE (default ${TMPDIR:-/tmp}/kmatrix-cache) holds extracted kernels/initrds;
#      KMX_QEMU_ARGS extra qemu arguments (word-split); KMX_PVH=0 boots the
#      bzImage instead of the extracted ELF vmlinux.
#
# Exit status: COMMAND's status; 124 on timeout; 125 if the VM failed before
# COMMAND reported a status (see the console log printed on stderr).
#
# Requires: qemu-system-x86 (qemu-system-x86_64), busybox-static, bash,
# dpkg-deb (for .deb); xz/lz4/zstd to unpack compressed modules and the
# vmlinux inside a bzImage (optional: without them the bzImage is booted).

set -u
KMX_VERSION=6
ME=${0##*/}
CACHE=${KMX_CACHE:-${TMPDIR:-/tmp}/kmatrix-cache}
MEM=${KMX_MEM:-1G}
SMP=${KMX_SMP:-}
ACCEL=${KMX_ACCEL:-auto}
TIMEOUT=${KMX_TIMEOUT:-900}
APPEND_EXTRA=${KMX_APPEND:-}
EXTRA_MODS=${KMX_MODS:-}
SHARE_CWD=1
VERBOSE=0
KEEPLOG=

die() { echo "$ME: $*" >&2; exit 125; }
usage() { sed -n '/^# run-in-kernel.sh - /,/^$/{s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

while getopts "m:s:a:t:nvk:A:M:h" o; do
	case $o in
	m) MEM=$OPTARG ;;
	s) SMP=$OPTARG ;;
	a) ACCEL=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	n) SHARE_CWD=0 ;;
	v) VERBOSE=1 ;;
	k) KEEPLOG=$OPTARG ;;
	A) APPEND_EXTRA="$APPEND_EXTRA $OPTARG" ;;
	M) EXTRA_MODS="${EXTRA_MODS:+$EXTRA_MODS,}$OPTARG" ;;
	h) usage 0 ;;
	*) usage 125 >&2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage 125 >&2
KARG=$1; shift
[ "${1:-}" = "--" ] && shift
[ $# -ge 1 ] || die "no COMMAND given (usage: $ME KERNEL -- COMMAND...)"

QEMU=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then BUSYBOX=$b; break; fi
done
[ -n "$BUSYBOX" ] || die "a statically linked busybox is needed (apt-get install busybox-static)"
mkdir -p "$CACHE" || die "cannot create $CACHE"

# ---------------------------------------------------------------- kernel ---
# Produces: VMLINUZ, KVER, MODDIR (may be empty), BUILTIN (modules.builtin or empty)
kver_of_bzimage() {	# version string from the bzImage header
	local f=$1 off
	off=$(od -An -tu2 -j $((0x20e)) -N2 "$f" | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 1
	dd if="$f" bs=1 skip=$((off + 0x200)) count=200 2>/dev/null | tr '\0' '\n' | head -1 | cut -d' ' -f1
}

extract_deb() {		# $1 = .deb; extracts vmlinuz, config and the few modules we need
	local deb=$1 name dir
	name=$(basename "$deb" .deb)
	dir=$CACHE/$name
	if [ -n "$EXTRA_MODS" ] && [ -e "$dir/.done" ] && [ ! -e "$dir/.full" ]; then
		rm -f "$dir/.done"	# need every module now
	fi
	if [ ! -e "$dir/.done" ]; then
		rm -rf "$dir"; mkdir -p "$dir"
		if [ -n "$EXTRA_MODS" ]; then
			dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards './boot/*' '*/modules/*' 2>/dev/null
			touch "$dir/.full"
		else
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" --wildcards \
			'./boot/vmlinuz-*' './boot/config-*' \
			'*/modules/*/modules.builtin' \
			'*/modules/*/kernel/drivers/virtio/*' \
			'*/modules/*/kernel/net/9p/*' '*/modules/*/kernel/fs/9p/*' \
			'*/modules/*/kernel/fs/netfs/*' '*/modules/*/kernel/fs/fscache/*' \
			'*/modules/*/kernel/fs/overlayfs/*' 2>/dev/null
		fi
		ls "$dir"/boot/vmlinuz-* >/dev/null 2>&1 || die "no /boot/vmlinuz-* in $deb"
		touch "$dir/.done"
	fi
	VMLINUZ=$(ls "$dir"/boot/vmlinuz-* | head -1)
	KVER=${VMLINUZ##*/vmlinuz-}
	MODDIR=
	for d in "$dir/lib/modules/$KVER" "$dir/usr/lib/modules/$KVER"; do
		[ -d "$d" ] && MODDIR=$d
	done
}

# serialise cache population between concurrent runs
exec 9>"$CACHE/.lock"
command -v flock >/dev/null && flock 9
case $KARG in
*.deb)
	[ -f "$KARG" ] || die "$KARG: no such file"
	extract_deb "$KARG" ;;
*)
	if [ -f "$KARG" ]; then
		VMLINUZ=$(readlink -f "$KARG")
		KVER=$(kver_of_bzimage "$VMLINUZ") || KVER=
		[ -n "$KVER" ] || KVER=${VMLINUZ##*/vmlinuz-}
		MODDIR=
		for d in ${KMX_MODULES:-} "$(dirname "$VMLINUZ")/../lib/modules/$KVER" \
			"$(dirname "$VMLINUZ")/../usr/lib/modules/$KVER" \
			"/lib/modules/$KVER" "/usr/lib/modules/$KVER"; do
			if [ -d "$d" ]; then MODDIR=$(readlink -f "$d"); break; fi
		done
	elif [[ $KARG == linux-image-* ]]; then
		mkdir -p "$CACHE/debs"
		deb=$(ls "$CACHE"/debs/"${KARG}"_*.deb 2>/dev/null | head -1)
		if [ -z "$deb" ]; then
			(cd "$CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download "$KARG" >&2) || die "apt-get download $KARG failed"
			deb=$(ls "$CACHE"/debs/"${KARG}"_*.deb 2>/dev/null | head -1)
			[ -n "$deb" ] || die "$KARG: downloaded package not found (metapackage? use the linux-image-<version>-<flavour> name)"
		fi
		extract_deb "$deb"
	else
		die "$KARG: not a file, .deb or linux-image-* package name"
	fi ;;
esac
BUILTIN=
[ -n "$MODDIR" ] && [ -f "$MODDIR/modules.builtin" ] && BUILTIN=$MODDIR/modules.builtin

# The initramfs depends only on: this script's version, the kernel, the module
# dir and the extra modules asked for.
key=$(echo "$KMX_VERSION|$KVER|$VMLINUZ|$(stat -c %s-%Y "$VMLINUZ")|$MODDIR|$EXTRA_MODS" | md5sum | cut -c1-12)
INITRD=$CACHE/initrd-$KVER-$key.cpio.gz

# --------------------------------------------------------------- modules ---
# Resolve (in load order) the modules needed for virtio-pci + 9p (+ overlay).
# Skipped when the initramfs for this combination is already cached.
declare -A MODPATH=() SEEN=()
ORDER=()
if [ -n "$MODDIR" ] && [ ! -s "$INITRD" ]; then
	while IFS= read -r f; do
		n=${f##*/}; n=${n%%.ko*}
		MODPATH[$n]=$f; MODPATH[${n//-/_}]=$f
	done < <(find "$MODDIR" -name '*.ko*' 2>/dev/null)
fi
is_builtin() {	# module name -> true if listed in modules.builtin
	[ -n "$BUILTIN" ] && grep -q "/${1}\.ko\$" "$BUILTIN" && return 0
	[ -n "$BUILTIN" ] && grep -q "/${1//_/-}\.ko\$" "$BUILTIN"
}
ko_plain() {	# print an uncompressed copy of module $1 to stdout
	case $1 in
	*.ko) cat "$1" ;;
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -dc "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	esac
}
add_mod() {	# $1 name, $2 required(1/0) ; returns 1 if unavailable
	local n=$1 dep deps
	[ -n "${SEEN[$n]:-}" ] && return 0
	if is_builtin "$n"; then SEEN[$n]=builtin; return 0; fi
	local f=${MODPATH[$n]:-}
	if [ -z "$f" ]; then
		# no module file: if we know nothing about this kernel, hope it is built in
		[ -z "$MODDIR" ] && { SEEN[$n]=assumed; return 0; }
		return 1
	fi
	SEEN[$n]=1
	deps=$(ko_plain "$f" | tr '\0' '\n' | grep -a -m1 '^depends=' | cut -d= -f2)
	for dep in ${deps//,/ }; do add_mod "$dep" 1 || return 1; done
	ORDER+=("$f")
}
[ -s "$INITRD" ] || for m in virtio_pci 9pnet_virtio 9p; do
	add_mod $m 1 || die "kernel $KVER has no usable '$m' (neither built in nor a module in ${MODDIR:-?}); 9p root sharing needs CONFIG_NET_9P_VIRTIO + CONFIG_9P_FS (Debian's *-cloud-amd64 flavour lacks 9p: use linux-image-*-amd64)"
done
HAVE_OVERLAY=1
if [ ! -s "$INITRD" ]; then
	add_mod overlay 0 || HAVE_OVERLAY=0
	for m in ${EXTRA_MODS//,/ }; do
		m=${m//-/_}
		add_mod "$m" 1 || die "module '$m' not found for kernel $KVER (in ${MODDIR:-?})"
	done
fi

# Under TCG the in-guest decompression of an xz bzImage costs ~3 s per boot.
# If the kernel has a PVH entry point (CONFIG_PVH=y, Debian has it), extract
# the ELF vmlinux once and let qemu boot it directly.
extract_vmlinux() {	# $1 bzImage -> prints path of cached ELF vmlinux with PVH note
	local bz=$1 out ss po pl start magic
	out=$CACHE/vmlinux-$KVER-$(stat -c %s-%Y "$bz")
	if [ ! -s "$out" ]; then
		ss=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' '); [ "$ss" = 0 ] && ss=4
		po=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
		pl=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
		[ -n "$po" ] && [ -n "$pl" ] && [ "$pl" -gt 0 ] || return 1
		start=$(((ss + 1) * 512 + po))
		magic=$(tail -c +$((start + 1)) "$bz" | head -c 6 | od -An -tx1 | tr -d ' \n')
		case $magic in
		1f8b*) dec="gzip -dc" ;;
		fd377a585a00) dec="xz -dc" ;;
		5d0000*) dec="xz -dc --format=lzma" ;;
		425a68*) dec="bzip2 -dc" ;;
		02214c18*) dec="lz4 -dc" ;;
		28b52ffd*) dec="zstd -dc" ;;
		*) return 1 ;;
		esac
		command -v ${dec%% *} >/dev/null || return 1
		tail -c +$((start + 1)) "$bz" | head -c "$pl" | $dec > "$out.tmp" 2>/dev/null
		# (decoders may complain about the 4-byte size trailer; check the result instead)
		[ "$(head -c 4 "$out.tmp" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ] || { rm -f "$out.tmp"; return 1; }
		mv "$out.tmp" "$out"
	fi
	# PVH entry = Xen ELF note type 0x12 (XEN_ELFNOTE_PHYS32_ENTRY)
	command -v readelf >/dev/null && readelf -n "$out" 2>/dev/null | grep -q 'Xen.*(0x00000012)' || return 1
	echo "$out"
}
BOOTIMG=$VMLINUZ
if [ "${KMX_PVH:-1}" = 1 ] && [ "$(head -c 4 "$VMLINUZ" | od -An -tx1 | tr -d ' \n')" != 7f454c46 ]; then
	v=$(extract_vmlinux "$VMLINUZ") && BOOTIMG=$v
fi

# -------------------------------------------------------------- initramfs ---
if [ ! -s "$INITRD" ]; then
	tmp=$(mktemp -d "$CACHE/ir.XXXXXX")
	mkdir -p "$tmp"/{bin,dev,proc,sys,mods,newroot,lower,ovl}
	cp "$BUSYBOX" "$tmp/bin/busybox"
	i=10
	for f in "${ORDER[@]}"; do
		n=${f##*/}; n=${n%%.ko*}
		ko_plain "$f" > "$tmp/mods/$i-$n.ko"; i=$((i + 1))
	done
	cat > "$tmp/init" <<'EOF'
#!/bin/busybox sh
# kmx guest init (PID 1): mount the host root via 9p, run /run/kmx/cmd.bash, power off.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in /mods/*.ko; do
	[ -e "$m" ] || continue
	insmod "$m" 2>/dev/null || echo "kmx: insmod $m failed" >&2
done
fail() { echo "kmx: $*" >&2; echo "KMX-FAIL: $*" > /dev/ttyS0; poweroff -f; sleep 5; echo o > /proc/sysrq-trigger; }
opts=trans=virtio,version=9p2000.L,msize=262144
if [ -e /ovl-enabled ] && mount -t 9p -o ro,$opts,cache=loose kmxroot /lower 2>/dev/null; then
	mount -t tmpfs -o mode=0755 tmpfs /ovl
	mkdir -p /ovl/upper /ovl/work
	if ! mount -t overlay overlay -o lowerdir=/lower,upperdir=/ovl/upper,workdir=/ovl/work /newroot 2>/dev/null; then
		umount /lower; mount -t 9p -o ro,$opts,cache=loose kmxroot /newroot || fail "cannot mount host root"
		RO=1
	fi
else
	mount -t 9p -o ro,$opts,cache=loose kmxroot /newroot || fail "cannot mount host root over 9p"
	RO=1
fi
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm 2>/dev/null
ln -sf /proc/self/fd $R/dev/fd; ln -sf /proc/self/fd/0 $R/dev/stdin
ln -sf /proc/self/fd/1 $R/dev/stdout; ln -sf /proc/self/fd/2 $R/dev/stderr
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
mount -t bpf bpf $R/sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs $R/run
if [ -n "${RO:-}" ]; then	# read-only root: give the usual scratch dirs a tmpfs
	for d in tmp var/tmp root; do mount -t tmpfs -o mode=1777 tmpfs $R/$d 2>/dev/null; done
fi
mkdir -p $R/run/kmx
mount -t 9p -o $opts,cache=none kmxrun $R/run/kmx || fail "cannot mount run dir"
if [ -s $R/run/kmx/cwd ]; then
	cwd=$(cat $R/run/kmx/cwd)
	mkdir -p "$R$cwd" 2>/dev/null
	mount -t 9p -o $opts,cache=mmap kmxcwd "$R$cwd" || fail "cannot mount cwd $cwd"
fi
for t in ttyS1 ttyS2; do stty -F /dev/$t raw -echo 2>/dev/null; done
hostname kmx-guest
echo "KMX-START" > /dev/ttyS0
chroot $R /bin/bash /run/kmx/cmd.bash </dev/null >$R/dev/ttyS1 2>$R/dev/ttyS2
sync
echo "KMX-END" > /dev/ttyS0
poweroff -f
EOF
	chmod 755 "$tmp/init"
	[ "$HAVE_OVERLAY" = 1 ] && touch "$tmp/ovl-enabled"
	(cd "$tmp" && find . | "$BUSYBOX" cpio -o -H newc 2>/dev/null | gzip -1 > "$INITRD.tmp") && mv "$INITRD.tmp" "$INITRD"
	rm -rf "$tmp"
	[ -s "$INITRD" ] || die "failed to build initramfs"
fi

exec 9>&-	# cache ready: release the lock

# ------------------------------------------------------------ per-run dir ---
mkdir -p "$CACHE/run"
RUN=$(mktemp -d "$CACHE/run/kmx-run.XXXXXX") || die "mktemp failed"
QPID=
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CWD=$(pwd -P)
[ "$CWD" = / ] && SHARE_CWD=0	# never mount the host root read-write
[ "$SHARE_CWD" = 1 ] && printf '%s\n' "$CWD" > "$RUN/cwd"
{
	echo 'set +e'
	export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_)(=|$)'
	if [ "$SHARE_CWD" = 1 ]; then
		printf 'cd -- %q || { echo "kmx: cannot cd to %q" >&2; echo 126 > /run/kmx/rc; exit 126; }\n' "$CWD" "$CWD"
	else
		echo 'cd /'
	fi
	printf '%q ' "$@"; echo
	echo 'echo $? > /run/kmx/rc'
} > "$RUN/cmd.bash"
mkfifo "$RUN/out" "$RUN/err" "$RUN/con"

# ------------------------------------------------------------------ accel ---
kvm_usable() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	# PVM ("pagetable-based VM", software nested KVM) cannot run stock kernels:
	# it fails with 'KVM internal error ... emulation failure' (xrstor/int3).
	[ -d /sys/module/kvm_pvm ] && return 1
	grep -q -w -E 'vmx|svm' /proc/cpuinfo
}
case $ACCEL in
auto) if kvm_usable; then ACCEL=kvm; else ACCEL=tcg; fi ;;
kvm | tcg) ;;
*) die "bad accel '$ACCEL'" ;;
esac
if [ "$ACCEL" = kvm ]; then
	ACCEL_ARGS=(-accel kvm -cpu host)
	SMP=${SMP:-$(nproc)}
else
	# TCG: 1 vCPU boots faster than 2 on a 2-core host; -s 2 works (MTTCG) if needed
	ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
	SMP=${SMP:-1}
fi

CMDLINE="console=ttyS0 rdinit=/init panic=-1 oops=panic quiet loglevel=4 mitigations=off tsc=unstable $APPEND_EXTRA"
QARGS=(-nodefaults -no-user-config -display none -no-reboot -machine pc
	"${ACCEL_ARGS[@]}" -m "$MEM" -smp "$SMP"
	-kernel "$BOOTIMG" -initrd "$INITRD" -append "$CMDLINE"
	-chardev "file,id=con,path=$RUN/con" -serial chardev:con
	-chardev "file,id=out,path=$RUN/out" -serial chardev:out
	-chardev "file,id=err,path=$RUN/err" -serial chardev:err
	-virtfs "local,path=/,mount_tag=kmxroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$RUN,mount_tag=kmxrun,security_model=none"
	-device virtio-rng-pci)
[ "$SHARE_CWD" = 1 ] && QARGS+=(-virtfs "local,path=$CWD,mount_tag=kmxcwd,security_model=none,multidevs=remap")
# shellcheck disable=SC2206
[ -n "${KMX_QEMU_ARGS:-}" ] && QARGS+=($KMX_QEMU_ARGS)

# Readers for the three serial lines (fifos); started before qemu opens them.
if [ "$VERBOSE" = 1 ]; then
	tee "$RUN/console.log" < "$RUN/con" >&2 &
else
	cat < "$RUN/con" > "$RUN/console.log" &
fi
RCON=$!
cat < "$RUN/out" &
ROUT=$!
cat < "$RUN/err" >&2 &
RERR=$!

"$QEMU" "${QARGS[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
QPID=$!
# Watchdog: timeout, and KVM internal errors (qemu pauses the VM instead of exiting).
(
	end=$((SECONDS + TIMEOUT))
	while kill -0 "$QPID" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then echo timeout > "$RUN/killed"; kill "$QPID"; break; fi
		if grep -q 'KVM internal error' "$RUN/qemu.log" 2>/dev/null; then
			echo kvm-internal-error > "$RUN/killed"; kill "$QPID"; break
		fi
		sleep 0.5
	done
) </dev/null >/dev/null 2>&1 &	# must not hold our stdout open: $(...) would wait for it
WD=$!
wait "$QPID"; QRC=$?
QPID=
kill "$WD" 2>/dev/null; wait "$WD" 2>/dev/null
# If qemu never opened a fifo, its reader is still blocked in open(): unblock it.
for f in con out err; do exec 3<>"$RUN/$f"; exec 3>&-; done
wait "$RCON" "$ROUT" "$RERR" 2>/dev/null

[ -n "$KEEPLOG" ] && cp "$RUN/console.log" "$KEEPLOG"
if [ -s "$RUN/rc" ]; then
	rc=$(cat "$RUN/rc")
	exit "$rc"
fi
why=$(cat "$RUN/killed" 2>/dev/null)
echo "$ME: guest did not report an exit status (qemu rc=$QRC${why:+, $why}, accel=$ACCEL, kernel=$KVER)" >&2
[ "$why" = kvm-internal-error ] && echo "$ME: this host's KVM cannot run this kernel (nested/PVM KVM?); use -a tcg" >&2
if [ "$VERBOSE" != 1 ]; then
	echo "---- last lines of the guest console ----" >&2
	tail -n 40 "$RUN/console.log" >&2
fi
echo "---- qemu ----" >&2
tail -n 20 "$RUN/qemu.log" >&2
[ "$why" = timeout ] && exit 124
exit 125
