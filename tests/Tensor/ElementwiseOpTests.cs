using NanoNet.Autograd;
using System.Numerics.Tensors;

namespace NanoNet.Tests;

/// <summary>
/// The element-wise ops: a central-difference gradient check for each (including every way an input can be
/// stretched by broadcasting), comparisons as unrecorded masks, and the C# operators against the ops.
/// </summary>
public class ElementwiseOpTests
{
    /// <summary>(a, b) shape pairs: identical, both stretched, a row vector, scalars on either side, a column against a row.</summary>
    private static readonly int[][][] BroadcastPairs =
    [
        [[2, 3], [2, 3]],
        [[3, 1, 4], [2, 1]],
        [[2, 3, 4], [4]],
        [[2, 3, 4], [2, 3, 1]],
        [[2, 3], []],
        [[], [3]],
        [[1, 3], [4, 1]],
    ];

    private static IEnumerable<TestCaseData> Pairs(string op) =>
        BroadcastPairs.Select(p => new TestCaseData(p[0], p[1]).SetName($"{op}_{Shapes.Format(p[0])}_{Shapes.Format(p[1])}"));

    private static IEnumerable<TestCaseData> AddPairs() => Pairs("Add");
    private static IEnumerable<TestCaseData> SubtractPairs() => Pairs("Subtract");
    private static IEnumerable<TestCaseData> MultiplyPairs() => Pairs("Multiply");
    private static IEnumerable<TestCaseData> DividePairs() => Pairs("Divide");
    private static IEnumerable<TestCaseData> MinMaxPairs() => Pairs("MinMax");

    [TestCaseSource(nameof(AddPairs))]
    public void AddGradient(int[] a, int[] b) =>
        GradientCheck.Check(x => Ops.Add(x[0], x[1]), [GradientCheck.Random(a, 1), GradientCheck.Random(b, 2)]);

    [TestCaseSource(nameof(SubtractPairs))]
    public void SubtractGradient(int[] a, int[] b) =>
        GradientCheck.Check(x => Ops.Subtract(x[0], x[1]), [GradientCheck.Random(a, 3), GradientCheck.Random(b, 4)]);

    [TestCaseSource(nameof(MultiplyPairs))]
    public void MultiplyGradient(int[] a, int[] b) =>
        GradientCheck.Check(x => Ops.Multiply(x[0], x[1]), [GradientCheck.Random(a, 5), GradientCheck.Random(b, 6)]);

    [TestCaseSource(nameof(DividePairs))]
    public void DivideGradient(int[] a, int[] b) =>
        GradientCheck.Check(x => Ops.Divide(x[0], x[1]), [GradientCheck.Random(a, 7), AwayFromZero(b, 8)], epsilon: 1e-3f);

    [TestCaseSource(nameof(MinMaxPairs))]
    public void MaximumAndMinimumGradient(int[] a, int[] b)
    {
        // a on the grid 0.1·k, b on 0.1·k + 0.05: every pair differs by at least 0.05, far beyond ε.
        Tensor left = Grid(a, 9, 0f), right = Grid(b, 10, 0.05f);
        GradientCheck.Check(x => Ops.Maximum(x[0], x[1]), [left, right]);
        GradientCheck.Check(x => Ops.Minimum(x[0], x[1]), [left, right]);
    }

