#!/usr/bin/env bash
# The tests that depend on the cgroup layout, against the already built repository: the engine's xunit tests with
# the trait Layout=cgroup, then tests/pester/Layouts.Tests.ps1 through the project's Pester runner. Meant to run
# inside the VM (tests/vm/run.sh), where it writes "xunit P F S" and "pester P F S" to $PSC_VM_SHARE/counts; it
# also runs as is on any host (the counts then go to $PSC_VM_SHARE or out/test-results/layout).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
out=${PSC_VM_SHARE:-$repo/out/test-results/layout}
mkdir -p "$out"
counts=$out/counts
: >"$counts"
export PSCONTAINERS_TEST_RESULTS=$out

echo "== layout: $(uname -r), $(nproc) CPUs"
grep -E ' - cgroup2? ' /proc/self/mountinfo | awk '{ for (i = 1; i <= NF; i++) if ($i == "-") print "   " $5, $(i+1), $(i+3) }'
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo "   cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers); enabled for children: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
fi

work=$(mktemp -d /tmp/psc-layout.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
dll=$repo/tests/PSContainers.Engine.Tests/bin/Debug/net10.0/PSContainers.Engine.Tests.dll
runner=$repo/tests/PSContainers.PesterRunner/bin/Debug/net10.0/PSContainers.PesterRunner.dll
for f in "$dll" "$runner" "$repo/out/shell/pscsh"; do
  [ -e "$f" ] || { echo "missing $f: run 'dotnet build PSContainers.sln' first"; echo "build 0 1 0" >>"$counts"; exit 1; }
done

echo
echo "== xunit: the engine's tests with the trait Layout=cgroup"
start=$(date +%s)
dotnet test "$dll" --filter "Layout=cgroup" --results-directory "$work/xunit-results" \
  --logger "console;verbosity=normal" 2>&1 | grep -vE '^An issue was encountered verifying workloads' | tee "$work/xunit.log"
xstatus=${PIPESTATUS[0]}
# With the normal console verbosity VSTest ends with "Total tests: N", then "Passed: N", "Failed: N", "Skipped: N"
# (a line only when not 0); the short form "Passed!  - Failed: N, Passed: N, Skipped: N" is read too.
total=$(sed -nE 's/^Total tests: *([0-9]+).*/\1/p' "$work/xunit.log" | tail -1)
short=$(grep -E '^(Passed|Failed)! +- Failed:' "$work/xunit.log" | tail -1)
if [ -n "$total" ]; then
  n() { sed -nE "s/^ +$1: *([0-9]+) *\$/\\1/p" "$work/xunit.log" | tail -1; }
  xp=$(n Passed) xf=$(n Failed) xs=$(n Skipped)
  echo "xunit ${xp:-0} ${xf:-0} ${xs:-0}" >>"$counts"
  [ "$xstatus" -eq 0 ] || status=1
elif [ -n "$short" ]; then
  echo "$short" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/xunit \2 \1 \3/' >>"$counts"
  [ "$xstatus" -eq 0 ] || status=1
else
  echo "xunit 0 1 0" >>"$counts"; status=1
  echo "(the test run printed no summary: exit $xstatus)"
fi
echo "   xunit took $(($(date +%s) - start)) s"

echo
echo "== Pester: tests/pester/Layouts.Tests.ps1 through the built module and the Shell"
start=$(date +%s)
dotnet "$runner" -ModulePath "$repo/out" "$repo/tests/pester/Layouts.Tests.ps1" 2>&1 | tee "$work/pester.log"
pstatus=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$work/pester.log" | tail -1)
if [ -n "$line" ]; then
  echo "$line" | sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/pester \1 \2 \4/' | awk '{ print $1, $2, $3, ($4 == "" ? 0 : $4) }' >>"$counts"
  [ "$pstatus" -eq 0 ] || status=1
else
  echo "pester 0 1 0" >>"$counts"; status=1
  echo "(the Pester runner printed no summary: exit $pstatus)"
fi
echo "   Pester took $(($(date +%s) - start)) s"

# Nothing of the tests' may be left: no cgroup of theirs, no process but this script's own.
left=$(find /sys/fs/cgroup -maxdepth 2 -type d \( -name 'psc-*' -o -name pscontainers \) 2>/dev/null)
if [ -n "$left" ]; then
  echo "left behind:"; echo "$left"
  echo "leftovers 0 1 0" >>"$counts"; status=1
else
  echo "leftovers 1 0 0" >>"$counts"
fi
exit $status
