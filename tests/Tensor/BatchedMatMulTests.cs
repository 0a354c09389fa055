namespace NanoNet.Tests;

/// <summary>MatMul over batch axes: equals a loop of rank-2 MatMuls (broadcast batches, transposes), gradients, errors.</summary>
public class BatchedMatMulTests
{
    /// <summary>(A shape, B shape) with op(A) = M×K and op(B) = K×N stored per the flags.</summary>
    private static (int[] A, int[] B) Shapes2(int[] batchA, int[] batchB, int m, int k, int n, bool transA, bool transB) =>
        ([.. batchA, .. transA ? new[] { k, m } : [m, k]], [.. batchB, .. transB ? new[] { n, k } : [k, n]]);

    private static readonly object[] Batches =
    [
        new object[] { new[] { 3 }, new[] { 3 } },
        new object[] { new[] { 2, 3 }, Array.Empty<int>() },       // (B, H, M, K)·(K, N)
        new object[] { Array.Empty<int>(), new[] { 4 } },          // (M, K)·(B, K, N)
        new object[] { new[] { 2, 1 }, new[] { 3 } },              // (B, 1, M, K)·(H, K, N)
        new object[] { new[] { 1, 3 }, new[] { 2, 1 } },
        new object[] { new[] { 2, 3 }, new[] { 1 } },
    ];

    [TestCaseSource(nameof(Batches))]
    public void EqualsALoopOfMatrixProducts(int[] batchA, int[] batchB)
    {
        foreach (bool transA in new[] { false, true })
            foreach (bool transB in new[] { false, true })
            {
                (int[] sa, int[] sb) = Shapes2(batchA, batchB, 4, 5, 6, transA, transB);
                Tensor a = Tensor.RandomUniform(sa, -1f, 1f, 1), b = Tensor.RandomUniform(sb, -1f, 1f, 2);
                Tensor y = Ops.MatMul(a, b, transA, transB);
                int[] batch = BroadcastBatch(batchA, batchB);
                Assert.That(y.Shape.ToArray(), Is.EqualTo(batch.Append(4).Append(6).ToArray()));
                float[] expected = LoopOfMatMuls(a, b, batchA, batchB, batch, transA, transB);
                Assert.That(y.ToArray(), Is.EqualTo(expected).Within(1e-5f), $"transA {transA}, transB {transB}");
            }
    }

    [Test]
    public void PerItemResultsAreBitIdenticalToRank2MatMul()
    {
        Tensor a = Tensor.RandomUniform([3, 40, 70], -1f, 1f, 3), b = Tensor.RandomUniform([3, 70, 50], -1f, 1f, 4);
        Assert.That(Ops.MatMul(a, b).ToArray(), Is.EqualTo(LoopOfMatMuls(a, b, [3], [3], [3], false, false)));
    }

    [Test]
    public void ManySmallItemsAreBitIdenticalAtOneAndTwoThreads()
    {
        Tensor a = Tensor.RandomUniform([64, 8, 9], -1f, 1f, 5).AsParameter(), b = Tensor.RandomUniform([1, 9, 7], -1f, 1f, 6).AsParameter();
        int saved = Parallelism.MaxThreads;
        try
        {
            float[][] Run(int threads)
            {
                Parallelism.MaxThreads = threads;
                a.ZeroGrad();
                b.ZeroGrad();
                Tensor y = Ops.MatMul(a, b);
                Ops.Sum(Ops.Multiply(y, y)).Backward();
                return [y.ToArray(), a.Grad!.ToArray(), b.Grad!.ToArray()];
            }
            float[][] one = Run(1), two = Run(2);
            for (int i = 0; i < 3; i++)
                Assert.That(two[i], Is.EqualTo(one[i]), $"result {i}");
            Assert.That(one[0], Is.EqualTo(LoopOfMatMuls(a, b, [64], [1], [64], false, false)));
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void GradientsWithBroadcastBatches(bool transA, bool transB)
    {
        (int[] sa, int[] sb) = Shapes2([2, 1], [3], 3, 4, 2, transA, transB);
        GradientCheck.Check(x => Ops.MatMul(x[0], x[1], transA, transB), [GradientCheck.Random(sa, 1), GradientCheck.Random(sb, 2)]);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void GradientsOfABatchTimesAMatrix(bool transB)
    {
        (int[] sa, int[] sb) = Shapes2([2, 3], [], 3, 4, 2, false, transB);
        GradientCheck.Check(x => Ops.MatMul(x[0], x[1], false, transB), [GradientCheck.Random(sa, 3), GradientCheck.Random(sb, 4)]);
    }

    [Test]
    public void GradientsOfAMatrixTimesABatch()
    {
        (int[] sa, int[] sb) = Shapes2([], [3], 3, 4, 2, true, false);
        GradientCheck.Check(x => Ops.MatMul(x[0], x[1], true, false), [GradientCheck.Random(sa, 5), GradientCheck.Random(sb, 6)]);
    }

    [Test]
    public void ErrorsNameBothShapes()
    {
        var inner = Assert.Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(2, 3, 4), Tensor.Zeros(2, 5, 6)));
        Assert.That(inner!.Message, Does.Contain("(2, 3, 4)").And.Contain("(2, 5, 6)"));
        var batch = Assert.Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(2, 3, 4), Tensor.Zeros(3, 4, 6)));
        Assert.That(batch!.Message, Does.Contain("(2, 3, 4)").And.Contain("(3, 4, 6)").And.Contain("broadcast"));
        var rank1 = Assert.Throws<ArgumentException>(() => Ops.MatMul(Tensor.Zeros(4), Tensor.Zeros(2, 4, 6)));
        Assert.That(rank1!.Message, Does.Contain("(4)").And.Contain("(2, 4, 6)"));
    }

    // ---- the loop the batched op must equal, written independently --------------------------------

    private static int[] BroadcastBatch(int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        int At(int[] s, int d) => d < rank - s.Length ? 1 : s[d - (rank - s.Length)];
        return Enumerable.Range(0, rank).Select(d => Math.Max(At(a, d), At(b, d))).ToArray();
    }

    private static float[] LoopOfMatMuls(Tensor a, Tensor b, int[] batchA, int[] batchB, int[] batch, bool transA, bool transB)
    {
        int aItemSize = a.Dim(-2) * a.Dim(-1), bItemSize = b.Dim(-2) * b.Dim(-1);
        var result = new List<float>();
        int items = Shapes.Product(batch);
        for (int i = 0; i < items; i++)
        {
            // Multi-index of item i, then each operand's index with broadcast axes pinned to 0.
            var index = new int[batch.Length];
            for (int d = batch.Length - 1, rest = i; d >= 0; d--) { index[d] = rest % batch[d]; rest /= batch[d]; }
            Tensor ai = Item(a, ItemOf(index, batchA), aItemSize), bi = Item(b, ItemOf(index, batchB), bItemSize);
            result.AddRange(Ops.MatMul(ai, bi, transA, transB).ToArray());
        }
        return [.. result];
    }

    private static int ItemOf(int[] index, int[] operandBatch)
    {
        int offset = index.Length - operandBatch.Length, item = 0;
        for (int d = 0; d < operandBatch.Length; d++)
            item = item * operandBatch[d] + (operandBatch[d] == 1 ? 0 : index[d + offset]);
        return item;
    }

    private static Tensor Item(Tensor t, int item, int size) =>
        Tensor.FromArray(t.Span.Slice(item * size, size).ToArray(), t.Dim(-2), t.Dim(-1));
}
