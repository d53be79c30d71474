#!/usr/bin/env bash
# Runs one command inside a throwaway VM with a real kernel of a chosen cgroup layout, as root, and returns its
# output and exit code.
#
#   tests/vm/run.sh [--mode v2|v1] [--timeout SEC] [--boot-timeout SEC] [--smp N] [--mem MB] [--tcg single|multi]
#                   [--share DIR] -- COMMAND [ARG...]
#
#   v2  cgroup2 alone at /sys/fs/cgroup (kernel parameter cgroup_no_v1=all), every controller enabled in the root's
#       cgroup.subtree_control as systemd does on a pure v2 machine
#   v1  the v1 controllers one by one under a tmpfs at /sys/fs/cgroup (cpu,cpuacct and net_cls,net_prio co-mounted,
#       as systemd's legacy mode does), no cgroup2 at all
#
# The VM is Debian's linux-image-amd64 kernel under qemu-system-x86_64 (TCG: no KVM needed) with a busybox-static
# initramfs. The host's root file system is mounted read-only over 9p and becomes the root the command runs in (moved
# onto /, as switch_root does), in the caller's working directory, with tmpfs on /tmp and /run (HOME, DOTNET_CLI_HOME and TMPDIR point there). A second,
# writable 9p share is the command's way out: it is $PSC_VM_SHARE inside, and the directory given by --share (or a
# temporary one) outside. Inside, $PSC_VM_MODE is v2 or v1 and /dev/vda is a small scratch block device.
#
# Output: the command's stdout and stderr, streamed as they come. Exit code: the command's; 124 when it did not end
# within --timeout (the VM is killed); 125 when the VM did not come up within --boot-timeout or died before the
# command ended (the console's last lines are printed). Nothing is left behind: the qemu process and the temporary
# directory are removed on every exit, Ctrl+C included.
set -uo pipefail

mode=v2 timeout=1800 boot_timeout=120 smp=2 mem=2048 share_out="" tcg=single
while (($#)); do
  case $1 in
    --mode) mode=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --boot-timeout) boot_timeout=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --tcg) tcg=$2; shift 2 ;;
    --share) share_out=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
  esac
