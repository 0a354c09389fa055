using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>The broadcasting kernels against their index-by-index reference twin, on awkward shapes.</summary>
public class BroadcastTests
{
    /// <summary>(a, b, expected output) — size-1 axes everywhere, rank mismatches, scalars, zero sizes, identical shapes.</summary>
    private static readonly int[][][] ShapePairs =
    [
        [[], [], []],
        [[], [3], [3]],
        [[2, 3], [], [2, 3]],
        [[1], [5], [5]],
        [[6], [1], [6]],
        [[3, 1, 5], [4, 1], [3, 4, 5]],
        [[4, 1], [3, 1, 5], [3, 4, 5]],
        [[2, 3, 4], [2, 3, 4], [2, 3, 4]],
        [[1, 3, 1], [2, 1, 4], [2, 3, 4]],
        [[2, 1, 4, 1], [3, 1, 5], [2, 3, 4, 5]],
        [[3, 1], [1, 7], [3, 7]],
        [[2, 3, 1, 5], [1, 3, 4, 1], [2, 3, 4, 5]],
        [[3, 1, 4], [1, 1, 4], [3, 1, 4]],
        [[1, 1, 1], [1], [1, 1, 1]],
        [[5, 1], [1, 1], [5, 1]],
        [[8, 16, 40], [40], [8, 16, 40]],
        [[8, 16, 40], [8, 16, 1], [8, 16, 40]],
        [[1, 16, 1], [8, 1, 40], [8, 16, 40]],
        [[0, 3], [1, 3], [0, 3]],
        [[0, 1], [1, 4], [0, 4]],
        [[2, 0, 3], [3], [2, 0, 3]],
        [[], [0], [0]],
        // Every axis broadcasts differently from its neighbour, so nothing merges: 8 merged axes is the most a plan
        // keeps inline, 10 spill to the heap (BroadcastPlan.InlineAxes).
        [[2, 1, 2, 1, 2, 1, 2, 1], [1, 3, 1, 3, 1, 3, 1, 3], [2, 3, 2, 3, 2, 3, 2, 3]],
        [[2, 1, 2, 1, 2, 1, 2, 1, 2, 1], [1, 3, 1, 3, 1, 3, 1, 3, 1, 3], [2, 3, 2, 3, 2, 3, 2, 3, 2, 3]],
    ];

    private static IEnumerable<TestCaseData> Pairs() =>
        ShapePairs.Select(p => new TestCaseData(p[0], p[1], p[2]).SetName($"{Shapes.Format(p[0])} with {Shapes.Format(p[1])}"));

    [TestCaseSource(nameof(Pairs))]
    public void OutputShapeFollowsNumPy(int[] a, int[] b, int[] expected) =>
        Assert.That(BroadcastShape.Of(a, b), Is.EqualTo(expected));

    [TestCaseSource(nameof(Pairs))]
    public void BinaryMatchesReference(int[] aShape, int[] bShape, int[] yShape)
    {
        float[] a = Values(aShape, 1), b = Values(bShape, 2);
        if (a.Length > 0 && b.Length > 0) // one tie, for the comparisons and the max share
            a[0] = b[0];
        ExpectSame<AddOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<SubtractOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<MultiplyOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<DivideOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<MinimumOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<MaximumOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<GreaterOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<LessEqualOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<EqualOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<NotEqualOperator>(a, aShape, b, bShape, yShape);
        ExpectSame<MaximumShareOperator>(a, aShape, b, bShape, yShape);
    }

