using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Diagnostics;

/// <summary>
/// Measures this core's fused multiply-add peak: independent FMA chains in vector registers, no memory traffic. GEMM
/// efficiency is quoted against it.
/// </summary>
/// <remarks>
/// Two pipes of FMAs 4–5 cycles long need 8–10 chains in flight. AVX-512 machines run 16 chains of Vector512 (32
/// registers); AVX2 machines have 16 vector registers, and 16 chains plus the two constants do not fit: the JIT kept one
/// chain in memory, whose store and reload each iteration made it the bottleneck (an AMD Zen 3 read 58 GFLOP/s instead
/// of ~100: three chains stored and reloaded every iteration). So they run 12 chains of Vector256, which fit with room to
/// spare. Machines without 256-bit vectors run 12 chains of Vector128: ARM64's FMA (before, an emulated Vector256 loop).
/// x86 without AVX has no FMA instruction; there .NET emulates it and the figure means nothing.
/// </remarks>
public static class FmaPeak
{
    /// <summary>Independent FMA chains of the probe loop: as many as fit in the vector registers with its two constants.</summary>
    public static int Chains => Vector512.IsHardwareAccelerated ? 16 : 12;

    /// <summary>Floating-point operations of one <see cref="Run"/> of <paramref name="iterations"/> iterations.</summary>
    public static double Flops(int iterations) =>
        Chains * 2.0 * iterations * (Vector512.IsHardwareAccelerated ? Vector512<float>.Count
            : Vector256.IsHardwareAccelerated ? Vector256<float>.Count : Vector128<float>.Count);

    /// <summary>Best of several short runs on the calling thread, in GFLOP/s (about 50 ms in all).</summary>
    public static double MeasureGflops() => MeasureGflops(1);

    /// <summary>
    /// The probe on <paramref name="threads"/> workers at once, in GFLOP/s summed over them (best of several runs; one
    /// worker is the calling thread itself): what the machine gives a parallel region now. On a VM whose two vCPUs share
    /// a physical core, or whose host runs other work on them, this is less than <paramref name="threads"/> ×
    /// <see cref="MeasureGflops()"/>, and no kernel can scale beyond it.
    /// </summary>
    public static double MeasureGflops(int threads)
    {
        const int iterations = 200_000;
        var job = new ProbeJob(iterations);
        double best = 0;
        using (Parallelism.LimitThreads(threads))
        {
            int workers = Parallelism.CurrentMaxThreads;
            for (int attempt = 0; attempt < 8; attempt++)
            {
                long start = Stopwatch.GetTimestamp();
                Parallelism.Run(job, workers);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                best = Math.Max(best, workers * Flops(iterations) / seconds / 1e9);
            }
        }
        return best;
    }

    /// <summary>Every worker runs the probe loop once.</summary>
    private sealed class ProbeJob(int iterations) : ParallelJob
    {
        public override void RunWorker(int worker, int workerCount) => Run(iterations);
    }

    /// <summary>The probe loop: <see cref="Chains"/> chains of v = v·m + c (the widest accelerated vectors).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Run(int iterations) =>
        Vector512.IsHardwareAccelerated ? Run512(iterations) : Vector256.IsHardwareAccelerated ? Run256(iterations) : Run128(iterations);

    private static float Run512(int n)
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

    private static float Run256(int n)
    {
        var m = Vector256.Create(0.99999f);
        var c = Vector256.Create(1e-6f);
        Vector256<float> v0 = Vector256.Create(1f), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0;
        Vector256<float> v8 = v0, v9 = v0, v10 = v0, v11 = v0;
        for (int i = 0; i < n; i++)
        {
            v0 = Vector256.FusedMultiplyAdd(v0, m, c); v1 = Vector256.FusedMultiplyAdd(v1, m, c);
            v2 = Vector256.FusedMultiplyAdd(v2, m, c); v3 = Vector256.FusedMultiplyAdd(v3, m, c);
            v4 = Vector256.FusedMultiplyAdd(v4, m, c); v5 = Vector256.FusedMultiplyAdd(v5, m, c);
            v6 = Vector256.FusedMultiplyAdd(v6, m, c); v7 = Vector256.FusedMultiplyAdd(v7, m, c);
            v8 = Vector256.FusedMultiplyAdd(v8, m, c); v9 = Vector256.FusedMultiplyAdd(v9, m, c);
            v10 = Vector256.FusedMultiplyAdd(v10, m, c); v11 = Vector256.FusedMultiplyAdd(v11, m, c);
        }
        return Vector256.Sum(v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7 + v8 + v9 + v10 + v11);
    }

    private static float Run128(int n)
    {
        var m = Vector128.Create(0.99999f);
        var c = Vector128.Create(1e-6f);
        Vector128<float> v0 = Vector128.Create(1f), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0;
        Vector128<float> v8 = v0, v9 = v0, v10 = v0, v11 = v0;
        for (int i = 0; i < n; i++)
        {
            v0 = Vector128.FusedMultiplyAdd(v0, m, c); v1 = Vector128.FusedMultiplyAdd(v1, m, c);
            v2 = Vector128.FusedMultiplyAdd(v2, m, c); v3 = Vector128.FusedMultiplyAdd(v3, m, c);
            v4 = Vector128.FusedMultiplyAdd(v4, m, c); v5 = Vector128.FusedMultiplyAdd(v5, m, c);
            v6 = Vector128.FusedMultiplyAdd(v6, m, c); v7 = Vector128.FusedMultiplyAdd(v7, m, c);
            v8 = Vector128.FusedMultiplyAdd(v8, m, c); v9 = Vector128.FusedMultiplyAdd(v9, m, c);
            v10 = Vector128.FusedMultiplyAdd(v10, m, c); v11 = Vector128.FusedMultiplyAdd(v11, m, c);
        }
        return Vector128.Sum(v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7 + v8 + v9 + v10 + v11);
    }
}
