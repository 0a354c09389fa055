using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>1-D max pooling (against plain loops on awkward shapes, gradients, the winner rule) and rectangular 2-D max pooling.</summary>
public class Pooling1DTests
{
    [TestCase(3, 17, 5, 4, 4, false)]
    [TestCase(2, 96, 64, 4, 4, false)]    // imdb_cnn_lstm: 96 steps of 64 channels → 24
    [TestCase(2, 13, 19, 3, 2, true)]
    [TestCase(1, 10, 3, 4, 3, true)]
    [TestCase(4, 9, 16, 2, 1, false)]
    public void MaxPool1DMatchesPlainLoops(int batch, int steps, int c, int pool, int stride, bool same)
    {
        Tensor x = Tensor.RandomUniform([batch, steps, c], -1, 1, 1);
        int outSteps = same ? (steps + stride - 1) / stride : (steps - pool) / stride + 1;
        int before = same ? Math.Max((outSteps - 1) * stride + pool - steps, 0) / 2 : 0;
        var expected = new float[batch * outSteps * c];
        for (int n = 0; n < batch; n++)
            for (int t = 0; t < outSteps; t++)
                for (int ch = 0; ch < c; ch++)
                {
                    float best = float.NegativeInfinity;
                    for (int j = 0; j < pool; j++)
                    {
                        int s = t * stride - before + j;
                        if (s >= 0 && s < steps)
                            best = MathF.Max(best, x[(n * steps + s) * c + ch]);
                    }
                    expected[(n * outSteps + t) * c + ch] = best;
                }
        Tensor y = Ops.MaxPool1D(x, pool, stride, same);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, outSteps, c }));
        Assert.That(y.ToArray(), Is.EqualTo(expected).AsCollection);
    }

    [TestCase(4, 4, false)]
    [TestCase(3, 2, true)]
    [TestCase(2, 1, false)]
    public void MaxPool1DGradientCheck(int pool, int stride, bool same)
    {
        // Distinct values (a shuffled ramp) so no window has a tie within ε.
        float[] values = [.. Enumerable.Range(0, 2 * 11 * 3).Select(i => i * 0.1f)];
        new Random(5).Shuffle(values);
        GradientCheck.Check(t => Ops.MaxPool1D(t[0], pool, stride, same), [Tensor.FromArray(values, 2, 11, 3)], epsilon: 1e-2f);
    }

    [Test]
    public void MaxPool1DTiesSendTheGradientToTheFirstMaximum()
    {
        var x = Tensor.FromArray([2, 7, 2, 7, 1, 0], 1, 3, 2).AsParameter();
        Tensor y = Ops.MaxPool1D(x, 3, 3);
        Assert.That(y.ToArray(), Is.EqualTo(new float[] { 2, 7 }));
        Ops.Sum(y).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new float[] { 1, 1, 0, 0, 0, 0 }));
    }

    [Test]
    public void MaxPool1DRejectsImages()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ops.MaxPool1D(Tensor.Zeros(2, 4, 4, 3), 2, 2));
        Assert.That(ex!.Message, Does.Contain("(2, 4, 4, 3)"));
    }

    [TestCase(3, 2, 2, 1, false, 9, 8, 5)]
    [TestCase(2, 3, 1, 3, true, 7, 10, 19)]
    [TestCase(1, 4, 1, 2, true, 6, 9, 16)]
    public void RectangularMaxPool2DMatchesTheNaiveReference(int ph, int pw, int sh, int sw, bool same, int h, int w, int c)
    {
        var g = ConvGeometry.Create(h, w, c, ph, pw, sh, sw, same);
        Tensor x = Tensor.RandomUniform([3, h, w, c], -1, 1, 10).AsParameter();
        var expected = new float[3 * g.OutputPixels * c];
        var winners = new int[expected.Length];
        ConvReference.MaxPoolForward(x.Span, expected, winners, 3, g);
        Tensor y = Ops.MaxPool2D(x, ph, pw, sh, sw, same);
        Assert.That(y.ToArray(), Is.EqualTo(expected).AsCollection);
        Ops.Sum(y).Backward();
        var dX = new float[x.Length];
        foreach (int i in winners)
            dX[i] += 1f;
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(dX).AsCollection);
    }
}
