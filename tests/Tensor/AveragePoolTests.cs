using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>Average pooling (1-D and 2-D): the kernel against the naive twin on awkward shapes, Keras's edge rule, gradients.</summary>
public class AveragePoolTests
{
    // (batch, H, W, C, PH, PW, SH, SW, same)
    [TestCase(3, 8, 8, 32, 2, 2, 2, 2, false)]
    [TestCase(2, 9, 7, 19, 3, 2, 2, 1, true)]
    [TestCase(2, 7, 10, 5, 3, 3, 3, 3, true)]
    [TestCase(4, 6, 11, 3, 2, 4, 1, 3, false)]
    [TestCase(1, 5, 5, 1, 4, 4, 2, 2, true)]
    public void AveragePool2DMatchesTheNaiveReference(int batch, int h, int w, int c, int ph, int pw, int sh, int sw, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, ph, pw, sh, sw, same);
        var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 1).AsParameter();
        Tensor y = Ops.AveragePool2D(x, ph, pw, sh, sw, same);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, g.OutputHeight, g.OutputWidth, c }));
        var expected = new float[y.Length];
        ConvReference.AvgPoolForward(x.Span, expected, batch, g);
        KernelAssert.Close(y.ToArray(), expected, "y", 1e-5f);

        Tensor upstream = Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 2);
        Ops.Sum(Ops.Multiply(y, upstream)).Backward();
        var dX = new float[x.Length];
        ConvReference.AvgPoolBackward(upstream.Span, dX, batch, g);
        KernelAssert.Close(x.Grad!.ToArray(), dX, "dX", 1e-5f);
    }

    [Test]
    public void SameWindowsAtTheEdgeAverageOnlyThePixelsInside()
    {
        // 3×3 image of one channel, 2×2 'same' windows, stride 2: output 2×2, padding 1 row below and 1 column right.
        var x = Tensor.FromArray([1, 2, 3, 4, 5, 6, 7, 8, 9], 1, 3, 3, 1);
        Tensor y = Ops.AveragePool2D(x, 2, 2, 2, 2, samePadding: true);
        // Keras: [[(1+2+4+5)/4, (3+6)/2], [(7+8)/2, 9]] (count_include_pad = false).
        Assert.That(y.ToArray(), Is.EqualTo(new float[] { 3f, 4.5f, 7.5f, 9f }).Within(1e-6f));
    }

    [TestCase(2, 2, false, 7, 7)]
    [TestCase(3, 2, true, 7, 6)]
    [TestCase(2, 1, true, 5, 4)]
    public void AveragePool2DGradientCheck(int pool, int stride, bool same, int h, int w) =>
        GradientCheck.Check(t => Ops.AveragePool2D(t[0], pool, pool, stride, stride, same), [GradientCheck.Random([2, h, w, 3], 3)]);

    [TestCase(3, 17, 5, 4, 4, false)]
    [TestCase(2, 13, 19, 3, 2, true)]
    [TestCase(1, 10, 3, 4, 3, true)]
    public void AveragePool1DMatchesTheNaiveReference(int batch, int steps, int c, int pool, int stride, bool same)
    {
        var g = ConvGeometry.Create(1, steps, c, 1, pool, 1, stride, same);
        Tensor x = Tensor.RandomUniform([batch, steps, c], -1, 1, 4);
        Tensor y = Ops.AveragePool1D(x, pool, stride, same);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, g.OutputWidth, c }));
        var expected = new float[y.Length];
        ConvReference.AvgPoolForward(x.Span, expected, batch, g);
        KernelAssert.Close(y.ToArray(), expected, "y", 1e-5f);
    }

    [TestCase(4, 4, false)]
    [TestCase(3, 2, true)]
    public void AveragePool1DGradientCheck(int pool, int stride, bool same) =>
        GradientCheck.Check(t => Ops.AveragePool1D(t[0], pool, stride, same), [GradientCheck.Random([2, 11, 3], 5)]);

    [Test]
    public void BitIdenticalAtOneAndTwoThreads()
    {
        float[] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([9, 12, 12, 16], -1, 1, 6).AsParameter();
                Tensor y = Ops.AveragePool2D(x, 3, 3, 2, 2, samePadding: true);
                Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 7))).Backward();
                return [.. y.ToArray(), .. x.Grad!.ToArray()];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        Assert.That(Run(2), Is.EqualTo(Run(1)).AsCollection);
    }
}
