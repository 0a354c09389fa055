using System.Diagnostics;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// The LSTM backward's per-step product [dh | dX] = dZ_t·[Rᵀ | Wᵀ] (M = 32, N = 256, K = 512, B packed once), and dh
/// = dZ_t·Rᵀ alone (N = 128: the IMDB model's, on embedded ids), run 200 times in a row over a 200-step dZ, as the time
/// loop runs it: alone, and with a 2 MB chunk buffer streamed between the steps (what the chunk's dZ does to L2). Best
/// of N, 1 thread (as inside the time loop's region). <c>step-gemm-time [repeats]</c>.
/// </summary>
public static class StepGemmTiming
{
    public static void Run(int repeats)
    {
        Parallelism.MaxThreads = 1;
        double peak = FmaPeak.MeasureGflops(1);
        foreach (int n in (int[])[256, 128])
            Run(repeats, n, peak);
    }

    private static void Run(int repeats, int n, double peak)
    {
        const int m = 32, k = 512, steps = 200;
        var rng = new Random(1);
        float[] dz = new float[steps * m * k], b = new float[k * n], c = new float[m * n], chunk = new float[512 * 1024];
        for (int i = 0; i < dz.Length; i++) dz[i] = rng.NextSingle() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextSingle() - 0.5f;
        PackedMatrix packed = PackedMatrix.Pack(true, k, n, b, k);
        foreach (bool stream in new[] { false, true, false, true })
        {
            double best = double.MaxValue;
            for (int r = 0; r < repeats; r++)
            {
                long start = Stopwatch.GetTimestamp();
                for (int t = steps - 1; t >= 0; t--)
                {
                    Gemm.Multiply(false, m, n, k, dz.AsSpan(t * m * k, m * k), k, packed, c, n);
                    if (stream)
                        for (int i = (t % 32) * 512; i < chunk.Length; i += 32 * 512) // a 64 KB slice of the 2 MB chunk each step
                            chunk.AsSpan(i, 512).Fill(t);
                }
                best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            double gflops = 2.0 * m * n * k * steps / best / 1e6;
            Console.WriteLine($"N = {n}  {(stream ? "with chunk traffic" : "alone"),-20} {best,8:F2} ms for 200 steps  {gflops,6:F1} GFLOP/s  {100 * gflops / peak,3:F0}% of {peak:F0}");
        }
    }
}
