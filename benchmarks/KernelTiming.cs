using System.Diagnostics;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// The 8×32 micro-kernel alone on packed panels already in cache, against the FMA peak probed between the
/// measurements: one A micro-panel (8×kc) against one B micro-panel (kc×32), both in L1 ("L1"), and the macro-kernel's
/// order: a B micro-panel reused by every A micro-panel of an MC×kc block ("A block"), as the GEMM runs them.
/// <c>kernel-time [repeats]</c>; AVX-512 machines only.
/// </summary>
public static unsafe class KernelTiming
{
    public static void Run(int repeats)
    {
        float[] a = new float[512 * 512 + 64], b = new float[512 * 512 + 64], c = new float[8 * 32 * 64];
        var rng = new Random(1);
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextSingle() - 0.5f;
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextSingle() - 0.5f;
        Console.WriteLine("kc    mc   L1 GFLOP/s  A-block GFLOP/s   peak (best of " + repeats + ")");
        fixed (float* pa = a, pb = b, pc = c)
        {
            foreach (int kc in new[] { 64, 128, 192, 256, 320, 384, 512 })
                foreach (int mc in new[] { 48, 96, 120, 192 })
                {
                    double l1 = 0, block = 0, peak = 0;
                    for (int r = 0; r < repeats; r++)
                    {
                        peak = Math.Max(peak, FmaPeak.MeasureGflops());
                        int calls = Math.Max(1, 4_000_000 / (kc * 8 * 32));
                        long t0 = Stopwatch.GetTimestamp();
                        for (int i = 0; i < calls; i++)
                            GemmMicroKernels.Run(GemmKernelKind.Vector512, kc, pa, pb, pc, 32, true);
                        l1 = Math.Max(l1, 2.0 * 8 * 32 * kc * calls / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9);
                        // B slab of 8 micro-panels (kc×256), A block mc×kc: jr over B panels, ir over A panels (the GEMM's order).
                        int sweeps = Math.Max(1, 40_000_000 / (2 * mc * 256 * kc));
                        t0 = Stopwatch.GetTimestamp();
                        for (int s = 0; s < sweeps; s++)
                            for (int jr = 0; jr < 8; jr++)
                                for (int ir = 0; ir < mc; ir += 8)
                                    GemmMicroKernels.Run(GemmKernelKind.Vector512, kc, pa + ir * kc, pb + jr * 32 * kc, pc + (ir % 64) * 32, 32, true);
                        block = Math.Max(block, 2.0 * mc * 256 * kc * sweeps / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9);
                    }
                    Console.WriteLine($"{kc,-5} {mc,-4} {l1,8:F1} ({100 * l1 / peak,3:F0}%) {block,8:F1} ({100 * block / peak,3:F0}%) {peak,8:F1}");
                }
        }
    }
}
