using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Products split into eight K pieces (<see cref="GemmKSplit"/>): which shapes take the path, and that the split
/// computes the product (against the reference and the unsplit GEMM), with C's leading dimension and accumulation
/// honoured, the same bits at 1, 2 and 3 threads.
/// </summary>
[NonParallelizable] // switches Parallelism.MaxThreads and GemmKSplit.Enabled
public class GemmKSplitTests
{
    [TestCase(64, 128, 7200, true)] // the CIFAR-10 Dense forward
    [TestCase(1, 1, GemmKSplit.MinimumK, true)]
    [TestCase(64, 128, GemmKSplit.MinimumK - 1, false)] // K too short
    [TestCase(65, 128, 7200, false)] // more rows than one in-place row block
    [TestCase(64, 129, 7200, false)] // more than four panels: the column split keeps both workers busy
    public void AppliesToFewRowsFewColumnsAndALongK(int m, int n, int k, bool applies) =>
        Assert.That(GemmKSplit.Applies(m, n, k), Is.EqualTo(applies));

    [TestCase(64, 128, 7200, false, false)]
    [TestCase(13, 100, 4100, true, false)]
    [TestCase(40, 37, 5003, false, true)]
    [TestCase(8, 128, 8191, true, true)]
    public void MatchesTheReferenceAndTheUnsplitProduct(int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Random(m + n + k);
        float[] a = Random(m * k, rng), b = Random(k * n, rng);
        int lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 3; // C inside a wider matrix: the padding stays
        float[] initial = Random(m * ldc, rng);
        foreach (bool accumulate in new[] { false, true })
        {
            float[] expected = (float[])initial.Clone(), split = (float[])initial.Clone(), unsplit = (float[])initial.Clone();
            GemmReference.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);
            try
            {
                Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, split, ldc, accumulate);
                GemmKSplit.Enabled = false;
                Gemm.Multiply(transA, transB, m, n, k, a, lda, b, ldb, unsplit, ldc, accumulate);
            }
            finally
            {
                GemmKSplit.Enabled = true;
            }
            float tolerance = 4e-5f * MathF.Sqrt(k);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    int at = i * ldc + j;
                    Assert.That(split[at], Is.EqualTo(expected[at]).Within(tolerance), $"C[{i},{j}], accumulate {accumulate}");
                    Assert.That(split[at], Is.EqualTo(unsplit[at]).Within(tolerance), $"C[{i},{j}] against the unsplit GEMM");
                }
                for (int j = n; j < ldc; j++)
                    Assert.That(split[i * ldc + j], Is.EqualTo(initial[i * ldc + j]), $"padding C[{i},{j}] was written");
            }
        }
    }

    [Test]
    public void SplitsDifferentlyFromTheUnsplitChainButTheSameAtEveryThreadCount()
    {
        const int m = 64, n = 128, k = 7200;
        var rng = new Random(3);
        float[] a = Random(m * k, rng), b = Random(k * n, rng);
        List<float[]> results = GemmAtThreadCounts.Products(m, n, k, a, b, 1, 2, 3);
        try
        {
            GemmKSplit.Enabled = false;
            float[] unsplit = new float[m * n];
            Gemm.Multiply(false, false, m, n, k, a, k, b, n, unsplit, n);
            // The split path really ran: its K-sum is grouped in pieces, so some element rounds differently.
            Assert.That(results[0], Is.Not.EqualTo(unsplit).AsCollection);
        }
        finally
        {
            GemmKSplit.Enabled = true;
        }
        Assert.That(results[1], Is.EqualTo(results[0]).AsCollection, "2 threads");
        Assert.That(results[2], Is.EqualTo(results[0]).AsCollection, "3 threads");
    }

    private static float[] Random(int length, Random rng) =>
        Enumerable.Range(0, length).Select(_ => rng.NextSingle() * 2f - 1f).ToArray();
}
