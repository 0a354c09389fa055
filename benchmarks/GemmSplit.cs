using System.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// Where a skinny GEMM's time goes, one thread: the GEMM's own loop nest (column tiles of <c>nc</c>, K slabs, row
/// blocks) rebuilt with a Stopwatch around each phase, packing A, packing B and the 8×32 micro-kernels, at the Dense
/// layers' shapes (no prefetch plan, every operand packed: the loop before the in-place reading). Compare the kernel
/// column with "ideal", the flops at 113 GFLOP/s. <c>gemm-split [repeats] [nc] [cold]</c>; AVX-512 machines only.
/// </summary>
public static unsafe class GemmSplit
{
    /// <summary>The Dense layers' products of <see cref="GemmTiming"/>'s shapes (forward, dW = Xᵀ·dZ, dX = dZ·Wᵀ).</summary>
    private static readonly (string Name, int M, int N, int K, bool TransA, bool TransB)[] Shapes =
        [.. GemmTiming.Shapes.Where(shape => shape.Name.Contains("dense"))];

    public static void Run(int repeats, bool cold, int ncArg)
    {
        float[] evict = cold ? new float[16 << 20] : [];
        int KC = Gemm.KC, MC = Gemm.MC;
        Console.WriteLine($"{(cold ? "cold" : "warm")}  packA / packB / kernel / total ms (medians of {repeats})");
        foreach (var (name, m, n, k, transA, transB) in Shapes)
        {
            int NC = ncArg;
            var rng = new Random(1);
            float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = rng.NextSingle() - 0.5f;
            for (int i = 0; i < b.Length; i++) b[i] = rng.NextSingle() - 0.5f;
            int lda = transA ? m : k, ldb = transB ? k : n, ldc = n;
            float[] pa = new float[MC * KC + 64], pb = new float[KC * 4096 + 64];
            var tA = new double[repeats]; var tB = new double[repeats]; var tK = new double[repeats]; var tT = new double[repeats];
            fixed (float* A = a, B = b, C = c, PA = pa, PB = pb)
            {
                for (int r = 0; r < repeats + 2; r++)
                {
                    for (int i = 0; i < evict.Length; i += 16) evict[i] += 1f;
                    long sa = 0, sb = 0, sk = 0, t0 = Stopwatch.GetTimestamp();
                    for (int jc = 0; jc < n; jc += NC)
                    {
                        int nc = Math.Min(NC, n - jc);
                        for (int pc = 0; pc < k; pc += KC)
                        {
                            int kc = Math.Min(KC, k - pc);
                            long s = Stopwatch.GetTimestamp();
                            GemmPacking.PackB(transB, B, ldb, pc, kc, jc, nc, 32, PB);
                            sb += Stopwatch.GetTimestamp() - s;
                            for (int ic = 0; ic < m; ic += MC)
                            {
                                int mc = Math.Min(MC, m - ic);
                                s = Stopwatch.GetTimestamp();
                                GemmPacking.PackA(transA, A, lda, ic, mc, pc, kc, 8, PA);
                                long s2 = Stopwatch.GetTimestamp();
                                sa += s2 - s;
                                for (int jr = 0; jr < nc; jr += 32)
                                    for (int ir = 0; ir < mc; ir += 8)
                                        GemmMicroKernels.Run(GemmKernelKind.Vector512, kc, PA + ir * kc, PB + jr * kc, C + (long)(ic + ir) * ldc + jc + jr, ldc, pc > 0);
                                sk += Stopwatch.GetTimestamp() - s2;
                            }
                        }
                    }
                    long total = Stopwatch.GetTimestamp() - t0;
                    if (r >= 2)
                    {
                        double f = 1000.0 / Stopwatch.Frequency;
                        tA[r - 2] = sa * f; tB[r - 2] = sb * f; tK[r - 2] = sk * f; tT[r - 2] = total * f;
                    }
                }
            }
            double Med(double[] x) { Array.Sort(x); return x[x.Length / 2]; }
            double ideal = 2.0 * m * n * k / 113e6;
            Console.WriteLine($"{name,-32} nc {NC,5}  {Med(tA),7:F3} {Med(tB),7:F3} {Med(tK),7:F3} {Med(tT),7:F3}   ideal {ideal:F3}");
        }
    }
}
