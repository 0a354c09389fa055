using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>The global pooling and shape layers: forward against plain loops, gradients by central differences, config round trips.</summary>
public class ShapeLayerTests
{
    private static T Built<T>(T layer, int[] shape) where T : Layer
    {
        layer.Build(shape);
        return layer;
    }

    private static void RoundTrips(Layer layer)
    {
        LayerConfig config = layer.GetConfig();
        Layer copy = LayerRegistry.Create(config);
        Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
        Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
    }

    // ---- global pooling ----

    [TestCase(false)]
    [TestCase(true)]
    public void GlobalPooling2DMatchesLoops(bool max)
    {
        const int n = 3, h = 4, w = 5, c = 6;
        Layer layer = Built<Layer>(max ? new GlobalMaxPooling2D() : new GlobalAveragePooling2D(), [h, w, c]);
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(new[] { c }));
        Tensor x = Tensor.RandomUniform([n, h, w, c], -2f, 2f, 1);
        Tensor y = layer.Forward(x);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { n, c }));
        for (int b = 0; b < n; b++)
            for (int k = 0; k < c; k++)
            {
                double acc = max ? double.NegativeInfinity : 0;
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                    {
                        float v = x[((b * h + i) * w + j) * c + k];
                        acc = max ? Math.Max(acc, v) : acc + v;
                    }
                double expected = max ? acc : acc / (h * w);
                Assert.That(y[b * c + k], Is.EqualTo(expected).Within(1e-5));
            }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void GlobalPooling1DMatchesLoops(bool max)
    {
        const int n = 3, t = 7, f = 4;
        Layer layer = Built<Layer>(max ? new GlobalMaxPooling1D() : new GlobalAveragePooling1D(), [t, f]);
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(new[] { f }));
        Tensor x = Tensor.RandomUniform([n, t, f], -2f, 2f, 2);
        Tensor y = layer.Forward(x);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { n, f }));
        for (int b = 0; b < n; b++)
            for (int k = 0; k < f; k++)
            {
                double acc = max ? double.NegativeInfinity : 0;
                for (int i = 0; i < t; i++)
                {
                    float v = x[(b * t + i) * f + k];
                    acc = max ? Math.Max(acc, v) : acc + v;
                }
                Assert.That(y[b * f + k], Is.EqualTo(max ? acc : acc / t).Within(1e-5));
            }
    }

    [Test]
    public void GlobalPoolingGradients()
    {
        // Random values are distinct with probability 1, so the maxima are away from ties by more than ε.
        Layer avg2 = Built(new GlobalAveragePooling2D(), [3, 4, 2]), max2 = Built(new GlobalMaxPooling2D(), [3, 4, 2]);
        Layer avg1 = Built(new GlobalAveragePooling1D(), [5, 3]), max1 = Built(new GlobalMaxPooling1D(), [5, 3]);
        GradientCheck.Check(x => avg2.Forward(x[0], training: true), [GradientCheck.Random([2, 3, 4, 2], 1)]);
        GradientCheck.Check(x => max2.Forward(x[0], training: true), [Spread([2, 3, 4, 2], 2)], epsilon: 1e-3f);
        GradientCheck.Check(x => avg1.Forward(x[0], training: true), [GradientCheck.Random([2, 5, 3], 3)]);
        GradientCheck.Check(x => max1.Forward(x[0], training: true), [Spread([2, 5, 3], 4)], epsilon: 1e-3f);
    }

    /// <summary>A permutation of evenly spaced values (gap 0.05), so no two are within 2ε of each other.</summary>
    private static Tensor Spread(int[] shape, int seed)
    {
        var t = Tensor.Zeros(shape);
        int[] order = [.. Enumerable.Range(0, t.Length)];
        new Random(seed).Shuffle(order);
        for (int i = 0; i < t.Length; i++)
            t[i] = order[i] * 0.05f - 1f;
        return t;
    }

    [Test]
    public void GlobalPoolingRejectsTheWrongRank()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GlobalAveragePooling2D("gap").Build([4, 5]));
        Assert.That(ex!.Message, Does.Contain("gap").And.Contain("(4, 5)"));
        Assert.Throws<ArgumentException>(() => new GlobalMaxPooling1D().Build([4, 5, 6]));
    }

    [Test]
    public void GlobalPoolingConfigsRoundTrip()
    {
        RoundTrips(new GlobalAveragePooling2D("a"));
        RoundTrips(new GlobalMaxPooling2D("b"));
        RoundTrips(new GlobalAveragePooling1D("c"));
        RoundTrips(new GlobalMaxPooling1D("d"));
    }

    // ---- Reshape ----

    [Test]
    public void ReshapeKeepsRowMajorOrderAndInfersMinusOne()
    {
        Reshape layer = Built(new Reshape([3, -1]), [4, 6]);
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(new[] { 3, 8 }));
        Tensor x = Tensor.RandomUniform([2, 4, 6], -1f, 1f, 5);
        Tensor y = layer.Forward(x);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 2, 3, 8 }));
        for (int i = 0; i < x.Length; i++)
            Assert.That(y[i], Is.EqualTo(x[i]));
        Assert.That(Built(new Reshape([2, 2, 6]), [24]).OutputShape.ToArray(), Is.EqualTo(new[] { 2, 2, 6 }));
    }

    [Test]
    public void ReshapeNamesTheLayerAndBothShapesWhenTheSizesDisagree()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Reshape([5, -1], "to_rows").Build([4, 6]));
        Assert.That(ex!.Message, Does.Contain("to_rows").And.Contain("(4, 6)").And.Contain("(5, -1)"));
        ex = Assert.Throws<ArgumentException>(() => new Reshape([7, 3], "fixed").Build([4, 6]));
        Assert.That(ex!.Message, Does.Contain("fixed").And.Contain("(4, 6)").And.Contain("(7, 3)"));
        Assert.Throws<ArgumentException>(() => new Reshape([-1, -1]));
        Assert.Throws<ArgumentException>(() => new Reshape([0, 4]));
    }

    [Test]
    public void ReshapeGradient()
    {
        Reshape layer = Built(new Reshape([-1, 2]), [3, 4]);
        // Multiply first so the gradient flows through an op into the view (Reshape itself records nothing).
        GradientCheck.Check(x => layer.Forward(Ops.Multiply(x[0], x[0]), training: true), [GradientCheck.Random([2, 3, 4], 6)]);
    }

    // ---- Permute ----

    [Test]
    public void PermuteMatchesLoops()
    {
        const int n = 2, a = 3, b = 4, c = 5;
        Permute layer = Built(new Permute([3, 1, 2]), [a, b, c]);
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(new[] { c, a, b }));
        Tensor x = Tensor.RandomUniform([n, a, b, c], -1f, 1f, 7);
        Tensor y = layer.Forward(x);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { n, c, a, b }));
        for (int e = 0; e < n; e++)
            for (int i = 0; i < a; i++)
                for (int j = 0; j < b; j++)
                    for (int k = 0; k < c; k++)
                        Assert.That(y[((e * c + k) * a + i) * b + j], Is.EqualTo(x[((e * a + i) * b + j) * c + k]));
        Assert.That(Built(new Permute([2, 1]), [3, 7]).OutputShape.ToArray(), Is.EqualTo(new[] { 7, 3 }));
    }

    [Test]
    public void PermuteRejectsBadDims()
    {
        Assert.Throws<ArgumentException>(() => new Permute([0, 1]));
        Assert.Throws<ArgumentException>(() => new Permute([1, 1]));
        var ex = Assert.Throws<ArgumentException>(() => new Permute([2, 1], "swap").Build([2, 3, 4]));
        Assert.That(ex!.Message, Does.Contain("swap").And.Contain("(2, 3, 4)"));
    }

    [Test]
    public void PermuteGradient()
    {
        Permute layer = Built(new Permute([2, 3, 1]), [2, 3, 4]);
        GradientCheck.Check(x => layer.Forward(x[0], training: true), [GradientCheck.Random([2, 2, 3, 4], 8)]);
    }

    // ---- RepeatVector ----

    [Test]
    public void RepeatVectorMatchesLoops()
    {
        const int n = 3, f = 4, r = 5;
        RepeatVector layer = Built(new RepeatVector(r), [f]);
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(new[] { r, f }));
        Tensor x = Tensor.RandomUniform([n, f], -1f, 1f, 9);
        Tensor y = layer.Forward(x);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { n, r, f }));
        for (int e = 0; e < n; e++)
            for (int t = 0; t < r; t++)
                for (int k = 0; k < f; k++)
                    Assert.That(y[(e * r + t) * f + k], Is.EqualTo(x[e * f + k]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RepeatVector(0));
        var ex = Assert.Throws<ArgumentException>(() => new RepeatVector(2, "rep").Build([3, 4]));
        Assert.That(ex!.Message, Does.Contain("rep").And.Contain("(3, 4)"));
    }

    [Test]
    public void RepeatVectorGradient()
    {
        RepeatVector layer = Built(new RepeatVector(3), [4]);
        GradientCheck.Check(x => layer.Forward(x[0], training: true), [GradientCheck.Random([2, 4], 10)]);
    }

    [Test]
    public void ShapeLayerConfigsRoundTrip()
    {
        RoundTrips(new Reshape([3, -1], "r"));
        RoundTrips(new Permute([2, 1], "p"));
        RoundTrips(new RepeatVector(6, "rv"));
        var reshape = (Reshape)LayerRegistry.Create(new Reshape([3, -1]).GetConfig());
        Assert.That(reshape.TargetShape.ToArray(), Is.EqualTo(new[] { 3, -1 }));
        var permute = (Permute)LayerRegistry.Create(new Permute([3, 1, 2]).GetConfig());
        Assert.That(permute.Dims.ToArray(), Is.EqualTo(new[] { 3, 1, 2 }));
        Assert.That(((RepeatVector)LayerRegistry.Create(new RepeatVector(6).GetConfig())).Count, Is.EqualTo(6));
    }
}
