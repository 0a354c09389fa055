using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Products with fewer rows than the micro-tile (<see cref="GemmRows"/>): the reference twin's values, and the
/// same bits as the same rows computed inside a taller product by the packed micro-kernel.
/// </summary>
public class GemmRowsTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int m in new[] { 1, 3, 7 })
            foreach (int n in new[] { 1, 31, 130, 300 })
                foreach (int k in new[] { 1, 7, 600 })
                    foreach (bool transA in new[] { false, true })
                        yield return new TestCaseData(m, n, k, transA).SetName($"GemmRows_{m}x{n}x{k}_tA{(transA ? 1 : 0)}");
    }

    [TestCaseSource(nameof(Cases))]
    public void FewRowsMatchTheReferenceAndATallerProductBitForBit(int m, int n, int k, bool transA)
    {
        const int tall = 16; // two full 8-row tiles: the packed micro-kernel path
        float[] aTall = Tensor.RandomNormal([tall * k], seed: m + n + k).ToArray();
        float[] b = Tensor.RandomNormal([k * n], seed: 5).ToArray();
        // op(A) rows 0..m of the tall A; stored K×M (lda = tall) when transposed.
        int lda = transA ? tall : k;
        foreach (bool accumulate in new[] { false, true })
        {
            float[] initial = Tensor.RandomNormal([tall * n], seed: 9).ToArray();
            float[] cTall = (float[])initial.Clone(), cFew = (float[])initial.Clone(), reference = (float[])initial.Clone();
            Gemm.Multiply(transA, false, tall, n, k, aTall, lda, b, n, cTall, n, accumulate);
            Gemm.Multiply(transA, false, m, n, k, aTall, lda, b, n, cFew, n, accumulate);
            GemmReference.Multiply(transA, false, m, n, k, aTall, lda, b, n, reference, n, accumulate);
            PackedMatrix packed = PackedMatrix.Pack(false, k, n, b, n);
            float[] cPacked = (float[])initial.Clone();
            Gemm.Multiply(transA, m, n, k, aTall, lda, packed, cPacked, n, accumulate);
            for (int i = 0; i < m * n; i++)
            {
                Assert.That(cFew[i], Is.EqualTo(reference[i]).Within(1e-3f * Math.Sqrt(k)), $"element {i}, accumulate {accumulate}");
                Assert.That(BitConverter.SingleToInt32Bits(cFew[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(cTall[i])), $"element {i}, accumulate {accumulate}: same bits as the tall product");
                Assert.That(BitConverter.SingleToInt32Bits(cPacked[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(cTall[i])), $"element {i}, accumulate {accumulate}: packed B");
            }
            Assert.That(cFew.AsSpan(m * n).ToArray(), Is.EqualTo(initial.AsSpan(m * n).ToArray()), "rows beyond M untouched");
        }
    }

    [TestCase(1, 200, false, false)]
    [TestCase(3, 200, true, false)]
    [TestCase(2, 97, false, true)]
    [TestCase(1, 40, false, false)]
    public void ABigBSplitByColumnsOverTwoWorkersGivesTheOneThreadBits(int m, int n, bool transA, bool packedB)
    {
        Assume.That(GemmRows.Applies(Gemm.BestKernel, m, transB: false), "a kernel with a row path (AVX-512, or AVX2 + FMA)");
        // K·N floats beyond half of L2 on any blocking in use, so the product streams B and splits it by 32-column strips.
        int k = (int)(Gemm.HalfL2Bytes / sizeof(float) / n) + 600;
        float[] a = Tensor.RandomNormal([8 * k], seed: m + n).ToArray();
        float[] b = Tensor.RandomNormal([k * n], seed: 7).ToArray();
        int lda = transA ? 8 : k;
        PackedMatrix? packed = packedB ? PackedMatrix.Pack(false, k, n, b, n) : null;
        foreach (bool accumulate in new[] { false, true })
        {
            float[] initial = Tensor.RandomNormal([m * n], seed: 3).ToArray();
            float[] one = (float[])initial.Clone(), two = (float[])initial.Clone(), reference = (float[])initial.Clone();
            void Multiply(float[] c)
            {
                if (packed != null)
                    Gemm.Multiply(transA, m, n, k, a, lda, packed, c, n, accumulate);
                else
                    Gemm.Multiply(transA, false, m, n, k, a, lda, b, n, c, n, accumulate);
            }
            using (Parallelism.LimitThreads(1))
                Multiply(one);
            using (Parallelism.LimitThreads(2))
            {
                Parallelism.ResetWidestRegion();
                Multiply(two);
                Assert.That(Parallelism.WidestRegion, Is.EqualTo(2), "the columns split over two workers");
            }
            GemmReference.Multiply(transA, false, m, n, k, a, lda, b, n, reference, n, accumulate);
            for (int i = 0; i < m * n; i++)
            {
                Assert.That(BitConverter.SingleToInt32Bits(two[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(one[i])), $"element {i}, accumulate {accumulate}");
                Assert.That(one[i], Is.EqualTo(reference[i]).Within(1e-3f * Math.Sqrt(k)), $"element {i}, accumulate {accumulate}");
            }
        }
    }
}
