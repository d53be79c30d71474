#!/usr/bin/env bash
# bench/run.sh: the PSContainers performance benchmark (issue 5), side by side with the peers, in one command.
#
#   sudo bench/run.sh            full run (a few minutes): prints one table of medians, p99 and ratios
#   sudo bench/run.sh --smoke    a few iterations of everything, so the benchmark cannot rot (no times asserted)
#   PSC_BENCH_ONLY=start,cmdlet  only these parts (hyperfine,start,cmdlet,stop,memory,scale), e.g. while profiling
#
# Installs the peers from Debian's packages when missing (hyperfine, bubblewrap, runc, cgroup-tools, util-linux),
# builds the project in Release, builds bench/PSContainers.Bench, measures, prints the table and keeps a copy in
# out/bench/latest.md. Everything it makes (cgroups named <tag>*, /run/<tag>, /tmp/<tag>, runc containers
# named <tag>-runc and <tag>-runcx, the podman container <tag>-pod and image <tag>-img, and podman's libpod_parent
# cgroups when this run made them) is removed on exit, also
# on failure or Ctrl+C. See docs/performance.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=full
case "${1:-}" in
  --smoke) MODE=smoke ;;
  "") ;;
  *) echo "usage: $0 [--smoke]" >&2; exit 2 ;;
esac
if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh needs root (namespaces, cgroups, runc)" >&2
  exit 1
fi

if [ "$MODE" = smoke ]; then
  ITER=5 WARM=2 HF_RUNS=3 HF_WARM=1 COLD_RUNS=1 SCALE=10 STOP_PROCS=100 STOP_RUNS=1
else
  ITER=${PSC_BENCH_ITERATIONS:-200} WARM=20 HF_RUNS=100 HF_WARM=10 COLD_RUNS=10 SCALE=${PSC_BENCH_SCALE:-1000} STOP_PROCS=1000 STOP_RUNS=5
fi

T_START=$(date +%s)
# ---------------------------------------------------------------- peers
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v runc >/dev/null || missing+=(runc)
command -v cgexec >/dev/null || missing+=(cgroup-tools)
command -v unshare >/dev/null || missing+=(util-linux)
# podman (exec into a standing container, its image imported from a local rootfs tar: nothing from a registry) only
# for a full run: it brings many packages.
[ "$MODE" = smoke ] || command -v podman >/dev/null || missing+=(podman)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing the peers (missing: ${missing[*]})"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "warning: apt-get failed; peers that are missing are skipped" >&2
  fi
fi
have() { command -v "$1" >/dev/null; }

# ---------------------------------------------------------------- cleanup of everything this run makes
TAG=psc-bench-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
LIBPOD_BEFORE=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name libpod_parent 2>/dev/null | wc -l)
WORK=/tmp/$TAG
cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  if have runc; then runc delete -f "$TAG-runc" >/dev/null 2>&1; runc delete -f "$TAG-runcx" >/dev/null 2>&1; fi
  if have podman; then podman rm -f "$TAG-pod" >/dev/null 2>&1; podman rmi -f "localhost/$TAG-img" >/dev/null 2>&1; fi
  # podman (cgroupfs manager) leaves libpod_parent/ and its conmon/ cgroup behind: removed when this run made them
  # (they were not there before it) and they are empty.
  if [ "$LIBPOD_BEFORE" = 0 ]; then
    find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -depth -type d -path '*/libpod_parent*' -exec rmdir {} \; 2>/dev/null
  fi
  # Only cgroups whose name starts with this run's tag: kill what is left in them, then rmdir deepest first.
  local d
  for d in $(find /sys/fs/cgroup -mindepth 1 -maxdepth 5 -type d -name "$TAG*" 2>/dev/null | sort -r); do
    while read -r pid; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  for d in $(find /sys/fs/cgroup -mindepth 1 -maxdepth 5 -type d -path "*/$TAG*" 2>/dev/null | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-); do
    for _ in 1 2 3 4 5; do rmdir "$d" 2>/dev/null && break; [ -d "$d" ] || break; sleep 0.2; done
  done
  rm -rf "$WORK" "/run/$TAG"
  local left
  left=$(find /sys/fs/cgroup -maxdepth 5 -type d -name "$TAG*" 2>/dev/null | wc -l)
  [ "$left" = 0 ] || echo "warning: $left cgroups named $TAG* are left" >&2
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/hyperfine"

