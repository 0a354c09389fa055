#!/usr/bin/env bash
# NanoNet vs PyTorch (CPU, Debian's python3-torch 1.13) on the two seed models, measured in one go:
# training steps (CIFAR-10 batch 64, text batch 32) and inference (batch 256), at 1 and 2 threads,
# synthetic data, median of repeated steps after warm-up. Prints a markdown table with the ratios.
#
#   bash benchmarks/compare-pytorch.sh [steps]
#
# Needs: apt-get install python3-torch libopenblas0-pthread. Without OpenBLAS, Debian's torch runs its
# matrix multiplies on the reference BLAS and is several times slower: that would not be a fair race.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 | grep -q openblas; then
  echo "warning: libblas.so.3 is not OpenBLAS (apt-get install libopenblas0-pthread); PyTorch would be handicapped" >&2
fi
steps=${1:-50}
models=${MODELS:-"cifar10 text"}
results=$(mktemp)
trap 'rm -f "$results"' EXIT

dotnet build benchmarks -c Release -v quiet -nologo >/dev/null
# OPENBLAS_CORETYPE=Haswell (set on this machine) halves OpenBLAS's speed: unset it for the reference.
env -u OPENBLAS_CORETYPE /usr/bin/python3 benchmarks/pytorch/seed_models.py --threads 1 2 --steps "$steps" --models $models | tee -a "$results"
dotnet run -c Release --project benchmarks --no-build -- throughput --json --steps "$steps" --threads 1 2 $models | tee -a "$results"
echo
/usr/bin/python3 benchmarks/pytorch/compare_table.py < "$results"