    [Test]
    public void MaximumSplitsTiesAndRoutesToTheWinner()
    {
        var a = Tensor.FromArray([1f, 5f, 3f], 3).AsParameter();
        var b = Tensor.FromArray([2f, 4f, 3f], 3).AsParameter();
        Tensor y = Ops.Maximum(a, b);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 2f, 5f, 3f }));
        Ops.Sum(y).Backward();
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 1f, 0.5f }));
        Assert.That(b.Grad!.ToArray(), Is.EqualTo(new[] { 1f, 0f, 0.5f }));

        a.Grad = null;
        b.Grad = null;
        Ops.Sum(Ops.Minimum(a, b)).Backward();
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { 1f, 0f, 0.5f }));
        Assert.That(b.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 1f, 0.5f }));
    }

    [Test]
    public void WhereGradientWithEveryInputStretched()
    {
        Tensor mask = Tensor.FromArray([1, 0, 0, 1, 1, 0, 1, 0], 2, 1, 4);
        GradientCheck.Check(x => Ops.Where(mask, x[0], x[1]), [GradientCheck.Random([3, 1], 11), GradientCheck.Random([4], 12)]);
        GradientCheck.Check(x => Ops.Where(mask, x[0], x[1]), [GradientCheck.Random([2, 3, 4], 13), GradientCheck.Random([], 14)]);
    }

    [Test]
    public void WhereSelectsAndGivesTheMaskNoGradient()
    {
        Tensor mask = Tensor.FromArray([1, 0, float.NaN], 3).AsParameter("mask");
        var a = Tensor.FromArray([1f, 2f, 3f], 3).AsParameter();
        var b = Tensor.Scalar(-1f).AsParameter();
        Tensor y = Ops.Where(mask, a, b);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { 1f, -1f, 3f })); // NaN counts as non-zero
        Ops.Sum(y).Backward();
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(new[] { 1f, 0f, 1f }));
        Assert.That(b.Grad!.ToArray(), Is.EqualTo(new[] { 1f }));
        Assert.That(mask.Grad, Is.Null);
    }

    [Test]
    public void BroadcastToGradientSumsStretchedAxes()
    {
        GradientCheck.Check(x => Ops.BroadcastTo(x[0], 2, 3, 4), [GradientCheck.Random([3, 1], 15)]);
        GradientCheck.Check(x => Ops.BroadcastTo(x[0], 2, 2), [GradientCheck.Random([], 16)]);
        GradientCheck.Check(x => Ops.BroadcastTo(x[0], 5, 1, 3), [GradientCheck.Random([1, 1, 3], 17)]);
        Assert.That(Ops.BroadcastTo(Tensor.FromArray([1f, 2f], 2, 1), 2, 3).ToArray(), Is.EqualTo(new[] { 1f, 1f, 1f, 2f, 2f, 2f }));
        var ex = Assert.Throws<ArgumentException>(() => Ops.BroadcastTo(Tensor.Zeros(3, 2), 3, 4));
        Assert.That(ex!.Message, Does.Contain("(3, 2)").And.Contain("(3, 4)"));
    }

    [Test]
    public void ScalarOverloadsGradient()
    {
        GradientCheck.Check(x => Ops.Add(x[0], 1.5f), [GradientCheck.Random([2, 3], 18)]);
        GradientCheck.Check(x => Ops.Subtract(x[0], 1.5f), [GradientCheck.Random([2, 3], 19)]);
        GradientCheck.Check(x => Ops.Subtract(1.5f, x[0]), [GradientCheck.Random([2, 3], 20)]);
        GradientCheck.Check(x => Ops.Multiply(x[0], -2.5f), [GradientCheck.Random([2, 3], 21)]);
        GradientCheck.Check(x => Ops.Divide(x[0], 4f), [GradientCheck.Random([2, 3], 22)]);
        GradientCheck.Check(x => Ops.Divide(2f, x[0]), [AwayFromZero([2, 3], 23)], epsilon: 1e-3f);
    }

    [Test]
    public void UnaryGradients()
    {
        GradientCheck.Check(x => Ops.Negate(x[0]), [GradientCheck.Random([3, 4], 24)]);
        GradientCheck.Check(x => Ops.Exp(x[0]), [GradientCheck.Random([3, 4], 25)]);
        GradientCheck.Check(x => Ops.Square(x[0]), [GradientCheck.Random([3, 4], 26)]);
        GradientCheck.Check(x => Ops.Sqrt(x[0]), [Tensor.RandomUniform([3, 4], 0.5f, 2f, 27)], epsilon: 1e-3f);
        GradientCheck.Check(x => Ops.Rsqrt(x[0]), [Tensor.RandomUniform([3, 4], 0.5f, 2f, 28)], epsilon: 1e-3f);
        GradientCheck.Check(x => Ops.Abs(x[0]), [GradientCheck.Random([3, 4], 29, awayFromZero: 0.05f)]);
    }

    [TestCase(2.5f)]
    [TestCase(-1.5f)]
    [TestCase(0.5f)]
    public void PowGradient(float exponent) =>
        GradientCheck.Check(x => Ops.Pow(x[0], exponent), [Tensor.RandomUniform([3, 4], 0.5f, 2f, 30)], epsilon: 1e-3f);

    [Test]
    public void PowIntegerExponentOnNegativesAndZero()
    {
        GradientCheck.Check(x => Ops.Pow(x[0], 3f), [GradientCheck.Random([3, 4], 31)], epsilon: 1e-3f);
        var x = Tensor.FromArray([0f, 2f], 2).AsParameter();
        Ops.Sum(Ops.Pow(x, 0f)).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 0f }));
    }

    [Test]
    public void ClampGradient()
    {
        // Keep x at least 0.05 away from both bounds: the gradient is 1 inside, 0 outside.
        Tensor x = GradientCheck.Random([4, 5], 32);
        Span<float> s = x.Span;
        for (int i = 0; i < s.Length; i++)
            if (MathF.Abs(MathF.Abs(s[i]) - 0.5f) < 0.05f)
                s[i] += 0.1f;
        GradientCheck.Check(t => Ops.Clamp(t[0], -0.5f, 0.5f), [x]);

        var atBounds = Tensor.FromArray([-1f, -0.5f, 0f, 0.5f, 1f], 5).AsParameter();
        Tensor y = Ops.Clamp(atBounds, -0.5f, 0.5f);
        Assert.That(y.ToArray(), Is.EqualTo(new[] { -0.5f, -0.5f, 0f, 0.5f, 0.5f }));
        Ops.Sum(y).Backward();
        Assert.That(atBounds.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 1f, 1f, 1f, 0f })); // bounds pass the gradient
        Assert.Throws<ArgumentException>(() => Ops.Clamp(atBounds, 1f, -1f));
    }

    [Test]
    public void ComparisonsGiveMasksAndRecordNothing()
    {
        var a = Tensor.FromArray([1f, 2f, 3f, float.NaN], 4, 1).AsParameter();
        var b = Tensor.FromArray([2f, 3f], 2).AsParameter();
        (Func<Tensor, Tensor, Tensor> op, Func<float, float, bool> test)[] cases =
        [
            (Ops.Greater, (x, y) => x > y), (Ops.GreaterEqual, (x, y) => x >= y), (Ops.Less, (x, y) => x < y),
            (Ops.LessEqual, (x, y) => x <= y), (Ops.Equal, (x, y) => x == y), (Ops.NotEqual, (x, y) => x != y),
        ];
        foreach (var (op, test) in cases)
        {
            Tensor mask = op(a, b);
            Assert.That(mask.Shape.ToArray(), Is.EqualTo(new[] { 4, 2 }));
            Assert.That(mask.CreatedBy, Is.Null);
            Assert.That(mask.RequiresGrad, Is.False);
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 2; j++)
                    Assert.That(mask[i, j], Is.EqualTo(test(a[i], b[j]) ? 1f : 0f), $"{op.Method.Name} ({i}, {j})");
        }
        (Func<Tensor, float, Tensor> scalarOp, Func<float, bool> scalarTest)[] scalarCases =
        [
            (Ops.Greater, x => x > 2f), (Ops.GreaterEqual, x => x >= 2f), (Ops.Less, x => x < 2f),
            (Ops.LessEqual, x => x <= 2f), (Ops.Equal, x => x == 2f), (Ops.NotEqual, x => x != 2f),
        ];
        foreach (var (op, test) in scalarCases)
        {
            Tensor mask = op(a, 2f);
            Assert.That(mask.CreatedBy, Is.Null);
            Assert.That(mask.ToArray(), Is.EqualTo(a.ToArray().Select(x => test(x) ? 1f : 0f).ToArray()), op.Method.Name);
        }
    }

    [Test]
    public void ComparisonsOnLongSpansUseTheVectorPath()
    {
        Tensor a = GradientCheck.Random([3, 37], 33), b = GradientCheck.Random([37], 34);
        Tensor mask = Ops.Greater(a, b);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 37; j++)
                Assert.That(mask[i, j], Is.EqualTo(a[i, j] > b[j] ? 1f : 0f));
    }

    [Test]
    public void OperatorsEqualTheOps()
    {
        Tensor a = GradientCheck.Random([2, 3], 35), b = AwayFromZero([3], 36);
        Assert.That((a + b).ToArray(), Is.EqualTo(Ops.Add(a, b).ToArray()));
        Assert.That((a - b).ToArray(), Is.EqualTo(Ops.Subtract(a, b).ToArray()));
        Assert.That((a * b).ToArray(), Is.EqualTo(Ops.Multiply(a, b).ToArray()));
        Assert.That((a / b).ToArray(), Is.EqualTo(Ops.Divide(a, b).ToArray()));
        Assert.That((-a).ToArray(), Is.EqualTo(Ops.Negate(a).ToArray()));
        Assert.That((a + 2f).ToArray(), Is.EqualTo(Ops.Add(a, 2f).ToArray()));
        Assert.That((2f + a).ToArray(), Is.EqualTo(Ops.Add(a, 2f).ToArray()));
        Assert.That((a - 2f).ToArray(), Is.EqualTo(Ops.Subtract(a, 2f).ToArray()));
        Assert.That((2f - a).ToArray(), Is.EqualTo(Ops.Subtract(2f, a).ToArray()));
        Assert.That((a * 3f).ToArray(), Is.EqualTo(Ops.Multiply(a, 3f).ToArray()));
        Assert.That((3f * a).ToArray(), Is.EqualTo(Ops.Multiply(a, 3f).ToArray()));
        Assert.That((a / 4f).ToArray(), Is.EqualTo(Ops.Divide(a, 4f).ToArray()));
        Assert.That((4f / b).ToArray(), Is.EqualTo(Ops.Divide(4f, b).ToArray()));
        // And they record like the ops: an expression built from operators passes a gradient check.
        GradientCheck.Check(x => (x[0] * x[1] - 1f) / (2f + x[1] * x[1]) + -x[0], [GradientCheck.Random([2, 3], 37), GradientCheck.Random([3], 38)]);
    }

    [Test]
    public void SameShapeAddAndMultiplyAreTheDirectPrimitives()
    {
        Tensor a = GradientCheck.Random([5, 33], 39), b = GradientCheck.Random([5, 33], 40);
        float[] sum = new float[a.Length], product = new float[a.Length];
        TensorPrimitives.Add(a.Span, b.Span, sum);
        TensorPrimitives.Multiply(a.Span, b.Span, product);
        Assert.That(Ops.Add(a, b).ToArray(), Is.EqualTo(sum));
        Assert.That(Ops.Multiply(a, b).ToArray(), Is.EqualTo(product));

        a.AsParameter();
        b.AsParameter();
        Tensor dY = GradientCheck.Random([5, 33], 41);
        Ops.Sum(Ops.Multiply(Ops.Multiply(a, b), dY)).Backward();
        float[] expected = new float[a.Length];
        TensorPrimitives.Multiply(dY.Span, b.Span, expected);
        Assert.That(a.Grad!.ToArray(), Is.EqualTo(expected));
    }

    [Test]
    public void ZeroSizeBroadcastGivesEmptyOutputAndZeroGradient()
    {
        var a = Tensor.Zeros(0, 3).AsParameter();
        var b = Tensor.FromArray([1f, 2f, 3f], 1, 3).AsParameter();
        Tensor y = Ops.Add(a, b);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 0, 3 }));
        Ops.Sum(y).Backward();
        Assert.That(b.Grad!.ToArray(), Is.EqualTo(new[] { 0f, 0f, 0f }));
    }

    [Test]
    public void NothingIsRecordedUnderNoGrad()
    {
        var a = GradientCheck.Random([2, 3], 42).AsParameter();
        using (Tape.NoGrad())
            Assert.That(Ops.Divide(Ops.Exp(a), a + 1f).CreatedBy, Is.Null);
    }

    private static Tensor AwayFromZero(int[] shape, int seed)
    {
        Tensor t = Tensor.RandomUniform(shape, 0.5f, 1.5f, seed);
        Span<float> s = t.Span;
        for (int i = 0; i < s.Length; i += 2)
            s[i] = -s[i];
        return t;
    }

    /// <summary>Values 0.1·k + offset for integer k in [−9, 9]: two grids with different offsets never come within ε.</summary>
    private static Tensor Grid(int[] shape, int seed, float offset)
    {
        var random = new Random(seed);
        Tensor t = Tensor.Zeros(shape);
        Span<float> s = t.Span;
        for (int i = 0; i < s.Length; i++)
            s[i] = random.Next(-9, 10) * 0.1f + offset;
        return t;
    }
}
