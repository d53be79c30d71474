#!/usr/bin/env bash
# Prints the path of the pwsh the repository pins: the apphost $PSHOME/pwsh of the local PowerShell tool
# (.config/dotnet-tools.json), restoring the tool when it is missing. The scripts that start real pwsh by its apphost
# (the benchmark, the VM lane, docs/first-five-minutes.sh) ask here. The socket every PowerShell host leaves in its
# temporary folder goes with the folder this run gets.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet tool restore >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
home=$(TMPDIR=$tmp dotnet pwsh -NoProfile -NonInteractive -Command '[Console]::Out.Write($PSHOME)')
[ -x "$home/pwsh" ] || { echo "pwsh-path: the PowerShell tool's \$PSHOME ('$home') has no executable pwsh" >&2; exit 1; }
printf '%s\n' "$home/pwsh"
