#!/usr/bin/env bash
# Where a seed case's calling thread runs alone (the serial part of its step, which a second core cannot shorten): the
# case under `perf record` (call graphs, .NET perf maps, the JIT's code mapped once so that perf can name it), then
# benchmarks/serial-parts.py over the main thread's samples of the timed steps.
#
#   bash benchmarks/serial-parts.sh <case> [threads 2] [steps 600]      (needs perf: apt-get install linux-perf)
#
# Sampling at 4,999 Hz, 600 steps of imdb-train give ~45,000 samples of the main thread; one step's serial part in ms is
# about (its share) × (the step's time). NANONET_DATA as for `NanoNet.Benchmarks case`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { sed -n '5p' "$0" >&2; exit 2; }
command -v perf >/dev/null || { echo "serial-parts: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
dotnet build benchmarks -c Release -v quiet -nologo >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 perf record -q -F 4999 -g -o "$out/perf.data" \
  dotnet benchmarks/bin/Release/net10.0/NanoNet.Benchmarks.dll case "$1" "${2:-2}" 40 "${3:-600}" 2>/dev/null | grep '^{'
perf script -i "$out/perf.data" -F pid,tid,ip,sym 2>/dev/null | python3 benchmarks/serial-parts.py