    [TestCaseSource(nameof(Pairs))]
    public void SumIntoMatchesReference(int[] aShape, int[] bShape, int[] yShape)
    {
        float[] dY = Values(yShape, 3);
        foreach (int[] gShape in new[] { aShape, bShape })
            foreach (bool subtract in new[] { false, true })
            {
                float[] expected = Values(gShape, 4), actual = (float[])expected.Clone();
                BroadcastReference.SumInto(dY, yShape, expected, gShape, subtract);
                Broadcast.SumInto(dY, yShape, actual, gShape, subtract);
                for (int i = 0; i < expected.Length; i++)
                    Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-4f + 1e-5f * Math.Abs(expected[i])),
                        $"g {Shapes.Format(gShape)} from {Shapes.Format(yShape)}, element {i}, subtract {subtract}");
            }
    }

    [TestCaseSource(nameof(Pairs))]
    public void SelectAndStretchMatchReference(int[] aShape, int[] bShape, int[] yShape)
    {
        float[] a = Values(aShape, 5), b = Values(bShape, 6);
        // The mask takes each input's shape in turn, so every operand is stretched somewhere.
        foreach (int[] maskShape in new[] { aShape, bShape, yShape, [] })
        {
            float[] mask = Values(maskShape, 7).Select(v => v > 0 ? 1f : 0f).ToArray();
            float[] expected = new float[Shapes.Product(yShape)], actual = new float[expected.Length];
            BroadcastReference.Select(mask, maskShape, a, aShape, b, bShape, expected, yShape);
            Broadcast.Select(mask, maskShape, a, aShape, b, bShape, actual, yShape);
            Assert.That(actual, Is.EqualTo(expected), $"mask {Shapes.Format(maskShape)}");
        }
        foreach ((float[] x, int[] xShape) in new[] { (a, aShape), (b, bShape) })
        {
            float[] expected = new float[Shapes.Product(yShape)], actual = new float[expected.Length];
            BroadcastReference.Stretch(x, xShape, expected, yShape);
            Broadcast.Stretch(x, xShape, actual, yShape);
            Assert.That(actual, Is.EqualTo(expected), $"stretch {Shapes.Format(xShape)}");
        }
    }

    [TestCase(new[] { 3, 4 }, new[] { 5 })]
    [TestCase(new[] { 2, 3, 4 }, new[] { 3, 1, 4 })]
    [TestCase(new[] { 0 }, new[] { 2 })]
    public void IncompatibleShapesThrowNamingBoth(int[] a, int[] b)
    {
        var ex = Assert.Throws<ArgumentException>(() => BroadcastShape.Of(a, b, "Add"));
        Assert.That(ex!.Message, Does.Contain("Add").And.Contain(Shapes.Format(a)).And.Contain(Shapes.Format(b)));
        var fromOp = Assert.Throws<ArgumentException>(() => Ops.Multiply(Tensor.Zeros(a), Tensor.Zeros(b)));
        Assert.That(fromOp!.Message, Does.Contain("Multiply").And.Contain(Shapes.Format(a)).And.Contain(Shapes.Format(b)));
    }

    [Test]
    public void ThreeShapesThrowNamingAll()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ops.Where(Tensor.Zeros(2, 3), Tensor.Zeros(3), Tensor.Zeros(4)));
        Assert.That(ex!.Message, Does.Contain("Where").And.Contain("(2, 3)").And.Contain("(3)").And.Contain("(4)"));
    }

    [Test]
    public void MergesAxesThatBroadcastAlike()
    {
        var rowVector = BroadcastPlan.Create([64, 128, 256], [64, 128, 256], [256]);
        Assert.That((rowVector.Rank, rowVector.Rows, rowVector.Inner), Is.EqualTo((2, 64 * 128, 256)));
        Assert.That((rowVector.Stride(0, 0), rowVector.Stride(0, 1), rowVector.Stride(1, 0), rowVector.Stride(1, 1)), Is.EqualTo((256, 1, 0, 1)));

        var column = BroadcastPlan.Create([64, 128, 256], [64, 128, 256], [64, 128, 1]);
        Assert.That((column.Rank, column.Stride(1, 0), column.Stride(1, 1)), Is.EqualTo((2, 1, 0)));

        var same = BroadcastPlan.Create([2, 3, 4], [2, 3, 4], [2, 3, 4]);
        Assert.That((same.Rank, same.Inner), Is.EqualTo((1, 24)));

        // Ten axes that cannot merge: more than the plan keeps inline, so it spills, and reads back the same way.
        var spilled = BroadcastPlan.Create([2, 3, 2, 3, 2, 3, 2, 3, 2, 3], [2, 1, 2, 1, 2, 1, 2, 1, 2, 1], [1, 3, 1, 3, 1, 3, 1, 3, 1, 3]);
        Assert.That((spilled.Rank, spilled.Rows, spilled.Inner), Is.EqualTo((10, 2592, 3)));
        Assert.That((spilled.Stride(0, 0), spilled.Stride(0, 8), spilled.Stride(0, 9), spilled.Stride(1, 1), spilled.Stride(1, 8), spilled.Stride(1, 9)),
            Is.EqualTo((16, 1, 0, 81, 0, 1)));
    }

    /// <summary>Large enough to run on two workers: the result must not depend on the thread count, bit for bit.</summary>
    [TestCase(new[] { 64, 32, 64 }, new[] { 64, 1, 64 })]
    [TestCase(new[] { 64, 32, 64 }, new[] { 32, 1 })]
    [TestCase(new[] { 256, 512 }, new[] { 256, 1 })]
    public void ThreadCountDoesNotChangeResults(int[] yShape, int[] bShape)
    {
        float[] a = Values(yShape, 8), b = Values(bShape, 9), dY = Values(yShape, 10);
        int saved = Parallelism.MaxThreads;
        try
        {
            float[][] forward = new float[2][], reduced = new float[2][];
            for (int threads = 1; threads <= 2; threads++)
            {
                Parallelism.MaxThreads = threads;
                forward[threads - 1] = new float[a.Length];
                Broadcast.Binary<AddOperator>(a, yShape, b, bShape, forward[threads - 1], yShape);
                reduced[threads - 1] = new float[b.Length];
                Broadcast.SumInto(dY, yShape, reduced[threads - 1], bShape);
            }
            Assert.That(forward[1], Is.EqualTo(forward[0]));
            Assert.That(reduced[1], Is.EqualTo(reduced[0]));
            float[] expected = new float[a.Length];
            BroadcastReference.Binary<AddOperator>(a, yShape, b, bShape, expected, yShape);
            Assert.That(forward[0], Is.EqualTo(expected));
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private static void ExpectSame<TOp>(float[] a, int[] aShape, float[] b, int[] bShape, int[] yShape) where TOp : struct, IBinaryOperator
    {
        float[] expected = new float[Shapes.Product(yShape)], actual = new float[expected.Length];
        BroadcastReference.Binary<TOp>(a, aShape, b, bShape, expected, yShape);
        Broadcast.Binary<TOp>(a, aShape, b, bShape, actual, yShape);
        Assert.That(actual, Is.EqualTo(expected), typeof(TOp).Name);
    }

    /// <summary>Random values in [-2, 2), with no zeros (so Divide stays finite).</summary>
    private static float[] Values(int[] shape, int seed)
    {
        float[] values = Tensor.RandomUniform(shape, -2f, 2f, seed).ToArray();
        for (int i = 0; i < values.Length; i++)
            if (values[i] == 0f)
                values[i] = 0.5f;
        return values;
    }
}
