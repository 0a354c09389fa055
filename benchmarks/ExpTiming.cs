using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// e^x: the recurrent cells' <see cref="FloatExp"/> against .NET's vector Exp at the machine's widest accelerated width
/// (16 lanes on AVX-512, 8 on AVX2 + FMA), four independent vectors per loop turn over an L1-resident array (throughput,
/// not latency). Best of 50 passes, in ns per 16 lanes either way. <c>exp-time</c>.
/// </summary>
public static class ExpTiming
{
    public static void Run()
    {
        if (!Vector512.IsHardwareAccelerated && !FloatExp.IsAccelerated256)
        {
            Console.WriteLine("exp-time needs AVX-512 or AVX2 + FMA.");
            return;
        }
        float[] data = new float[16 * 256];
        var rng = new Random(1);
        for (int i = 0; i < data.Length; i++)
            data[i] = rng.NextSingle() * 20 - 10;
        string width = Vector512.IsHardwareAccelerated ? "512" : "256";
        for (int round = 0; round < 2; round++)
            foreach (bool dotnet in new[] { false, true })
            {
                double best = double.MaxValue;
                float checksum = 0;
                for (int pass = 0; pass < 50; pass++)
                {
                    long start = Stopwatch.GetTimestamp();
                    checksum = Vector512.IsHardwareAccelerated ? Pass512(data, dotnet) : Pass256(data, dotnet);
                    best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                double ns = best * 1e6 / (Repeats * data.Length / 16.0);
                Console.WriteLine($"{(dotnet ? $"Vector{width}.Exp" : $"FloatExp {width}"),-14} {ns,6:F2} ns per 16 lanes (checksum {checksum:E2})");
            }
    }

    private const int Repeats = 200;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no on-stack replacement
    private static unsafe float Pass512(float[] data, bool dotnet)
    {
        Vector512<float> sum = default;
        fixed (float* p = data)
            for (int repeat = 0; repeat < Repeats; repeat++)
                for (int i = 0; i < data.Length; i += 64)
                {
                    Vector512<float> v0 = Vector512.Load(p + i), v1 = Vector512.Load(p + i + 16);
                    Vector512<float> v2 = Vector512.Load(p + i + 32), v3 = Vector512.Load(p + i + 48);
                    sum += dotnet
                        ? Vector512.Exp(v0) + Vector512.Exp(v1) + Vector512.Exp(v2) + Vector512.Exp(v3)
                        : FloatExp.Exp(v0) + FloatExp.Exp(v1) + FloatExp.Exp(v2) + FloatExp.Exp(v3);
                }
        return sum[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // fully optimised from the first call: no on-stack replacement
    private static unsafe float Pass256(float[] data, bool dotnet)
    {
        Vector256<float> sum = default;
        fixed (float* p = data)
            for (int repeat = 0; repeat < Repeats; repeat++)
                for (int i = 0; i < data.Length; i += 32)
                {
                    Vector256<float> v0 = Vector256.Load(p + i), v1 = Vector256.Load(p + i + 8);
                    Vector256<float> v2 = Vector256.Load(p + i + 16), v3 = Vector256.Load(p + i + 24);
                    sum += dotnet
                        ? Vector256.Exp(v0) + Vector256.Exp(v1) + Vector256.Exp(v2) + Vector256.Exp(v3)
                        : FloatExp.Exp(v0) + FloatExp.Exp(v1) + FloatExp.Exp(v2) + FloatExp.Exp(v3);
                }
        return sum[0];
    }
}
