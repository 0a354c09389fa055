using System.Diagnostics;
using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// e^x on 16 lanes: the fused LSTM cell's <see cref="FloatExp"/> against .NET's <see cref="Vector512.Exp(Vector512{float})"/>,
/// four independent vectors per loop turn over an L1-resident array (throughput, not latency). Best of 50 passes.
/// <c>exp-time</c>; AVX-512 machines only.
/// </summary>
public static class ExpTiming
{
    public static unsafe void Run()
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Console.WriteLine("exp-time needs AVX-512.");
            return;
        }
        float[] data = new float[16 * 256];
        var rng = new Random(1);
        for (int i = 0; i < data.Length; i++)
            data[i] = rng.NextSingle() * 20 - 10;
        for (int round = 0; round < 2; round++)
            foreach (bool dotnet in new[] { false, true })
            {
                double best = double.MaxValue;
                Vector512<float> sum = default;
                fixed (float* p = data)
                    for (int pass = 0; pass < 50; pass++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        for (int repeat = 0; repeat < 200; repeat++)
                            for (int i = 0; i < data.Length; i += 64)
                            {
                                Vector512<float> v0 = Vector512.Load(p + i), v1 = Vector512.Load(p + i + 16);
                                Vector512<float> v2 = Vector512.Load(p + i + 32), v3 = Vector512.Load(p + i + 48);
                                sum += dotnet
                                    ? Vector512.Exp(v0) + Vector512.Exp(v1) + Vector512.Exp(v2) + Vector512.Exp(v3)
                                    : FloatExp.Exp(v0) + FloatExp.Exp(v1) + FloatExp.Exp(v2) + FloatExp.Exp(v3);
                            }
                        best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                double ns = best * 1e6 / (200.0 * data.Length / 16);
                Console.WriteLine($"{(dotnet ? "Vector512.Exp" : "FloatExp.Exp"),-14} {ns,6:F2} ns per 16 lanes (checksum {sum[0]:E2})");
            }
    }
}
