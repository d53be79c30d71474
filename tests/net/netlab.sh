#!/usr/bin/env bash
# tests/net/netlab.sh: a small network lab of two network namespaces for the network tests and bench/network.ps1.
#
#   netlab.sh [-v] up <dir>                           make the lab in <dir> (which must not exist, or be empty)
#   netlab.sh [-v] down <dir>                         tear it down (never fails, bounded in time)
#   netlab.sh run <dir> host|outside <command...>     run a command inside one of its namespaces
#
# What `up` makes, all of it inside <dir>:
#   <dir>/host      a network namespace (a bind mount of its nsfs file, made by `unshare --net=<file> true`): the
#                   "host" a test points the module at ($env:PSCONTAINERS_HOST_NETNS). lo up; `uplink0`
#                   198.51.100.1/24 up; a default route via 198.51.100.2, so it has an uplink like a real machine.
#   <dir>/outside   a second network namespace: "the outside world". lo up; `eth0` 198.51.100.2/24 up.
#   uplink0 <-> eth0 is one veth pair between the two. net.ipv4.ip_forward is left as the kernel makes it (0).
#
# Nothing in the lab reaches the machine's real interfaces: both namespaces are new and empty when made, the only
# link in them is the veth pair between the two of them, and the addresses are TEST-NET-2 (198.51.100.0/24,
# RFC 5737) only. No /run/netns entry is made (no `ip netns add`); every command that configures a namespace runs
# through `nsenter --net=<file>` or `ip link ... netns <file>`. A namespace lives as long as its bind mount or any
# process in it, so `down` kills the processes still inside, then unmounts the files; the veth pair goes with them.
#
# `up` prints nothing on success (unless -v) and tears down whatever it made when a step fails. The bind mounts
# belong to the mount namespace `up` ran in: run `down` in the same one.
set -euo pipefail

VERBOSE=0
HOST_ADDR=198.51.100.1
OUTSIDE_ADDR=198.51.100.2
PREFIX=24

usage() {
  echo "usage: $0 [-v] up <dir> | down <dir> | run <dir> host|outside <command...>" >&2
  exit 2
}

say() { if [ "$VERBOSE" = 1 ]; then echo "netlab: $*"; fi; }

# Runs a command in the lab namespace file $1.
in_ns() {
  local ns=$1
  shift
  nsenter --net="$ns" -- "$@"
}

# The inode of a namespace file when it is a live namespace bind mount, else nothing.
ns_inode() {
  local file=$1
  [ -e "$file" ] || return 0
  mountpoint -q "$file" 2>/dev/null || return 0
  stat -L -c %i "$file" 2>/dev/null || true
}

# Pids of the processes whose network namespace has inode $1: one stat over every /proc/<pid>/ns/net (a readlink
# per process forked once per pid, which took over 30 s under the VM lane's emulated CPUs).
pids_in() {
  stat -L -c '%i %n' /proc/[0-9]*/ns/net 2>/dev/null | awk -v ino="$1" -v self="$$" '
    $1 == ino { split($2, p, "/"); if (p[3] != self) print p[3] }' || true   # stat fails on pids that ended meanwhile
}

teardown() {
  local dir=$1 name file ino pids tries
  [ -d "$dir" ] || return 0
  for name in host outside; do
    file=$dir/$name
    ino=$(ns_inode "$file")
    if [ -n "$ino" ]; then
      # SIGKILL everything still inside, until nothing is (bounded: ~5 s).
      for tries in $(seq 1 50); do
        pids=$(pids_in "$ino")
        [ -z "$pids" ] && break
        say "killing in $name: $(echo "$pids" | tr '\n' ' ')"
        # shellcheck disable=SC2086 # one pid per word
        kill -9 $pids 2>/dev/null || true
        [ "$tries" = 50 ] && echo "netlab: processes still in $file: $pids" >&2
        sleep 0.1
      done
    fi
    # Unmount (every stacked mount); lazily when busy.
    for tries in 1 2 3 4 5; do
      if ! { [ -e "$file" ] && mountpoint -q "$file" 2>/dev/null; }; then break; fi
      umount "$file" 2>/dev/null || umount -l "$file" 2>/dev/null || true
    done
    if [ -e "$file" ] && mountpoint -q "$file" 2>/dev/null; then
      echo "netlab: $file is still mounted" >&2
    fi
  done
  # Remove the folder only when nothing in it is still a mount point (rm would otherwise cross into it).
  if ! { mountpoint -q "$dir/host" 2>/dev/null || mountpoint -q "$dir/outside" 2>/dev/null; }; then
    rm -rf -- "$dir"
  fi
  say "down: $dir"
}

