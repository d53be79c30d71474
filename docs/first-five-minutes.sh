#!/usr/bin/env bash
# Regenerates docs/first-five-minutes.md: a newcomer's first five minutes in real pwsh (help, completion,
# a container with limits, its stats, stopping it), typed into one interactive pwsh session and recorded as it ran.
#
#   sudo bash docs/first-five-minutes.sh        (after `dotnet build PSContainers.sln`; needs root for the container)
#
# The session uses the defaults a newcomer gets (depot /run/pscontainers, cgroup root /pscontainers), so the script
# refuses to run when either is in use, and removes what the session made when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/first-five-minutes.md
ls out/PSContainers/*/PSContainers.psd1 >/dev/null 2>&1 || { echo "build first: dotnet build PSContainers.sln" >&2; exit 1; }
# Real pwsh: the PowerShell tool pinned in .config/dotnet-tools.json (its apphost in $PSHOME), with the built module
# first on PSModulePath, as a newcomer who put out/ there would have it.
shell=$(tests/pwsh-path.sh)
export PSModulePath=$PWD/out
[ "$(id -u)" -eq 0 ] || { echo "run as root: the session starts a container with limits" >&2; exit 1; }
unset PSCONTAINERS_DEPOT PSCONTAINERS_CGROUP_ROOT PSCONTAINERS_MODULE_PATH
if [ -n "$(ls -A /run/pscontainers 2>/dev/null | grep -v '^\.lock$' || true)" ] || ls -d /sys/fs/cgroup/*/pscontainers/* >/dev/null 2>&1; then
  echo "the default depot or cgroup root is in use; not touching it" >&2; exit 1
fi

# What the newcomer types, one line each.
commands=(
  'Get-Command -Module PSContainers | Format-Wide -Column 3'
  'Get-Help New-Container -Parameter MemoryLimit'
  '(TabExpansion2 -inputScript ($s = "New-Container -Mem") -cursorColumn $s.Length).CompletionMatches | ForEach-Object CompletionText'
  'New-Container -Name web /bin/sh -ArgumentList "-c", "while :; do :; done" -MemoryLimit 256MB -CpuLimit 0.5 -PidsLimit 100 | Start-Container -PassThru'
  '(TabExpansion2 -inputScript ($s = "Get-ContainerStats -Name w") -cursorColumn $s.Length).CompletionMatches | ForEach-Object CompletionText'
  'Get-ContainerStats -Name web -Count 3'
  'Get-CGroup -Path web'
  '(TabExpansion2 -inputScript ($s = "Set-CGroupLimit -Path ") -cursorColumn $s.Length).CompletionMatches | ForEach-Object CompletionText'
  'Set-CGroupLimit -Container web -CpuLimit 0.25 -WhatIf'
  'Stop-Container -Name web -PassThru'
  'Get-ContainerEvent -Name web'
  'Remove-Container -Name web'
  'Get-Container'
  'Get-Help about_PSContainers | ForEach-Object { ($_ -split "`n")[0..7] -join "`n" }'
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "${commands[@]}" > "$tmp/input"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# One session: stdin is the typed lines; stdout and stderr share one pipe, in the order pwsh wrote them.
# pwsh echoes each line it reads after its prompt, as a terminal would show it; with the output not a terminal, its
# width is 80 columns.
(cd /tmp && TERM=dumb "$shell" -NoProfile < "$tmp/input" > "$tmp/transcript" 2>&1) || true
# Whatever happens, leave nothing behind.
"$shell" -NoProfile -NonInteractive -Command 'Get-Container | Remove-Container -Force -Confirm:$false; if (Get-CGroup -Path /pscontainers -ErrorAction SilentlyContinue) { Remove-CGroup -Path /pscontainers -Recurse -Force -Confirm:$false }' >/dev/null 2>&1 || true


{
  echo '# The first five minutes'
  echo
  echo "A newcomer's first session in real pwsh (\`dotnet pwsh\`, the PowerShell tool the repository pins), after \`dotnet build PSContainers.sln\`: what the"
  echo 'module offers, help for a parameter, completion (through `TabExpansion2`, which is what the Tab key calls in pwsh),'
  echo 'a container with memory, CPU and process limits, its usage, a planned limit change, stopping and removing it.'
  echo
  echo "Everything below is the real output of one session, recorded by \`docs/first-five-minutes.sh\` on $started"
  echo '(run it again as root to regenerate this page). The commands were typed at the prompt, 80 columns wide; pwsh'
  echo 'echoed each after its prompt, as a terminal would show it.'
  echo
  echo '```text'
  cat "$tmp/transcript"
  echo '```'
  echo
  echo 'Next: `Get-Help about_PSContainers` for the concepts, `Get-Help <cmdlet> -Examples` for each cmdlet, and'
  echo '[remoting.md](remoting.md) for many hosts.'
} > "$out"
echo "wrote $out"
