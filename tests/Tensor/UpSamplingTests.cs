using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>UpSampling (nearest and bilinear): the kernels against their naive twins, Keras's values, gradients, threads.</summary>
public class UpSamplingTests
{
    // (batch, H, W, C, row factor, column factor): a vector body and a scalar tail in C, factors 1 and odd ones, 1-pixel axes.
    private static readonly object[] Geometries =
    [
        new object[] { 3, 4, 5, 19, 2, 2 },
        new object[] { 2, 3, 4, 5, 3, 2 },
        new object[] { 2, 5, 3, 16, 1, 4 },
        new object[] { 1, 1, 6, 3, 4, 3 },
        new object[] { 2, 6, 1, 7, 2, 1 },
        new object[] { 1, 2, 2, 1, 1, 1 },
    ];

    [TestCaseSource(nameof(Geometries))]
    public void NearestMatchesTheNaiveReferenceBitForBit(int batch, int h, int w, int c, int sh, int sw)
    {
        var g = UpSamplingGeometry.Create(h, w, c, sh, sw);
        var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 1).AsParameter();
        Tensor y = Ops.UpSampling2D(x, sh, sw);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, h * sh, w * sw, c }));
        var expected = new float[y.Length];
        UpSamplingReference.NearestForward(x.Span, expected, batch, g);
        Assert.That(y.ToArray(), Is.EqualTo(expected), "y");

        // Backward adds into a gradient that already holds values, in the reference's order: the same bits.
        float[] start = Tensor.RandomUniform([x.Length], -1, 1, 2).ToArray();
        float[] dY = Tensor.RandomUniform([y.Length], -1, 1, 3).ToArray();
        float[] fast = (float[])start.Clone(), naive = (float[])start.Clone();
        NearestUpSamplingKernels.Backward(dY, fast, batch, g);
        UpSamplingReference.NearestBackward(dY, naive, batch, g);
        Assert.That(fast, Is.EqualTo(naive), "dX");
    }

    [TestCaseSource(nameof(Geometries))]
    public void BilinearMatchesTheNaiveReference(int batch, int h, int w, int c, int sh, int sw)
    {
        var g = UpSamplingGeometry.Create(h, w, c, sh, sw);
        var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 4).AsParameter();
        Tensor y = Ops.UpSampling2D(x, sh, sw, bilinear: true);
        var expected = new float[y.Length];
        UpSamplingReference.BilinearForward(x.Span, expected, batch, g);
        KernelAssert.Close(y.ToArray(), expected, "y", 1e-6f);

        Tensor upstream = Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 5);
        Ops.Sum(Ops.Multiply(y, upstream)).Backward();
        var dX = new float[x.Length];
        UpSamplingReference.BilinearBackward(upstream.Span, dX, batch, g);
        KernelAssert.Close(x.Grad!.ToArray(), dX, "dX", 1e-5f);
    }

    [Test]
    public void NearestRepeatsRowsAndColumnsAsKerasDocumentsIt()
    {
        // Keras's docstring: x = arange(12).reshape(2, 2, 1, 3), UpSampling2D(size=(1, 2)) repeats each pixel across.
        var x = Tensor.FromArray([.. Enumerable.Range(0, 12).Select(i => (float)i)], 2, 2, 1, 3);
        Tensor y = Ops.UpSampling2D(x, 1, 2);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 2, 2, 2, 3 }));
        Assert.That(y.ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7, 8, 6, 7, 8, 9, 10, 11, 9, 10, 11 }));
    }

    [Test]
    public void BilinearUsesHalfPixelCentresAndClampsAtTheBorders()
    {
        // TensorFlow's resize (half_pixel_centers) of [[1, 2], [3, 4]] to 4×4: output o reads input (o + ½)/2 − ½,
        // i.e. −¼ (clamped to 0), ¼, ¾, 1¼ (clamped to 1) on each axis. Align-corners or asymmetric
        // sampling would give other values (e.g. 1, 1.33…, or 1, 1.5, 2, 2).
        var x = Tensor.FromArray([1, 2, 3, 4], 1, 2, 2, 1);
        Tensor y = Ops.UpSampling2D(x, 2, 2, bilinear: true);
        Assert.That(y.ToArray(), Is.EqualTo(new float[]
        {
            1.0f, 1.25f, 1.75f, 2.0f,
            1.5f, 1.75f, 2.25f, 2.5f,
            2.5f, 2.75f, 3.25f, 3.5f,
            3.0f, 3.25f, 3.75f, 4.0f,
        }).Within(1e-6f));
    }

    [TestCase(2, 2, false)]
    [TestCase(3, 2, false)]
    [TestCase(2, 2, true)]
    [TestCase(3, 1, true)]
    [TestCase(1, 4, true)]
    public void UpSampling2DGradientCheck(int sh, int sw, bool bilinear) =>
        GradientCheck.Check(t => Ops.UpSampling2D(t[0], sh, sw, bilinear), [GradientCheck.Random([2, 3, 4, 3], 6)]);

    [Test]
    public void UpSampling1DRepeatsStepsAndPassesTheGradientCheck()
    {
        var x = Tensor.FromArray([1, 2, 3, 4, 5, 6], 1, 3, 2);
        Assert.That(Ops.UpSampling1D(x, 2).ToArray(), Is.EqualTo(new float[] { 1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6 }));
        Assert.That(Ops.UpSampling1D(x, 2).Shape.ToArray(), Is.EqualTo(new[] { 1, 6, 2 }));
        GradientCheck.Check(t => Ops.UpSampling1D(t[0], 3), [GradientCheck.Random([2, 4, 3], 7)]);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void BitIdenticalAtOneAndTwoThreads(bool bilinear)
    {
        var x = Tensor.RandomUniform([6, 8, 8, 24], -1, 1, 8);
        var upstream = Tensor.RandomUniform([6, 16, 24, 24], -1, 1, 9);
        (float[] Y, float[] Grad) Run(int threads)
        {
            using (Parallelism.LimitThreads(threads))
            {
                Tensor input = x.Clone();
                input.RequiresGrad = true;
                Tensor y = Ops.UpSampling2D(input, 2, 3, bilinear);
                Ops.Sum(Ops.Multiply(y, upstream)).Backward();
                return (y.ToArray(), input.Grad!.ToArray());
            }
        }
        (float[] one, float[] oneGrad) = Run(1);
        (float[] two, float[] twoGrad) = Run(2);
        Assert.That(two, Is.EqualTo(one));
        Assert.That(twoGrad, Is.EqualTo(oneGrad));
    }

    [Test]
    public void BadArgumentsAreRefusedWithTheShape()
    {
        Assert.That(() => Ops.UpSampling2D(Tensor.Ones(2, 3, 4), 2, 2), Throws.ArgumentException.With.Message.Contains("(2, 3, 4)"));
        Assert.That(() => Ops.UpSampling2D(Tensor.Ones(1, 3, 4, 2), 0, 2), Throws.ArgumentException.With.Message.Contains("at least 1"));
        Assert.That(() => Ops.UpSampling1D(Tensor.Ones(2, 3, 4, 1), 2), Throws.ArgumentException.With.Message.Contains("(2, 3, 4, 1)"));
    }
}
