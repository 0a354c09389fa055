using System.Runtime.Intrinsics;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// A product with A not transposed against a single B panel of up to 32 columns — read in place by the 8×32 direct-A
/// kernel (a convolution's im2col rows against 32 filters; the Keras Dense dX run as Cᵀ = W·dZᵀ), or by the paths that
/// give its bits (<see cref="GemmNarrow"/>, N &lt; 32; <see cref="GemmRows"/>, M &lt; 8) — takes K whole up to
/// <see cref="GemmBlocking.DirectASlabLimit"/>, and KC-deep slabs beyond it or with A transposed. The kernels sum each
/// element of C as an FMA chain from zero over a slab's K steps in order, then store it (the first slab, unless
/// accumulating) or add it to C: so the expected bits can be computed here, element by element, for either slab depth.
/// </summary>
public class GemmDirectASlabTests
{
    // Cᵀ = B·Aᵀ (B stored N×K beyond half of L2, 8 ≤ M ≤ 32): M = 27 and 32 with edge strips of Cᵀ (1000 = 125·8, 700 =
    // 87·8 + 4 rows), a partial B panel (M = 13); at two and three threads the workers share the packed panel (N ≥ 2·MC
    // rows of Cᵀ: the shared-B loop).
    [TestCase(27, 1000, 300, true)]
    [TestCase(32, 700, 513, true)]
    [TestCase(13, 1500, 600, true)]
    // im2col-like rows against 32 filters: K = 289 (a 32-channel 3×3 patch and the ones column: KC slabs of 256 and 33
    // before) with an edge strip (101 rows), 800 rows (the shared-B loop at two threads); GemmNarrow (N = 10, 24) and
    // GemmRows (M = 3, N = 32 and 20).
    [TestCase(101, 32, 289, false)]
    [TestCase(800, 32, 577, false)]
    [TestCase(40, 10, 517, false)]
    [TestCase(13, 24, 300, false)]
    [TestCase(3, 32, 600, false)]
    [TestCase(3, 20, 300, false)]
    public void EachElementIsOneFmaChainOverTheWholeK(int m, int n, int k, bool transB) =>
        CheckBits(m, n, k, transA: false, transB, slabDepth: k);

    [Test]
    public void AtTheLimitKIsWholeAndBeyondItTheSlabsAreKCDeep()
    {
        int limit = Gemm.DirectASlabLimit;
        CheckBits(16, 136, limit, transA: false, transB: true, slabDepth: limit);
        CheckBits(16, 136, limit + 1, transA: false, transB: true, slabDepth: Gemm.KC);
        CheckBits(72, 32, limit + 1, transA: false, transB: false, slabDepth: Gemm.KC);
    }

    // A transposed: packed into micro-panels, so KC slabs (GemmNarrow and GemmRows too, to give the packed path's bits);
    // more than one B panel (N = 64): KC slabs.
    [TestCase(40, 10, 517, true)]
    [TestCase(3, 32, 600, true)]
    [TestCase(101, 32, 289, true)]
    [TestCase(101, 64, 289, false)]
    public void AnyOtherProductKeepsKCSlabs(int m, int n, int k, bool transA) =>
        CheckBits(m, n, k, transA, transB: false, slabDepth: Gemm.KC);

    /// <summary>
    /// C (+)= op(A)·op(B) by <see cref="Gemm"/> at 1, 2 and 3 threads, stored and accumulated, bit for bit against the
    /// chains of <paramref name="slabDepth"/> K steps computed here.
    /// </summary>
    private static void CheckBits(int m, int n, int k, bool transA, bool transB, int slabDepth)
    {
        if (!Vector512.IsHardwareAccelerated)
            Assert.Ignore("The direct-A products are the AVX-512 8×32 kernel's; this machine runs another.");
        var rng = new Random(m * 7 + n + k);
        float[] Random(int length) => Enumerable.Range(0, length).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] a = Random(m * k), b = Random(k * n), initial = Random(m * n);
        int ldb = transB ? k : n;
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (bool accumulate in new[] { false, true })
            {
                float[] expected = Chains(m, n, k, a, b, transA, transB, initial, accumulate, slabDepth);
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    Parallelism.MaxThreads = threads;
                    float[] c = (float[])initial.Clone();
                    Gemm.Multiply(transA, transB, m, n, k, a, transA ? m : k, b, ldb, c, n, accumulate);
                    Assert.That(c, Is.EqualTo(expected).AsCollection, $"{m}x{n}x{k}, {threads} thread(s), accumulate {accumulate}");
                }
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>Each C[i, j] as the kernel sums it: per slab an FMA chain from zero over its K steps, stored or added
    /// (A and B packed tight: lda = transA ? m : k, ldb = transB ? k : n).</summary>
    internal static float[] Chains(int m, int n, int k, float[] a, float[] b, bool transA, bool transB, float[] initial, bool accumulate, int slabDepth)
    {
        float[] c = (float[])initial.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                for (int pc = 0; pc < k; pc += slabDepth)
                {
                    float chain = 0f;
                    for (int p = pc; p < Math.Min(k, pc + slabDepth); p++)
                        chain = MathF.FusedMultiplyAdd(transA ? a[p * m + i] : a[i * k + p], transB ? b[j * k + p] : b[p * n + j], chain);
                    c[i * n + j] = pc == 0 && !accumulate ? chain : c[i * n + j] + chain;
                }
        return c;
    }
}
