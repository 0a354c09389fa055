#!/usr/bin/env bash
# This tree against another commit on one seed-model case: both built once, then run alternately in fresh processes
# (the base first in odd pairs, this tree first in even ones), each process timing the median of its steps after the
# warm-up; prints every pair's two medians and their ratio, then the median ratio and how many pairs this tree won.
# On a machine whose speed drifts from minute to minute, only such back-to-back pairs tell a 3% change from the noise.
#
#   bash benchmarks/ab-compare.sh --base REV [--pairs 4] [--threads 2] [--warmup 40] [--steps 100] [--op REGEX] case
#
#   --base REV    the commit to compare against (checked out once in ${TMPDIR:-/tmp}/nanonet-ab-<sha>, kept for reuse)
#   --op REGEX    also profile both sides (NANONET_PROFILE=1) and print the ms/call of the profiler rows matching REGEX,
#                 e.g. --op 'Lstm +forward'
#   case          as for `NanoNet.Benchmarks case` (imdb-train, text-train, keras-cifar10-train, ...; NANONET_DATA for the
#                 cases that read data)
set -euo pipefail
cd "$(dirname "$0")/.."

base="" pairs=4 threads=2 warmup=40 steps=100 op="" casename=""
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --pairs) pairs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --op) op="$2"; shift 2 ;;
    -*) echo "ab-compare: unknown option $1" >&2; exit 2 ;;
    *) [ -z "$casename" ] || { echo "ab-compare: one case at a time (got $casename and $1)" >&2; exit 2; }; casename="$1"; shift ;;
  esac
done
[ -n "$base" ] && [ -n "$casename" ] || { sed -n '7,14p' "$0" >&2; exit 2; }

sha=$(git rev-parse --verify "$base^{commit}")
tree="${TMPDIR:-/tmp}/nanonet-ab-${sha:0:12}"
[ -d "$tree" ] || git worktree add --detach -q "$tree" "$sha"
echo "building the base ${sha:0:12} in $tree, and this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with changes'))" >&2
dotnet build "$tree/benchmarks" -c Release -v quiet -nologo >/dev/null
dotnet build benchmarks -c Release -v quiet -nologo >/dev/null

# One process: prints "<median ms> [<ms/call of each matching profiler row> ...]".
run_side() {
  local dll="$1/benchmarks/bin/Release/net10.0/NanoNet.Benchmarks.dll" output
  if [ -n "$op" ]; then
    output=$(NANONET_PROFILE=1 dotnet "$dll" case "$casename" "$threads" "$warmup" "$steps" 2>&1)
  else
    output=$(dotnet "$dll" case "$casename" "$threads" "$warmup" "$steps" 2>&1)
  fi
  local median
  median=$(grep -o '"median_ms": [0-9.]*' <<<"$output" | awk '{print $2}')
  [ -n "$median" ] || { echo "ab-compare: no median from $dll:" >&2; echo "$output" | tail -5 >&2; exit 1; }
  if [ -n "$op" ]; then
    # Profiler rows: layer, op, pass, calls, total ms, ms/call, ... (the op name alone when it has no layer).
    echo "$median $(grep -E "$op" <<<"$output" | awk '{print $6}' | tr '\n' ' ')"
  else
    echo "$median"
  fi
}

printf '%-5s %14s %14s %9s%s\n' pair "base ms" "this ms" "speed-up" "${op:+   (profiled rows /$op/: base → this, ms/call)}"
ratios=()
for ((pair = 1; pair <= pairs; pair++)); do
  if ((pair % 2 == 1)); then b=$(run_side "$tree"); t=$(run_side .); else t=$(run_side .); b=$(run_side "$tree"); fi
  read -r bm brest <<<"$b"
  read -r tm trest <<<"$t"
  ratio=$(awk -v b="$bm" -v t="$tm" 'BEGIN { printf "%.3f", b / t }')
  ratios+=("$ratio")
  printf '%-5s %14s %14s %8sx%s\n' "$pair" "$bm" "$tm" "$ratio" "${op:+   ${brest:-–} → ${trest:-–}}"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk -v casename="$casename" -v threads="$threads" '
  { r[NR] = $1; if ($1 > 1) won++ }
  END {
    median = NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
    printf "%s at %s thread(s): median speed-up of this tree %.3fx over %d pairs (faster in %d; range %.3f–%.3f)\n",
      casename, threads, median, NR, won, r[1], r[NR]
  }'
