#!/usr/bin/env bash
# NanoNet against LibTorch 2.10 (TorchSharp 0.107: MKL, oneDNN) on the seed models, case by case, the two
# sides alternating in fresh processes over several rounds, at 1 and 2 threads; prints the ratios.
#
#   bash benchmarks/compare-libtorch.sh [--rounds 3] [--threads 1 2] [--steps 40] [--results FILE] [case ...]
#   bash benchmarks/compare-libtorch.sh --table-only --results FILE      the table of runs gathered so far
#
# Cases: cifar10-train cifar10-inference text-train text-inference imdb-train imdb-inference cifar10-predict1 text-predict1
# keras-cifar10-train (all by default; imdb-*: the text model on real IMDB test reviews, both sides on the same ids).
# With 1 and T threads asked for, each round also runs every training case once with NanoNet's thread count switched
# between 1 and T every two steps in one process (NANONET_THREADS_SWITCH=1,1,T,T), beside the FMA probe's own scaling
# just before and after it: a second table gives NanoNet's scaling free of the host's drift between the rows above.
# Before every process the FMA probe also runs on one thread pinned to each CPU in turn: the slowest and fastest vCPU go
# into a last column of both tables (a host that slows one vCPU down for minutes shows there).
# Each side warms up for at least 2 s and 40 steps, then until 40 steps in a row and 0.3 s compiled no .NET method (the
# JIT's tiering; at most 60 s), before its timed steps.
# The LibTorch side (benchmarks/libtorch) is not in NanoNet.sln: its first build restores ~300 MB of packages. It runs
# with torch.set_flush_denormal(True) (NANONET_PEER_FLUSH_DENORMAL=0 turns it off): see benchmarks/README.md, tenth sitting.
set -euo pipefail
cd "$(dirname "$0")/.."
unset OPENBLAS_CORETYPE
dotnet build benchmarks -c Release -v quiet -nologo >/dev/null
dotnet build benchmarks/libtorch -c Release -v quiet -nologo >/dev/null
peer=benchmarks/libtorch/bin/Release/net10.0/linux-x64
"$peer/NanoNet.LibTorchPeer" weaken-glibcxx "$peer"   # Debian 12's libstdc++ predates GCC 13's; a no-op elsewhere
rm -rf "$peer/cpu"                                     # what TorchSharp copies when a first load failed: 480 MB
exec dotnet benchmarks/bin/Release/net10.0/NanoNet.Benchmarks.dll compare-libtorch --peer "$peer/NanoNet.LibTorchPeer" "$@"
