using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The 6×16 kernel (AVX2) reading A's rows where they lie (<see cref="GemmMicroKernels.Kernel6x16DirectA"/>, edge strips
/// of 1–4 rows by <see cref="GemmMicroKernels.Kernel4x16"/> at A's row stride) for products up to
/// <see cref="Gemm.DirectAColumns256"/> columns: bit for bit the product with A packed, stored and accumulated, at 1, 2 and
/// 3 threads, against B packed per call and packed beforehand (<see cref="PackedMatrix"/>).
/// </summary>
[NonParallelizable] // switches Gemm.ReadsInPlace
public class GemmDirectA256Tests
{
    // An im2col-like product (57 rows: an edge strip of 3, K = 28); a partial panel (N = 30) with a 5-row edge strip
    // (101 = 16·6 + 5, packed through the edge tile) and three K slabs; a 4-row edge strip (16 rows) over two K slabs;
    // 200 rows (at two and three threads the workers share the packed B slab, the shared-B loop); a single panel (N = 16).
    [TestCase(57, 32, 28)]
    [TestCase(101, 30, 600)]
    [TestCase(16, 32, 300)]
    [TestCase(200, 32, 300)]
    [TestCase(45, 16, 289)]
    public void ReadingARowsInPlaceGivesThePackedBits(int m, int n, int k)
    {
        Assume.That(Gemm.BestKernel, Is.EqualTo(GemmKernelKind.Vector256), "A's rows are read in place by the 6×16 (AVX2) kernel");
        Assert.That(Gemm.ReadsARowsInPlace256(Gemm.BestKernel, transA: false, n, bInPlace: false), Is.True, $"{m}x{n}x{k} reads A in place");
        // Per call, a B over half of L2 with few rows is read in place itself (Gemm.ChooseInPlace), and then A is packed.
        bool bInPlacePerCall = (Gemm.ChooseInPlace(Gemm.BestKernel, false, false, m, n, k, k) & InPlace.B) != 0;
        Assert.That(bInPlacePerCall, Is.EqualTo(m <= Gemm.InPlaceBMaxRows && (long)k * n * sizeof(float) > Gemm.HalfL2Bytes));
        var rng = new Random(m * 5 + n + k);
        float[] Random(int length) => Enumerable.Range(0, length).Select(_ => rng.NextSingle() - 0.5f).ToArray();
        float[] a = Random(m * k), b = Random(k * n), initial = Random(m * n);
        PackedMatrix packedB = PackedMatrix.Pack(false, k, n, b, n);
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
                foreach (bool accumulate in new[] { false, true })
                    foreach (bool prepacked in new[] { false, true })
                    {
                        Parallelism.MaxThreads = threads;
                        float[] packed = (float[])initial.Clone(), direct = (float[])initial.Clone();
                        Gemm.ReadsInPlace = false;
                        Multiply(packed);
                        Gemm.ReadsInPlace = true;
                        Multiply(direct);
                        Assert.That(direct, Is.EqualTo(packed).AsCollection,
                            $"{threads} thread(s), accumulate {accumulate}, B packed {(prepacked ? "beforehand" : "per call")}");

                        void Multiply(float[] c)
                        {
                            if (prepacked)
                                Gemm.Multiply(false, m, n, k, a, k, packedB, c, n, accumulate);
                            else
                                Gemm.Multiply(false, false, m, n, k, a, k, b, n, c, n, accumulate);
                        }
                    }
        }
        finally
        {
            Gemm.ReadsInPlace = true;
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void WiderProductsTransposedAOrBInPlaceStillPackA()
    {
        Assert.That(Gemm.ReadsARowsInPlace256(GemmKernelKind.Vector256, false, Gemm.DirectAColumns256 + 1, false), Is.False);
        Assert.That(Gemm.ReadsARowsInPlace256(GemmKernelKind.Vector256, true, 32, false), Is.False);
        Assert.That(Gemm.ReadsARowsInPlace256(GemmKernelKind.Vector256, false, 32, bInPlace: true), Is.False);
        Assert.That(Gemm.ReadsARowsInPlace256(GemmKernelKind.Vector256, false, 32, false), Is.True);
        Assert.That(Gemm.ReadsARowsInPlace256(GemmKernelKind.Vector512, false, 32, false), Is.False);
    }
}