# ---------------------------------------------------------------- build
echo "== building (Release)"
cd "$ROOT"
dotnet build PSContainers.sln -c Release -nologo -v q >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
dotnet build bench/PSContainers.Bench -c Release -nologo -v q >>"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
cc -static -O2 -o "$WORK/stamp" bench/stamp.c
VERSION=$(sed -n "s/.*ModuleVersion *= *'\([0-9.]*\)'.*/\1/p" module/PSContainers.psd1 | head -1)
PSD1=$ROOT/out/PSContainers/$VERSION/PSContainers.psd1
# Real pwsh: the apphost of the restored local tool (tests/pwsh-path.sh).
PWSH=$("$ROOT/tests/pwsh-path.sh")
BENCH=$ROOT/bench/PSContainers.Bench/bin/Release/net10.0/psc-bench
STAMP=$WORK/stamp

# ---------------------------------------------------------------- the peers' setups: same limits, same namespaces
args=()
CG=""
if have cgexec; then
  CG=$TAG-cgexec
  mkdir "/sys/fs/cgroup/memory/$CG" "/sys/fs/cgroup/pids/$CG" 2>/dev/null || mkdir "/sys/fs/cgroup/$CG"
  if [ -d "/sys/fs/cgroup/memory/$CG" ]; then
    echo $((64 << 20)) >"/sys/fs/cgroup/memory/$CG/memory.limit_in_bytes"
    echo 100 >"/sys/fs/cgroup/pids/$CG/pids.max"
  else # pure v2
    echo $((64 << 20)) >"/sys/fs/cgroup/$CG/memory.max"; echo 100 >"/sys/fs/cgroup/$CG/pids.max"
  fi
  args+=(--cgexec-group "$CG")
