#!/usr/bin/env bash
# The tests that depend on the cgroup layout, against the already built repository: the engine's xunit tests with
# the trait Layout=cgroup, Layout=storage or Layout=network, then tests/pester/Layouts.Tests.ps1 with real Pester (tests/Invoke-PesterSuite.ps1) in real
# pwsh. Meant to run inside the VM (tests/vm/run.sh), where it writes "xunit P F S" and "pester P F S" to
# $PSC_VM_SHARE/counts; it also runs as is on any host (the counts then go to $PSC_VM_SHARE or
# out/test-results/layout).
#
# pwsh is $PSC_PWSH (lane.sh passes the apphost of the host's PowerShell tool, read over the VM's share), else the
# restored local tool's ($PSHOME of `dotnet pwsh`). Pester comes from the NuGet cache, $NUGET_PACKAGES or
# ~/.nuget/packages (inside the VM HOME is a tmpfs, so lane.sh passes the host's folder).
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
pwsh=${PSC_PWSH:-}
[ -n "$pwsh" ] || pwsh=$("$repo/tests/pwsh-path.sh" 2>/dev/null) || pwsh=
for f in "$dll" "$pwsh"; do
  [ -n "$f" ] && [ -e "$f" ] || { echo "missing ${f:-pwsh}: run 'dotnet build PSContainers.sln' first"; echo "build 0 1 0" >>"$counts"; exit 1; }
done

echo
echo "== xunit: the engine's tests with the trait Layout=cgroup, Layout=storage or Layout=network"
start=$(date +%s)
dotnet test "$dll" --filter "Layout=cgroup|Layout=storage|Layout=network" --results-directory "$work/xunit-results" \
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
# The layout tests. (The sandbox and process tests run above, in xunit: Processes.Tests.ps1 too would add 200 s per
# kernel on this slow VM; it can be added here as processes:Processes.)
for pair in layouts:Layouts; do
name=${pair%%:*} file=${pair#*:}.Tests.ps1
echo "== Pester: tests/pester/$file with real Pester in real pwsh ($pwsh)"
start=$(date +%s)
rm -f "$out/$name.counts"
"$pwsh" -NoProfile -NonInteractive -File "$repo/tests/Invoke-PesterSuite.ps1" -Path "$repo/tests/pester/$file" \
  -ResultsDir "$out" -Name "$name" 2>&1 | tee "$work/pester-$name.log"
pstatus=${PIPESTATUS[0]}
# Invoke-PesterSuite.ps1 writes "passed failed skipped" to <name>.counts (and NUnit XML to <name>.xml) and exits
# with the number of failed tests, or 1 when the run itself failed.
# (The file has no final newline: read as a whole.)
pc=$(cat "$out/$name.counts" 2>/dev/null)
if [[ $pc =~ ^([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]; then
  pp=${BASH_REMATCH[1]} pf=${BASH_REMATCH[2]} ps=${BASH_REMATCH[3]}
  if [ "$pstatus" -ne 0 ] && [ "$pf" -eq 0 ]; then pf=1; echo "(the Pester run failed without a failed test: exit $pstatus)"; fi
  echo "pester $pp $pf $ps" >>"$counts"
  [ "$pstatus" -eq 0 ] || status=1
else
  echo "pester 0 1 0" >>"$counts"; status=1
  echo "(the Pester run wrote no counts: exit $pstatus)"
fi
echo "   Pester ($file) took $(($(date +%s) - start)) s"
echo
done

# Nothing of the tests' may be left: no cgroup of theirs, no process but this script's own.
left=$(find /sys/fs/cgroup -maxdepth 2 -type d \( -name 'psc-*' -o -name pscontainers \) 2>/dev/null)
if [ -n "$left" ]; then
  echo "left behind:"; echo "$left"
  echo "leftovers 0 1 0" >>"$counts"; status=1
else
  echo "leftovers 1 0 0" >>"$counts"
fi
exit $status
