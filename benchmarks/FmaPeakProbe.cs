using BenchmarkDotNet.Attributes;
using NanoNet.Diagnostics;

namespace NanoNet.Benchmarks;

/// <summary>
/// This core's fused multiply-add peak (the library's <see cref="FmaPeak"/> probe: 16 independent
/// vector FMA chains, no memory traffic). GEMM efficiency is quoted against this number.
/// </summary>
public class FmaPeakProbe : IFlopCounted
{
    public const int Iterations = 1_000_000;

    public double FlopsPerCall => Diagnostics.FmaPeak.Flops(Iterations);

    [Benchmark]
    public float FmaPeak() => Diagnostics.FmaPeak.Run(Iterations);
}