done
(($#)) || { echo "run.sh: no command given (see --help)" >&2; exit 2; }
case $mode in v1|v2) ;; *) echo "run.sh: --mode must be v1 or v2, not '$mode'" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (qemu exports / over 9p with the files' real owners)" >&2; exit 2; }

log() { echo "[vm-$mode] $*" >&2; }

# --- Debian packages: the emulator, a kernel, busybox and cpio -----------------------------------------------------
kernel_image() { ls -v /boot/vmlinuz-*-amd64 2>/dev/null | tail -1; }
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -n "$(kernel_image)" ] || need+=(linux-image-amd64)
# busybox must be the static one: it runs before any library is reachable (grep reads all: no SIGPIPE under pipefail).
{ [ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -x insmod >/dev/null && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
if ((${#need[@]})); then
  log "installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >&2 ||
    { log "could not install ${need[*]}"; exit 125; }
fi
kernel=$(kernel_image)
kver=${kernel#/boot/vmlinuz-}
[ -d "/lib/modules/$kver" ] || { log "no modules for $kernel in /lib/modules/$kver"; exit 125; }

# --- a temporary directory, removed with the qemu process on every exit ---------------------------------------------
tmp=$(mktemp -d /tmp/psc-vm.XXXXXX)
qemu_pid=""
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
    kill "$qemu_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$qemu_pid" 2>/dev/null
    wait "$qemu_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

share=${share_out:-$tmp/share}
mkdir -p "$share" "$tmp/initramfs/bin" "$tmp/initramfs/modules"
rm -f "$share/booted" "$share/exit-code" "$share/output"

# --- the initramfs: busybox, the virtio/9p modules, overlay, loop and ext4 (image roots, disk limits), the network
# tests' modules, and /init ---
cp /bin/busybox "$tmp/initramfs/bin/busybox"
ln -s busybox "$tmp/initramfs/bin/sh"
# The network tests' (Layout=network): veths on a bridge, one nftables table (NAT, fib, conntrack, reject, log),
# an ifb with tbf fed by mirred from an ingress qdisc through a u32 filter, ctnetlink for conntrack(8). Only what this
# kernel has as modules.
netmods="veth bridge ifb nf_tables nf_conntrack nf_conntrack_netlink nf_nat nft_chain_nat nft_nat nft_masq nft_fib_inet nft_fib_ipv4 nft_ct
  nft_reject_inet nft_log nf_log_syslog sch_tbf sch_ingress cls_u32 act_mirred"
modules=$(for m in virtio_pci 9pnet_virtio 9p virtio_blk overlay loop ext4 $netmods; do
    modprobe -S "$kver" --show-depends "$m" 2>/dev/null || true
  done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++')
for m in $modules; do
  case $m in
    *.ko) cp "$m" "$tmp/initramfs/modules/" ;;
    *.ko.xz) xz -dc "$m" >"$tmp/initramfs/modules/$(basename "${m%.xz}")" ;;
    *.ko.zst) zstd -qdc "$m" >"$tmp/initramfs/modules/$(basename "${m%.zst}")" ;;
    *) log "unknown module format: $m"; exit 125 ;;
  esac
  basename "${m%.*}" | sed 's/\.ko$//' >>"$tmp/initramfs/modules/order"
done

# The command, quoted for bash, run in the caller's directory.
{
  echo 'cd '"$(printf '%q' "$PWD")"' || exit 125'
  printf '%q ' "$@"; echo
} >"$share/command.sh"
# /tmp and /run are fresh tmpfs inside: a caller's directory there (a clone in /tmp, as CI may make) comes in as a
# share of its own, read-only like the rest of the host, mounted at the same path.
workshare=()
case $PWD in
  /tmp | /tmp/* | /run | /run/*)
    printf '%s\n' "$PWD" >"$share/workdir"
    workshare=(-virtfs "local,path=$PWD,mount_tag=work,security_model=none,readonly=on,multidevs=remap") ;;
  *) rm -f "$share/workdir" ;;
esac

cat >"$tmp/initramfs/init" <<'INIT'
#!/bin/sh
export PATH=/bin
b=/bin/busybox
say() { echo "psc-vm: $*" >/dev/console; }
die() { say "$*"; $b poweroff -f; }
$b mkdir -p /proc /sys /dev /host
$b mount -t proc proc /proc
$b mount -t sysfs sysfs /sys
$b mount -t devtmpfs devtmpfs /dev
# ifb makes no device of its own (numifbs=0, as Debian's modprobe.d says): the tests' ifbs are the only ones.
for m in $($b cat /modules/order); do
  opts=; [ "$m" = ifb ] && opts=numifbs=0
  $b insmod /modules/$m.ko $opts || die "insmod $m failed"
done
mode=$($b sed -n 's/.*psc_vm_mode=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
# The virtio devices are probed asynchronously: retry the first mount briefly.
for i in 1 2 3 4 5 6 7 8 9 10; do
  $b mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 hostroot /host 2>/dev/null && break
  $b sleep 0.3
done
$b grep -q " /host 9p " /proc/mounts || die "cannot mount the host's root over 9p"
$b mount -t tmpfs -o mode=1777 tmpfs /host/tmp || die "tmpfs /tmp"
$b mount -t tmpfs -o mode=755 tmpfs /host/run || die "tmpfs /run"
$b mount -t proc proc /host/proc
$b mount -t sysfs sysfs /host/sys
$b mount -t devtmpfs devtmpfs /host/dev
$b mkdir -p /host/dev/pts /host/dev/shm
$b mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts
$b mount -t tmpfs -o mode=1777 tmpfs /host/dev/shm
$b mkdir -p /host/tmp/vm-share /host/tmp/home
$b mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /host/tmp/vm-share || die "cannot mount the results share"
if [ -f /host/tmp/vm-share/workdir ]; then
  work=/host$($b cat /host/tmp/vm-share/workdir)
  $b mkdir -p "$work"
  $b mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 work "$work" || die "cannot mount the working directory"
fi
cg=/host/sys/fs/cgroup
if [ "$mode" = v2 ]; then
  $b mount -t cgroup2 -o nsdelegate cgroup2 $cg || die "cannot mount cgroup2"
  # What systemd does on a pure v2 machine: every controller available to the root's children.
  for c in $($b cat $cg/cgroup.controllers); do echo "+$c" >$cg/cgroup.subtree_control; done
else
  $b mount -t tmpfs -o mode=755 cgroup $cg || die "cannot mount the v1 tmpfs"
  for c in cpuset cpu,cpuacct blkio memory devices freezer net_cls,net_prio perf_event hugetlb pids rdma misc; do
    $b mkdir -p $cg/$c
    $b mount -t cgroup -o $c cgroup $cg/$c || die "cannot mount the v1 $c hierarchy"
  done
  $b ln -s cpu,cpuacct $cg/cpu; $b ln -s cpu,cpuacct $cg/cpuacct
  $b ln -s net_cls,net_prio $cg/net_cls; $b ln -s net_cls,net_prio $cg/net_prio
fi
$b ip link set lo up
$b hostname psc-vm-$mode
echo up >/host/tmp/vm-share/booted
say "up ($mode); running the command"
# The host's root becomes the namespace's root (as switch_root does), not a chroot: the kernel refuses user
# namespaces to a chrooted process (clone(CLONE_NEWUSER) fails with EPERM), and rootless containers need them.
cd /host || die "cannot enter /host"
$b mount --move /host / || die "cannot move the host's root onto /"
$b chroot . /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/tmp/home DOTNET_CLI_HOME=/tmp/home TMPDIR=/tmp LANG=C.UTF-8 TERM=dumb \
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
  PSC_VM_MODE=$mode PSC_VM_SHARE=/tmp/vm-share \
  /bin/bash -c '/bin/bash /tmp/vm-share/command.sh >/tmp/vm-share/output 2>&1 </dev/null; echo $? >/tmp/vm-share/exit-code; sync'
$b sync
say "command ended; powering off"
$b poweroff -f
INIT
chmod +x "$tmp/initramfs/init"
(cd "$tmp/initramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initramfs.gz" || { log "cannot build the initramfs"; exit 125; }
truncate -s 16M "$tmp/disk.img"

cmdline="console=ttyS0 quiet panic=-1 rdinit=/init psc_vm_mode=$mode psi=1"
[ "$mode" = v2 ] && cmdline+=" cgroup_no_v1=all"

# --- boot ---------------------------------------------------------------------------------------------------------------
start=$(date +%s.%N)
# One host thread runs every vCPU (thread=single) unless --tcg multi: with one thread per vCPU, a busy host that
# deschedules one of them left the guest soft-locked for good (a vCPU spinning on a lock the other holds), seen here.
qemu-system-x86_64 -machine q35 -accel "tcg,thread=$tcg" -cpu max -smp "$smp" -m "$mem" \
  -kernel "$kernel" -initrd "$tmp/initramfs.gz" -append "$cmdline" \
  -display none -monitor none -serial "file:$tmp/console.log" -nic none -no-reboot \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$share,mount_tag=share,security_model=none" \
  "${workshare[@]}" \
  -drive "file=$tmp/disk.img,if=virtio,format=raw,cache=unsafe" \
  </dev/null >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!

console_tail() {
  log "console (last lines):"
  tail -n 30 "$tmp/console.log" 2>/dev/null | sed 's/^/    /' >&2
  [ -s "$tmp/qemu.log" ] && sed 's/^/    qemu: /' "$tmp/qemu.log" | tail -n 10 >&2
}
elapsed() { awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }

while [ ! -f "$share/booted" ]; do
  if ! kill -0 "$qemu_pid" 2>/dev/null; then
    log "the VM stopped before it came up"; console_tail; exit 125
  fi
  if awk -v s="$start" -v n="$(date +%s.%N)" -v t="$boot_timeout" 'BEGIN { exit !(n - s > t) }'; then
    log "the VM did not come up within ${boot_timeout}s"; console_tail; exit 125
  fi
  sleep 0.2
done
log "booted in $(elapsed)s ($kver, $smp vCPU, TCG $tcg-threaded, ${mem} MB, cgroup $mode); running: $*"

# Stream the output while the command runs; the VM powers off when it ends.
touch "$share/output"
off=0
flush() {
  local size
  size=$(stat -c %s "$share/output" 2>/dev/null || echo 0)
  if [ "$size" -gt "$off" ]; then tail -c +$((off + 1)) "$share/output" | head -c $((size - off)); off=$size; fi
}
deadline=$(($(date +%s) + timeout))
while kill -0 "$qemu_pid" 2>/dev/null; do
  flush
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "the command did not end within ${timeout}s: killing the VM"; console_tail; exit 124
  fi
  sleep 0.5
done
wait "$qemu_pid" 2>/dev/null
qemu_pid=""
flush
if [ ! -f "$share/exit-code" ]; then
  log "the VM ended before the command did"; console_tail; exit 125
fi
rc=$(cat "$share/exit-code")
log "the command exited $rc after $(elapsed)s in all"
exit "$rc"
