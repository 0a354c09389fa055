using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>Sum, Mean, Max, Min, Variance and LogSumExp over axes: against the reference, errors, ties, gradients.</summary>
public class ReductionTests
{
    private static readonly int[][] Shapes_ =
    [
        [7], [1], [3, 5], [1, 4], [4, 1], [4, 1, 6], [2, 3, 4], [3, 1, 5, 2], [2, 3, 4, 5], [2, 1, 1, 3],
        [5, 300], [300, 3], [3, 270, 2], [2, 3, 290], [1, 1, 1],
    ];

    private static Tensor Apply(ReduceReference.Kind kind, Tensor x, int[] axes, bool keepDims) => kind switch
    {
        ReduceReference.Kind.Sum => Ops.Sum(x, axes, keepDims),
        ReduceReference.Kind.Mean => Ops.Mean(x, axes, keepDims),
        ReduceReference.Kind.Max => Ops.Max(x, axes, keepDims),
        ReduceReference.Kind.Min => Ops.Min(x, axes, keepDims),
        ReduceReference.Kind.Variance => Ops.Variance(x, axes, keepDims),
        _ => Ops.LogSumExp(x, axes, keepDims),
    };

    private static IEnumerable<int[]> Subsets(int rank)
    {
        for (int mask = 0; mask < 1 << rank; mask++)
            yield return Enumerable.Range(0, rank).Where(d => (mask >> d & 1) != 0).ToArray();
    }

    private static int[] ExpectedShape(int[] shape, int[] axes, bool keepDims) =>
        shape.Select((d, i) => axes.Contains(i) ? (keepDims ? 1 : -1) : d).Where(d => d >= 0).ToArray();

    [Test]
    public void EveryAxisSetMatchesTheReference([Values] ReduceReference.Kind kind)
    {
        int seed = 0;
        foreach (int[] shape in Shapes_)
        {
            Tensor x = Tensor.RandomUniform(shape, -2f, 2f, seed++);
            foreach (int[] axes in Subsets(shape.Length))
            {
                var expected = new float[Shapes.Product(ExpectedShape(shape, axes, false))];
                ReduceReference.Reduce(kind, x.Span, shape, axes, expected);
                int[] negative = axes.Select(a => a % 2 == 0 ? a - shape.Length : a).ToArray(); // mix both spellings
                foreach (bool keepDims in new[] { false, true })
                {
                    Tensor y = Apply(kind, x, keepDims ? negative : axes, keepDims);
                    string what = $"{kind} of {Shapes.Format(shape)} over {Shapes.Format(axes)}, keepDims {keepDims}";
                    Assert.That(y.Shape.ToArray(), Is.EqualTo(ExpectedShape(shape, axes, keepDims)), what);
                    int n = x.Length / Math.Max(1, y.Length);
                    for (int i = 0; i < y.Length; i++)
                        Assert.That(y[i], Is.EqualTo(expected[i]).Within(1e-5f * (1 + MathF.Sqrt(n)) * (1 + MathF.Abs(expected[i]))), $"{what}, element {i}");
                }
            }
        }
    }

    [Test]
    public void SingleAxisOverloadEqualsTheArrayOne()
    {
        Tensor x = Tensor.RandomUniform([3, 4, 5], -1f, 1f, 3);
        for (int axis = -3; axis < 3; axis++)
        {
            Assert.That(Ops.Sum(x, axis).ToArray(), Is.EqualTo(Ops.Sum(x, [axis]).ToArray()));
            Assert.That(Ops.Mean(x, axis, keepDims: true).ToArray(), Is.EqualTo(Ops.Mean(x, [axis], true).ToArray()));
            Assert.That(Ops.Max(x, axis).ToArray(), Is.EqualTo(Ops.Max(x, [axis]).ToArray()));
            Assert.That(Ops.Min(x, axis).ToArray(), Is.EqualTo(Ops.Min(x, [axis]).ToArray()));
            Assert.That(Ops.Variance(x, axis).ToArray(), Is.EqualTo(Ops.Variance(x, [axis]).ToArray()));
            Assert.That(Ops.LogSumExp(x, axis).ToArray(), Is.EqualTo(Ops.LogSumExp(x, [axis]).ToArray()));
        }
    }

    [Test]
    public void SumOverAllAxesIsBitIdenticalToTheWholeTensorSum()
    {
        Tensor x = Tensor.RandomUniform([17, 33, 9], -1f, 1f, 4);
        Assert.That(Ops.Sum(x, [0, 1, 2])[0], Is.EqualTo(Ops.Sum(x)[0]));
        Assert.That(Ops.Mean(x, [0, 1, 2])[0], Is.EqualTo(Ops.Mean(x)[0]));
        Assert.That(Ops.Sum(x, [0, 1, 2]).Rank, Is.EqualTo(0));
    }

