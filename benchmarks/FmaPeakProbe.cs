using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;

namespace NanoNet.Benchmarks;

/// <summary>
/// Measures this core's fused multiply-add peak: 16 independent Vector512 FMA chains (enough to cover
/// the FMA latency on two pipes), no memory traffic. GEMM efficiency is quoted against this number.
/// </summary>
public class FmaPeakProbe : IFlopCounted
{
    public const int Iterations = 1_000_000;

    /// <summary>Floating-point operations per call: 16 chains × 16 lanes × 2 (multiply + add) per iteration.</summary>
    public double FlopsPerCall => 16.0 * Vector512<float>.Count * 2 * Iterations;

    [Benchmark]
    public float FmaPeak() => Run(Iterations);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float Run(int n)
    {
        var m = Vector512.Create(0.99999f);
        var c = Vector512.Create(1e-6f);
        Vector512<float> v0 = Vector512.Create(1f), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0;
        Vector512<float> v8 = v0, v9 = v0, v10 = v0, v11 = v0, v12 = v0, v13 = v0, v14 = v0, v15 = v0;
        for (int i = 0; i < n; i++)
        {
            v0 = Vector512.FusedMultiplyAdd(v0, m, c); v1 = Vector512.FusedMultiplyAdd(v1, m, c);
            v2 = Vector512.FusedMultiplyAdd(v2, m, c); v3 = Vector512.FusedMultiplyAdd(v3, m, c);
            v4 = Vector512.FusedMultiplyAdd(v4, m, c); v5 = Vector512.FusedMultiplyAdd(v5, m, c);
            v6 = Vector512.FusedMultiplyAdd(v6, m, c); v7 = Vector512.FusedMultiplyAdd(v7, m, c);
            v8 = Vector512.FusedMultiplyAdd(v8, m, c); v9 = Vector512.FusedMultiplyAdd(v9, m, c);
            v10 = Vector512.FusedMultiplyAdd(v10, m, c); v11 = Vector512.FusedMultiplyAdd(v11, m, c);
            v12 = Vector512.FusedMultiplyAdd(v12, m, c); v13 = Vector512.FusedMultiplyAdd(v13, m, c);
            v14 = Vector512.FusedMultiplyAdd(v14, m, c); v15 = Vector512.FusedMultiplyAdd(v15, m, c);
        }
        return Vector512.Sum(v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7 + v8 + v9 + v10 + v11 + v12 + v13 + v14 + v15);
    }
}
