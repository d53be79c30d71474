#!/usr/bin/env bash
# The VM test lane: the layout-dependent tests (tests/vm/layout-tests.sh) on a real pure cgroup v2 kernel and a real
# pure cgroup v1 kernel, each booted by tests/vm/run.sh. Run after `dotnet build PSContainers.sln`, as root:
#
#   tests/vm/lane.sh [--modes "v2 v1"] [--results DIR] [--timeout SEC]
#
# Prints, per mode, the layout, every test with its outcome, the counts and the time, and ends with one line per mode:
#   vm-v2: N passed, N failed, N skipped
#   vm-v1: N passed, N failed, N skipped
# A VM that does not come up, or a run that does not end within the timeout, counts as one failure of its mode.
# Exit code 0 when nothing failed. Not x86-64 or not root: each mode is one skipped test, with the reason.
set -uo pipefail
cd "$(dirname "$0")/../.."
modes="v2 v1" results=$PWD/out/test-results/vm timeout=1800
while (($#)); do
  case $1 in
    --modes) modes=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "lane.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

summary=()
failed_any=0
# The lane boots an x86-64 kernel as root; elsewhere each mode is one skipped test with the reason.
why=""
[ "$(uname -m)" = x86_64 ] || why="needs an x86-64 host (Debian's linux-image-amd64 under qemu-system-x86_64), not $(uname -m)"
[ "$(id -u)" = 0 ] || why="needs root (qemu exports / over 9p with the files' real owners; the tests make cgroups)"
if [ -n "$why" ]; then
  for mode in $modes; do echo "=== VM lane, mode $mode: skipped: $why"; summary+=("vm-$mode: 0 passed, 0 failed, 1 skipped"); done
  echo; printf '%s\n' "${summary[@]}"; exit 0
fi
# Real pwsh inside the VM: the host's restored PowerShell tool ($PSHOME of `dotnet pwsh`), read like the rest of the
# host's root over the VM's read-only 9p share and started by its apphost; Pester from the host's NuGet cache. The
# rootless test runs pwsh as another uid, which cannot enter /root: the copy of $PSHOME it uses
# (Get-PwshForAnyUser, out/pwsh-any-user) is made here, since out/ is read-only inside. Each pwsh started here removes
# its own /tmp/CoreFxPipe_PSHost.* socket (every PowerShell host makes one and leaves it behind).
pwsh_path=$(tests/pwsh-path.sh) || {
  echo "=== VM lane: no real pwsh (tests/pwsh-path.sh failed): run 'dotnet build PSContainers.sln' first"
  for mode in $modes; do summary+=("vm-$mode: 0 passed, 1 failed, 0 skipped"); done
  echo; printf '%s\n' "${summary[@]}"; exit 1
}
pwsh_home=$(dirname "$pwsh_path")
"$pwsh_path" -NoProfile -NonInteractive -Command '. ./tests/pester/Common.ps1; $null = Get-PwshForAnyUser; Remove-Item -Path ([IO.Path]::GetTempPath() + "CoreFxPipe_PSHost.*.$PID.*") -ErrorAction Ignore' ||
  echo "=== VM lane: warning: could not prepare the copy of $pwsh_home for other users (the rootless test will fail)"
vm_env=(env "PSC_PWSH=$pwsh_path" "NUGET_PACKAGES=${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  POWERSHELL_TELEMETRY_OPTOUT=1 POWERSHELL_UPDATECHECK=Off)
for mode in $modes; do
  share=$results/$mode
  rm -rf "$share"
  mkdir -p "$share"
  echo "=== VM lane, mode $mode: pure cgroup $mode kernel; xunit Layout=cgroup + tests/pester/Layouts.Tests.ps1 (Pester 5.9.1, pwsh $pwsh_home)"
  start=$(date +%s)
  tests/vm/run.sh --mode "$mode" --timeout "$timeout" --share "$share" -- "${vm_env[@]}" bash tests/vm/layout-tests.sh 2>&1 | tee "$results/$mode.log"
  rc=${PIPESTATUS[0]}
  took=$(($(date +%s) - start))
  p=0 f=0 s=0
  if [ -s "$share/counts" ]; then
    while read -r line; do
      if [[ $line =~ ^([a-z]+)\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]; then
        echo "    ${BASH_REMATCH[1]}: ${BASH_REMATCH[2]} passed, ${BASH_REMATCH[3]} failed, ${BASH_REMATCH[4]} skipped"
        p=$((p + BASH_REMATCH[2])); f=$((f + BASH_REMATCH[3])); s=$((s + BASH_REMATCH[4]))
      else
        echo "    unreadable count line: '$line'"; f=$((f + 1))
      fi
    done <"$share/counts"
  fi
  if [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
    echo "    vm-$mode: no test reported a result"; f=$((f + 1))
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    case $rc in
      124) why="did not end within ${timeout}s" ;;
      125) why="the VM did not come up or died" ;;
      *) why="exited $rc without a failed test" ;;
    esac
    echo "    vm-$mode: $why"
    f=$((f + 1))
  fi
  echo "=== mode $mode took ${took}s"
  summary+=("vm-$mode: $p passed, $f failed, $s skipped")
  [ "$f" -eq 0 ] || failed_any=1
done
echo
printf '%s\n' "${summary[@]}"
exit $failed_any
