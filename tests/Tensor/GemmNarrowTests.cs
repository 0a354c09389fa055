using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Products narrower than the micro-tile (<see cref="GemmNarrow"/>, N &lt; 32): the reference twin's values, the same
/// bits as the packed path they replace, C's padding columns untouched, and the same bits at every thread count.
/// </summary>
[NonParallelizable] // switches GemmNarrow.Enabled and Parallelism.MaxThreads
public class GemmNarrowTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        int slabs = 2 * Gemm.KC + 5; // three K slabs, the last partial
        foreach (int n in new[] { 1, 2, 10, 16, 17, 24, 31 })
            foreach (int m in new[] { 8, 13, 40 })
                foreach (int k in new[] { 1, 7, slabs })
                    foreach (bool transA in new[] { false, true })
                        yield return new TestCaseData(m, n, k, transA).SetName($"GemmNarrow_{m}x{n}x{k}_tA{(transA ? 1 : 0)}");
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesTheReferenceAndThePackedPathBitForBit(int m, int n, int k, bool transA)
    {
        Assume.That(GemmNarrow.Applies(Gemm.BestKernel, m, n, transB: false, packedB: false), "the AVX-512 kernel");
        int seed = m * 1000 + n * 10 + k;
        int lda = (transA ? m : k) + 2, ldb = n + 3, ldc = n + 5; // every operand inside a wider matrix
        float[] a = Random((transA ? k : m) * lda, seed), b = Random(k * ldb, seed + 1);
        float[] initial = Random(m * ldc, seed + 2);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] narrow = (float[])initial.Clone(), packed = (float[])initial.Clone(), reference = (float[])initial.Clone();
            Gemm.Multiply(transA, false, m, n, k, a, lda, b, ldb, narrow, ldc, accumulate);
            try
            {
                GemmNarrow.Enabled = false;
                Gemm.Multiply(transA, false, m, n, k, a, lda, b, ldb, packed, ldc, accumulate);
            }
            finally
            {
                GemmNarrow.Enabled = true;
            }
            GemmReference.Multiply(transA, false, m, n, k, a, lda, b, ldb, reference, ldc, accumulate);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    int at = i * ldc + j;
                    Assert.That(narrow[at], Is.EqualTo(reference[at]).Within(1e-4f * MathF.Sqrt(k)), $"C[{i},{j}], accumulate {accumulate}");
                    Assert.That(BitConverter.SingleToInt32Bits(narrow[at]), Is.EqualTo(BitConverter.SingleToInt32Bits(packed[at])),
                        $"C[{i},{j}], accumulate {accumulate}: the packed path's bits");
                }
                for (int j = n; j < ldc; j++)
                    Assert.That(narrow[i * ldc + j], Is.EqualTo(initial[i * ldc + j]), $"padding C[{i},{j}] was written");
            }
        }
    }

    [Test]
    public void SplitsItsRowsOverTheWorkersWithTheSameBits()
    {
        const int m = 1003, n = 10, k = 300; // 6 MFLOP: past the size at which a product runs on every worker
        Assume.That(GemmNarrow.Applies(Gemm.BestKernel, m, n, transB: false, packedB: false), "the AVX-512 kernel");
        float[] a = Random(m * k, seed: 7), b = Random(k * n, seed: 8);
        List<float[]> results = GemmAtThreadCounts.Products(m, n, k, a, b, 1, 2, 3);
        float[] reference = new float[m * n];
        GemmReference.Multiply(false, false, m, n, k, a, k, b, n, reference, n, accumulate: false);
        Assert.That(results[0], Is.EqualTo(reference).AsCollection.Within(1e-4f * MathF.Sqrt(k)));
        Assert.That(results[1], Is.EqualTo(results[0]).AsCollection, "2 threads");
        Assert.That(results[2], Is.EqualTo(results[0]).AsCollection, "3 threads");
    }

    private static float[] Random(int length, int seed) => Tensor.RandomUniform([length], -1f, 1f, seed).ToArray();
}
