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
}