UP_DIR=""
UP_MADE_DIR=0
# The EXIT trap of a failed `up`: tears down what it made.
up_failed() {
  local rc=$?
  trap - EXIT
  if [ "$rc" != 0 ] && [ -n "$UP_DIR" ]; then
    echo "netlab: up failed (exit $rc); tearing down $UP_DIR" >&2
    teardown "$UP_DIR"
    if [ "$UP_MADE_DIR" = 0 ]; then mkdir -p -- "$UP_DIR"; fi
  fi
  exit "$rc"
}

up() {
  local dir=$1
  if [ -e "$dir" ] && [ -n "$(ls -A -- "$dir" 2>/dev/null)" ]; then
    echo "netlab: $dir exists and is not empty" >&2
    exit 1
  fi
  local made_dir=0
  [ -d "$dir" ] || made_dir=1
  mkdir -p -- "$dir"
  dir=$(cd -- "$dir" && pwd)
  # On any failure from here on (set -e exits): undo all of it, keeping the folder when it was there before.
  UP_DIR=$dir
  UP_MADE_DIR=$made_dir
  trap up_failed EXIT
  local host=$dir/host outside=$dir/outside
  touch -- "$host" "$outside"
  unshare --net="$host" true
  unshare --net="$outside" true
  say "namespaces: $host $outside"
  in_ns "$host" ip link set lo up
  in_ns "$outside" ip link set lo up
  in_ns "$host" ip link add uplink0 type veth peer name eth0 netns "$outside"
  in_ns "$host" ip addr add "$HOST_ADDR/$PREFIX" dev uplink0
  in_ns "$outside" ip addr add "$OUTSIDE_ADDR/$PREFIX" dev eth0
  in_ns "$host" ip link set uplink0 up
  in_ns "$outside" ip link set eth0 up
  in_ns "$host" ip route add default via "$OUTSIDE_ADDR" dev uplink0
  # The kernel reports carrier on a new veth a moment later (link watch): wait for both ends (bounded, ~2 s), so the
  # first packet of a test is not raced against it.
  local i
  for i in $(seq 1 100); do
    if in_ns "$host" ip -o link show uplink0 | grep -q 'state UP' && in_ns "$outside" ip -o link show eth0 | grep -q 'state UP'; then
      break
    fi
    [ "$i" != 100 ] || { echo "netlab: the veth pair did not come up" >&2; return 1; }
    sleep 0.02
  done
  trap - EXIT
  say "up: $dir (host uplink0 $HOST_ADDR <-> outside eth0 $OUTSIDE_ADDR)"
}

while [ $# -gt 0 ]; do
  case "$1" in
    -v) VERBOSE=1; shift ;;
    -h|--help) usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
[ -n "$dir" ] || usage
case "$cmd" in
  up)
    [ $# -eq 0 ] || usage
    [ "$(id -u)" = 0 ] || { echo "netlab: needs root (network namespaces, veth)" >&2; exit 1; }
    up "$dir"
    ;;
  down)
    [ $# -eq 0 ] || usage
    teardown "$dir"
    ;;
  run)
    [ $# -ge 2 ] || usage
    which=$1
    shift
    case "$which" in
      host|outside) ;;
      *) usage ;;
    esac
    ns_file=$dir/$which
    [ -n "$(ns_inode "$ns_file")" ] || { echo "netlab: $ns_file is not a network namespace" >&2; exit 1; }
    exec nsenter --net="$ns_file" -- "$@"
    ;;
  *) usage ;;
esac