    [Test]
    public void ResultsAreBitIdenticalAtOneAndTwoThreads([Values] ReduceReference.Kind kind)
    {
        Tensor x = Tensor.RandomUniform([48, 40, 300], -3f, 3f, 5);
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int[] axes in new[] { new[] { 0 }, [1], [2], [0, 2], [0, 1], [1, 2] })
            {
                Parallelism.MaxThreads = 1;
                float[] one = Apply(kind, x, axes, false).ToArray();
                Parallelism.MaxThreads = 2;
                float[] two = Apply(kind, x, axes, false).ToArray();
                Assert.That(two, Is.EqualTo(one), $"{kind} over {Shapes.Format(axes)}");
                var expected = new float[one.Length];
                ReduceReference.Reduce(kind, x.Span, [48, 40, 300], axes, expected);
                for (int i = 0; i < one.Length; i++)
                    Assert.That(one[i], Is.EqualTo(expected[i]).Within(2e-3f * (1 + MathF.Abs(expected[i]))), $"{kind} over {Shapes.Format(axes)}, element {i}");
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void BadAxesNameTheAxisAndTheShape()
    {
        Tensor x = Tensor.Zeros(2, 3, 4);
        var outOfRange = Assert.Throws<ArgumentException>(() => Ops.Sum(x, 3));
        Assert.That(outOfRange!.Message, Does.Contain("axis 3").And.Contain("(2, 3, 4)").And.Contain("Sum"));
        Assert.That(Assert.Throws<ArgumentException>(() => Ops.Max(x, [-4]))!.Message, Does.Contain("axis -4").And.Contain("(2, 3, 4)"));
        var duplicate = Assert.Throws<ArgumentException>(() => Ops.Mean(x, [1, -2]));
        Assert.That(duplicate!.Message, Does.Contain("axis -2").And.Contain("twice").And.Contain("(2, 3, 4)"));
        Assert.Throws<ArgumentException>(() => Ops.Max(Tensor.Zeros(3, 0), 1));
    }

    [Test]
    public void MaxAndMinSendTheGradientToTheFirstOccurrence()
    {
        var x = Tensor.FromArray([1, 3, 3, 2, 2, 0], 2, 3).AsParameter();
        Ops.Sum(Ops.Max(x, 1)).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new float[] { 0, 1, 0, 1, 0, 0 }));

        var columns = Tensor.FromArray([5, 1, 5, 1], 2, 2).AsParameter();
        Ops.Sum(Ops.Min(columns, 0)).Backward();
        Assert.That(columns.Grad!.ToArray(), Is.EqualTo(new float[] { 1, 1, 0, 0 })); // both columns tie: row 0 wins

        // Scattered axes (0 and 2 of a rank-3 tensor): the first in row-major order still wins.
        var cube = Tensor.FromArray([0, 7, 1, 0, 7, 2, 0, 0], 2, 2, 2).AsParameter();
        Ops.Sum(Ops.Max(cube, [0, 2])).Backward();
        // Output 0 sees 0, 7, 7, 2 at flat 0, 1, 4, 5 (tie: flat 1 wins); output 1 sees 1, 0, 0, 0 (flat 2).
        Assert.That(cube.Grad!.ToArray(), Is.EqualTo(new float[] { 0, 1, 1, 0, 0, 0, 0, 0 }));
    }

    [Test]
    public void LogSumExpIsStableForLargeInputs()
    {
        Tensor y = Ops.LogSumExp(Tensor.FromArray([1000, 1000, -1000, float.NegativeInfinity], 2, 2), 1);
        Assert.That(y[0], Is.EqualTo(1000 + MathF.Log(2)).Within(1e-3f));
        Assert.That(y[1], Is.EqualTo(-1000f).Within(1e-3f));
        Assert.That(Ops.LogSumExp(Tensor.Full(float.NegativeInfinity, 3), 0)[0], Is.EqualTo(float.NegativeInfinity));
    }

    [Test]
    public void VarianceIsThePopulationVariance()
    {
        Tensor y = Ops.Variance(Tensor.FromArray([1, 2, 3, 4], 4), 0);
        Assert.That(y[0], Is.EqualTo(1.25f)); // Σ (x − 2.5)² / 4, not / 3
    }

    private static readonly int[][] GradientAxes = [[0], [1], [-1], [0, 2], [0, 1, 2], [1, 2]];

    [Test]
    public void GradientsAreRight([Values] ReduceReference.Kind kind, [Values(false, true)] bool keepDims)
    {
        for (int c = 0; c < GradientAxes.Length; c++)
        {
            int[] axes = GradientAxes[c];
            Tensor x = kind is ReduceReference.Kind.Max or ReduceReference.Kind.Min
                ? DistinctValues([3, 4, 5], seed: c)   // the arg-max must not move under ±ε
                : GradientCheck.Random([3, 4, 5], 20 + c);
            GradientCheck.Check(t => Apply(kind, t[0], axes, keepDims), [x]);
        }
    }

    [Test]
    public void GradientThroughASize1Axis() =>
        GradientCheck.Check(t => Ops.Variance(t[0], [1, 3], keepDims: true), [GradientCheck.Random([2, 1, 3, 4], 30)]);

    /// <summary>Values 0.05 apart in a random order, so every max and min is unique by more than 2ε.</summary>
    private static Tensor DistinctValues(int[] shape, int seed)
    {
        int n = Shapes.Product(shape);
        var values = Enumerable.Range(0, n).Select(i => (i - n / 2) * 0.05f).ToArray();
        new Random(seed).Shuffle(values);
        return Tensor.FromArray(values, shape);
    }
}
