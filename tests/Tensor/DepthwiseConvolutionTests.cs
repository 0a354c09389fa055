using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>Depthwise convolution: the vectorised kernel against the naive twin, forward and backward, gradients, thread counts.</summary>
public class DepthwiseConvolutionTests
{
    // (batch, H, W, C, M, KH, KW, SH, SW, DH, DW, same): channel counts off the vector widths, multipliers, strides, dilations.
    private static readonly object[] Geometries =
    [
        new object[] { 2, 7, 8, 3, 1, 3, 3, 1, 1, 1, 1, true },
        new object[] { 3, 9, 7, 19, 1, 3, 2, 2, 1, 1, 2, true },
        new object[] { 2, 8, 8, 32, 1, 3, 3, 1, 1, 1, 1, false },
        new object[] { 2, 10, 9, 5, 3, 2, 3, 1, 2, 2, 1, false },
        new object[] { 1, 6, 11, 8, 2, 5, 5, 2, 2, 1, 1, true },
        new object[] { 3, 12, 12, 17, 4, 3, 3, 3, 3, 2, 2, true },
    ];

    [TestCaseSource(nameof(Geometries))]
    public void MatchesTheNaiveReference(int batch, int h, int w, int c, int m, int kh, int kw, int sh, int sw, int dh, int dw, bool same)
    {
        ConvPadding padding = same ? ConvPadding.Same : ConvPadding.Valid;
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, dh, dw, padding);
        var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 1).AsParameter();
        var k = Tensor.RandomUniform([kh, kw, c, m], -1, 1, 2).AsParameter();
        var b = Tensor.RandomUniform([c * m], -1, 1, 3).AsParameter();
        Tensor y = Ops.DepthwiseConv2D(x, k, b, (sh, sw), (dh, dw), padding);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, g.OutputHeight, g.OutputWidth, c * m }));
        var expected = new float[y.Length];
        ConvReference.DepthwiseForward(x.Span, k.Span, b.Span, expected, batch, m, g);
        KernelAssert.Close(y.ToArray(), expected, "y");

        Tensor upstream = Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 4);
        Ops.Sum(Ops.Multiply(y, upstream)).Backward();
        var dW = new float[k.Length];
        var dBias = new float[b.Length];
        var dX = new float[x.Length];
        ConvReference.DepthwiseBackward(x.Span, k.Span, upstream.Span, dW, dBias, dX, batch, m, g);
        KernelAssert.Close(k.Grad!.ToArray(), dW, "dW");
        KernelAssert.Close(b.Grad!.ToArray(), dBias, "dBias");
        KernelAssert.Close(x.Grad!.ToArray(), dX, "dX");
    }

    [Test]
    public void WithMultiplierOneEachChannelIsAConv2DOfThatChannelAlone()
    {
        // Independent of the reference: channel 1 of a depthwise conv = a 1-channel Conv2D of x's channel 1 with that slice of the kernel.
        Tensor x = Tensor.RandomUniform([2, 6, 7, 3], -1, 1, 5), k = Tensor.RandomUniform([3, 3, 3, 1], -1, 1, 6), b = Tensor.RandomUniform([3], -1, 1, 7);
        Tensor y = Ops.DepthwiseConv2D(x, k, b, (1, 1), (1, 1), ConvPadding.Same);
        Tensor channel = Ops.Slice(x, 3, 1, 1);
        Tensor kernel = Ops.Reshape(Ops.Slice(Ops.Reshape(k, 3, 3, 3), 2, 1, 1), 3, 3, 1, 1);
        Tensor expected = Ops.Conv2D(channel, kernel, Ops.Slice(b, 0, 1, 1), samePadding: true);
        float[] actual = Ops.Slice(y, 3, 1, 1).ToArray(), wanted = expected.ToArray();
        KernelAssert.Close(actual, wanted, "channel 1");
    }

    [TestCase(1, 1, false, 1)]
    [TestCase(2, 1, true, 2)]
    [TestCase(1, 2, true, 3)]
    public void GradientCheck(int stride, int dilation, bool same, int multiplier)
    {
        var x = Tests.GradientCheck.Random([2, 6, 7, 3], 11);
        var k = Tests.GradientCheck.Random([3, 2, 3, multiplier], 12);
        var b = Tests.GradientCheck.Random([3 * multiplier], 13);
        ConvPadding padding = same ? ConvPadding.Same : ConvPadding.Valid;
        Tests.GradientCheck.Check(t => Ops.DepthwiseConv2D(t[0], t[1], t[2], (stride, stride), (dilation, dilation), padding), [x, k, b]);
    }

    [TestCase(1)]
    [TestCase(3)]
    public void BitIdenticalAtOneAndTwoThreads(int multiplier)
    {
        float[] Run(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([8, 10, 10, 20], -1, 1, 8).AsParameter();
                var k = Tensor.RandomUniform([3, 3, 20, multiplier], -1, 1, 9).AsParameter();
                var b = Tensor.Zeros(20 * multiplier).AsParameter();
                Tensor y = Ops.DepthwiseConv2D(x, k, b, (1, 1), (1, 1), ConvPadding.Same);
                Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 10))).Backward();
                return [.. y.ToArray(), .. k.Grad!.ToArray(), .. b.Grad!.ToArray(), .. x.Grad!.ToArray()];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        Assert.That(Run(2), Is.EqualTo(Run(1)).AsCollection);
    }

    [Test]
    public void RejectsAKernelForOtherChannels()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ops.DepthwiseConv2D(Tensor.Zeros(1, 5, 5, 4), Tensor.Zeros(3, 3, 2, 1), Tensor.Zeros(2), (1, 1), (1, 1), ConvPadding.Valid));
        Assert.That(ex!.Message, Does.Contain("(KH, KW, 4, multiplier)").And.Contain("(3, 3, 2, 1)"));
    }
}