fi
BUNDLE=""
if have runc && have jq; then
  BUNDLE=$WORK/bundle
  mkdir -p "$BUNDLE/rootfs/proc"
  cp "$STAMP" "$BUNDLE/rootfs/stamp"
  (cd "$BUNDLE" && runc spec)
  jq --arg cg "/$TAG-runc/ctr" '
    .process.args = ["/stamp"] | .process.terminal = false | .root.readonly = true | .hostname = "bench"
    | .linux.namespaces = [{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"}]
    | .linux.resources.memory = {"limit": 67108864} | .linux.resources.pids = {"limit": 100}
    | .linux.cgroupsPath = $cg' "$BUNDLE/config.json" >"$BUNDLE/config.new" && mv "$BUNDLE/config.new" "$BUNDLE/config.json"
  args+=(--runc-bundle "$BUNDLE")
fi

# Standing containers to exec into: runc's (the same bundle, running `stamp pause`) and podman's (an image imported
# from a tar of the same rootfs, no network; rlimits below the host's, since podman's defaults raise them, which a
# root without CAP_SYS_RESOURCE may not).
if [ -n "$BUNDLE" ]; then
  cp -r "$BUNDLE" "$WORK/bundlex"
  jq --arg cg "/$TAG-runcx/ctr" '.process.args = ["/stamp", "pause"] | .linux.cgroupsPath = $cg' "$BUNDLE/config.json" >"$WORK/bundlex/config.json"
  if runc run -d -b "$WORK/bundlex" "$TAG-runcx" </dev/null >/dev/null 2>&1; then args+=(--runc-exec "$TAG-runcx"); fi
fi
if have podman && [ "$MODE" != smoke ]; then
  mkdir -p "$WORK/prootfs" && cp "$STAMP" "$WORK/prootfs/stamp"
  if tar -C "$WORK/prootfs" -c . | podman import -q - "localhost/$TAG-img" >/dev/null &&
     podman run -d --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --name "$TAG-pod" "localhost/$TAG-img" /stamp pause >/dev/null; then
    args+=(--podman-exec "$TAG-pod")
  else
    echo "warning: podman could not run the imported image; podman exec is left out" >&2
  fi
fi

# ---------------------------------------------------------------- hyperfine: peers (warm) and real pwsh (cold)
hf() { # label runs warmup command...
  local label=$1 runs=$2 warm=$3; shift 3
  echo "   hyperfine: $label"
  hyperfine -N --style none --warmup "$warm" --runs "$runs" --export-json "$WORK/hyperfine/$label.json" "$@" >>"$WORK/hyperfine.log" 2>&1 \
    || { echo "warning: hyperfine $label failed:"; tail -5 "$WORK/hyperfine.log"; rm -f "$WORK/hyperfine/$label.json"; }
}
ONLY=${PSC_BENCH_ONLY:-}
part() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }
if have hyperfine && part hyperfine; then
  echo "== hyperfine (runs $HF_RUNS, warmup $HF_WARM)"
  hf floor-dyn "$HF_RUNS" "$HF_WARM" /bin/true
  hf floor "$HF_RUNS" "$HF_WARM" "$STAMP"
  hf unshare "$HF_RUNS" "$HF_WARM" "unshare --pid --fork --mount --uts --ipc --mount-proc $STAMP"
  have bwrap && hf bwrap "$HF_RUNS" "$HF_WARM" "bwrap --dev-bind / / --unshare-pid --unshare-ipc --unshare-uts --proc /proc $STAMP"
  [ -n "$CG" ] && hf cgexec "$HF_RUNS" "$HF_WARM" "cgexec -g memory,pids:$CG $STAMP"
  [ -n "$BUNDLE" ] && hf runc "$HF_RUNS" "$HF_WARM" "runc run -b $BUNDLE $TAG-runc"
  # Cold: a new real pwsh process each run (the tool's apphost, no profile), with its own depot and cgroup root. The
  # module is found as a user's session finds it: auto-loaded from PSModulePath (out/, where the build puts it), on
  # the first use of one of its commands.
  # Every PowerShell host leaves a socket /tmp/CoreFxPipe_PSHost.<time>.<pid>.None.<process> behind (the
  # Enter-PSHostProcess pipe); the ones these runs make are removed below.
  pipes() { ls /tmp/CoreFxPipe_PSHost.*.pwsh /tmp/CoreFxPipe_PSHost.*.dotnet 2>/dev/null | sort || true; }
  pipes_before=$(pipes)
  export PSCONTAINERS_DEPOT=$WORK/cold-depot PSCONTAINERS_CGROUP_ROOT=/$TAG-cold PSModulePath=$ROOT/out
  hf "cold-pwsh -c exit" "$COLD_RUNS" 1 "$PWSH -NoProfile -c exit"
  hf "cold-dotnet pwsh -c exit (tool shim)" "$COLD_RUNS" 1 "dotnet pwsh -NoProfile -c exit"
  hf "cold-pwsh module auto-load only" "$COLD_RUNS" 1 "$PWSH -NoProfile -c 'Get-Command New-Container | ForEach-Object { }'"
  hf "cold-pwsh -c 'Start-Container -Wait'" "$COLD_RUNS" 1 \
    "$PWSH -NoProfile -c 'New-Container -Name cold /bin/true -MemoryLimit 64MB -PidsLimit 100 | Start-Container -Wait; Remove-Container cold'"
  unset PSCONTAINERS_DEPOT PSCONTAINERS_CGROUP_ROOT PSModulePath
  # New since the cold runs began and their process gone: ours (another session's live hosts keep theirs).
  comm -13 <(printf '%s\n' "$pipes_before") <(pipes) |
    while read -r f; do
      pid=$(basename "$f" | cut -d. -f3)
      if [ -n "$f" ] && [ -n "$pid" ] && [ ! -d "/proc/$pid" ]; then rm -f -- "$f"; fi
    done || true
fi

# ---------------------------------------------------------------- the warm measurements, merged into one table
echo "== psc-bench (iterations $ITER + $WARM warm-up, scale $SCALE, stop $STOP_PROCS procs x $STOP_RUNS)"
mkdir -p "$ROOT/out/bench"
set +e
"$BENCH" --tag "$TAG" --stamp "$STAMP" --module "$PSD1" --hyperfine "$WORK/hyperfine" --markdown "$ROOT/out/bench/latest.md" \
  --iterations "$ITER" --warmup "$WARM" --scale "$SCALE" --stop-procs "$STOP_PROCS" --stop-runs "$STOP_RUNS" "${args[@]}" \
  ${ONLY:+--only "$ONLY"}
rc=$?
set -e
{
  echo
  echo "Machine: nproc $(nproc), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo "bench/run.sh ($MODE) took $(( $(date +%s) - T_START )) s"
} | tee -a "$ROOT/out/bench/latest.md"
exit $rc
