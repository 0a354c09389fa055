using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// Rectangular, strided and dilated 2-D convolutions and 1-D ones (valid, same, causal): the GEMM kernels
/// against the naive twin, forward and backward, on awkward shapes, and central-difference gradients.
/// </summary>
public class ConvolutionGeometryTests
{
    // Keras's conv_output_length and TensorFlow's padding split, worked out by hand:
    // (in, kernel, stride, dilation, padding) → (out, pad before, pad after).
    [TestCase(10, 3, 1, 1, ConvPadding.Valid, 8, 0, 0)]
    [TestCase(10, 3, 2, 2, ConvPadding.Valid, 3, 0, 0)]    // span 5: ⌊(10 − 5)/2⌋ + 1
    [TestCase(10, 3, 3, 2, ConvPadding.Same, 4, 2, 2)]     // ⌈10/3⌉ = 4, total (4 − 1)·3 + 5 − 10 = 4
    [TestCase(7, 4, 2, 1, ConvPadding.Same, 4, 1, 2)]      // total (4 − 1)·2 + 4 − 7 = 3: the odd one after
    [TestCase(9, 5, 1, 3, ConvPadding.Causal, 9, 12, 0)]   // causal: (5 − 1)·3 zeros before, none after
    [TestCase(9, 3, 2, 1, ConvPadding.Causal, 5, 2, 0)]    // ⌈9/2⌉
    public void OutputLengthAndPaddingFollowKeras(int length, int kernel, int stride, int dilation, ConvPadding padding,
        int outLength, int padBefore, int padAfter)
    {
        var g = ConvGeometry.Create(1, length, 2, 1, kernel, 1, stride, 1, dilation, padding);
        Assert.That((g.OutputWidth, g.PadLeft, g.PadRight), Is.EqualTo((outLength, padBefore, padAfter)));
        if (padding == ConvPadding.Causal)
            return;
        var transposed = ConvGeometry.Create(length, 1, 2, kernel, 1, stride, 1, dilation, 1, padding); // the same rules on the height
        Assert.That((transposed.OutputHeight, transposed.PadTop, transposed.PadBottom), Is.EqualTo((outLength, padBefore, padAfter)));
    }

    [Test]
    public void SameWithStrideAndDilationPadsTheOddColumnAfter()
    {
        // in 10, k 3, s 3, d 2: out ⌈10/3⌉ = 4, total (4 − 1)·3 + 5 − 10 = 4: 2 before, 2 after.
        var g = ConvGeometry.Create(10, 10, 1, 3, 3, 3, 3, 2, 2, ConvPadding.Same);
        Assert.That((g.OutputHeight, g.PadTop, g.PadBottom), Is.EqualTo((4, 2, 2)));
        // in 8, k 2, s 1, d 2 (span 3): total 2 → 1 and 1; in 8, k 2, s 1, d 1: total 1 → 0 before, 1 after.
        Assert.That(ConvGeometry.Create(8, 8, 1, 2, 2, 1, 1, 2, 2, ConvPadding.Same) is { PadTop: 1, PadBottom: 1 });
        Assert.That(ConvGeometry.Create(8, 8, 1, 2, 2, 1, 1, 1, 1, ConvPadding.Same) is { PadTop: 0, PadBottom: 1 });
    }

    [Test]
    public void ADilatedWindowThatDoesNotFitIsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => ConvGeometry.Create(6, 6, 1, 3, 3, 1, 1, 3, 3, ConvPadding.Valid));
        Assert.That(ex!.Message, Does.Contain("dilation 3x3").And.Contain("6x6"));
    }

    // (batch, H, W, C, filters, KH, KW, SH, SW, DH, DW, same)
    private static readonly object[] Geometries2D =
    [
        new object[] { 3, 9, 11, 3, 5, 2, 3, 1, 2, 1, 1, false },
        new object[] { 2, 10, 7, 4, 3, 3, 3, 1, 1, 2, 2, true },
        new object[] { 2, 11, 12, 17, 9, 3, 2, 2, 3, 2, 1, true },
        new object[] { 5, 8, 13, 2, 33, 1, 5, 1, 2, 1, 3, false },
        new object[] { 1, 7, 7, 3, 4, 3, 1, 3, 1, 3, 1, true },
        new object[] { 40, 6, 9, 5, 6, 2, 4, 2, 1, 1, 2, true },     // several images per chunk, several chunks
    ];

    [TestCaseSource(nameof(Geometries2D))]
    public void Conv2DWithRectangularStridedDilatedKernelsMatchesTheNaiveReference(int batch, int h, int w, int c, int filters,
        int kh, int kw, int sh, int sw, int dh, int dw, bool same)
    {
        ConvPadding padding = same ? ConvPadding.Same : ConvPadding.Valid;
        var g = ConvGeometry.Create(h, w, c, kh, kw, sh, sw, dh, dw, padding);
        var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 1).AsParameter();
        var k = Tensor.RandomUniform([kh, kw, c, filters], -1, 1, 2).AsParameter();
        var b = Tensor.RandomUniform([filters], -1, 1, 3).AsParameter();
        Tensor y = Ops.Conv2D(x, k, b, (sh, sw), (dh, dw), padding);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, g.OutputHeight, g.OutputWidth, filters }));
        var expected = new float[y.Length];
        ConvReference.Conv2DForward(x.Span, k.Span, b.Span, expected, batch, filters, g);
        KernelAssert.Close(y.ToArray(), expected, "y");

        Tensor upstream = Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 4);
        Ops.Sum(Ops.Multiply(y, upstream)).Backward();
        var dW = new float[k.Length];
        var dBias = new float[filters];
        var dX = new float[x.Length];
        ConvReference.Conv2DBackward(x.Span, k.Span, upstream.Span, dW, dBias, dX, batch, filters, g);
        KernelAssert.Close(k.Grad!.ToArray(), dW, "dW");
        KernelAssert.Close(b.Grad!.ToArray(), dBias, "dBias");
        KernelAssert.Close(x.Grad!.ToArray(), dX, "dX");
    }

    [TestCase(2, 3, 1, 2, 1, 1, false)]
    [TestCase(3, 2, 2, 1, 1, 2, true)]
    [TestCase(2, 2, 1, 2, 2, 2, true)]
    public void Conv2DRectangularDilatedGradientCheck(int kh, int kw, int sh, int sw, int dh, int dw, bool same)
    {
        var x = GradientCheck.Random([2, 7, 6, 2], 11);
        var k = GradientCheck.Random([kh, kw, 2, 3], 12);
        var b = GradientCheck.Random([3], 13);
        ConvPadding padding = same ? ConvPadding.Same : ConvPadding.Valid;
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], (sh, sw), (dh, dw), padding), [x, k, b]);
    }

    // (batch, steps, C, filters, K, stride, dilation, padding)
    private static readonly object[] Geometries1D =
    [
        new object[] { 3, 17, 5, 7, 5, 1, 1, ConvPadding.Valid },
        new object[] { 2, 13, 3, 4, 3, 2, 1, ConvPadding.Same },
        new object[] { 2, 14, 6, 5, 4, 1, 1, ConvPadding.Same },       // even kernel: the odd padding step at the end
        new object[] { 4, 12, 2, 3, 3, 1, 2, ConvPadding.Causal },
        new object[] { 2, 11, 19, 6, 2, 3, 3, ConvPadding.Causal },
        new object[] { 2, 20, 4, 33, 3, 2, 3, ConvPadding.Valid },
        new object[] { 30, 100, 16, 8, 5, 1, 1, ConvPadding.Valid },   // imdb_cnn_lstm's shape, narrowed: several chunks
    ];

    [TestCaseSource(nameof(Geometries1D))]
    public void Conv1DMatchesTheNaiveReference(int batch, int steps, int c, int filters, int kernel, int stride, int dilation, ConvPadding padding)
    {
        var x = Tensor.RandomUniform([batch, steps, c], -1, 1, 5).AsParameter();
        var k = Tensor.RandomUniform([kernel, c, filters], -1, 1, 6).AsParameter();
        var b = Tensor.RandomUniform([filters], -1, 1, 7).AsParameter();
        Tensor y = Ops.Conv1D(x, k, b, stride, dilation, padding);
        var (expected, outSteps) = NaiveConv1D(x.ToArray(), k.ToArray(), b.ToArray(), batch, steps, c, filters, kernel, stride, dilation, padding);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, outSteps, filters }));
        KernelAssert.Close(y.ToArray(), expected, "y");

        // Backward against the naive 2-D twin on the 1×T geometry (the forward above pins that geometry to Keras).
        var g = ConvGeometry.Create(1, steps, c, 1, kernel, 1, stride, 1, dilation, padding);
        Tensor upstream = Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 8);
        Ops.Sum(Ops.Multiply(y, upstream)).Backward();
        var dW = new float[k.Length];
        var dBias = new float[filters];
        var dX = new float[x.Length];
        ConvReference.Conv2DBackward(x.Span, k.Span, upstream.Span, dW, dBias, dX, batch, filters, g);
        KernelAssert.Close(k.Grad!.ToArray(), dW, "dW");
        KernelAssert.Close(b.Grad!.ToArray(), dBias, "dBias");
        KernelAssert.Close(x.Grad!.ToArray(), dX, "dX");
    }

    [Test]
    public void CausalConvolutionNeverSeesTheFuture()
    {
        var x = Tensor.RandomUniform([1, 10, 3], -1, 1, 9);
        var k = Tensor.RandomUniform([3, 3, 2], -1, 1, 10);
        var b = Tensor.Zeros(2);
        float[] before = Ops.Conv1D(x, k, b, dilation: 2, padding: ConvPadding.Causal).ToArray();
        x[(1 * 10 - 1) * 3 + 0] += 5f; // change the last step only
        float[] after = Ops.Conv1D(x, k, b, dilation: 2, padding: ConvPadding.Causal).ToArray();
        Assert.That(after.AsSpan(0, 9 * 2).ToArray(), Is.EqualTo(before.AsSpan(0, 9 * 2).ToArray()).AsCollection, "steps 0..8 unchanged");
        Assert.That(after[18], Is.Not.EqualTo(before[18]), "step 9 sees its own input");
    }

    [TestCase(1, 1, ConvPadding.Valid)]
    [TestCase(2, 1, ConvPadding.Same)]
    [TestCase(1, 2, ConvPadding.Causal)]
    [TestCase(3, 2, ConvPadding.Causal)]
    public void Conv1DGradientCheck(int stride, int dilation, ConvPadding padding)
    {
        var x = GradientCheck.Random([2, 9, 3], 21);
        var k = GradientCheck.Random([3, 3, 4], 22);
        var b = GradientCheck.Random([4], 23);
        GradientCheck.Check(t => Ops.Conv1D(t[0], t[1], t[2], stride, dilation, padding), [x, k, b]);
    }

    [Test]
    public void Conv1DWithFusedReluGradientCheck()
    {
        var x = GradientCheck.Random([2, 8, 3], 24, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 4], 25, awayFromZero: 0.1f);
        var b = GradientCheck.Random([4], 26);
        GradientCheck.Check(t => Ops.Conv1D(t[0], t[1], t[2], padding: ConvPadding.Same, activation: ActivationFunction.Relu), [x, k, b], epsilon: 1e-3f);
    }

    [Test]
    public void Conv1DRejectsAKernelForOtherChannels()
    {
        var ex = Assert.Throws<ArgumentException>(() => Ops.Conv1D(Tensor.Zeros(2, 10, 4), Tensor.Zeros(3, 5, 2), Tensor.Zeros(2)));
        Assert.That(ex!.Message, Does.Contain("(K, 4, filters)").And.Contain("(3, 5, 2)"));
    }

    /// <summary>
    /// Keras's Conv1D written out for sequences: pad the time axis (causal: all of it before; same: the
    /// odd step after), then a valid dilated, strided correlation. Independent of <see cref="ConvGeometry"/>.
    /// </summary>
    private static (float[] Y, int Steps) NaiveConv1D(float[] x, float[] w, float[] bias, int batch, int steps, int c, int filters,
        int kernel, int stride, int dilation, ConvPadding padding)
    {
        int span = (kernel - 1) * dilation + 1;
        int outSteps = padding == ConvPadding.Valid ? (steps - span) / stride + 1 : (steps + stride - 1) / stride;
        int before = padding switch
        {
            ConvPadding.Causal => span - 1,
            ConvPadding.Same => Math.Max((outSteps - 1) * stride + span - steps, 0) / 2,
            _ => 0,
        };
        var y = new float[batch * outSteps * filters];
        for (int n = 0; n < batch; n++)
            for (int t = 0; t < outSteps; t++)
                for (int f = 0; f < filters; f++)
                {
                    double sum = bias[f];
                    for (int j = 0; j < kernel; j++)
                    {
                        int s = t * stride - before + j * dilation;
                        if (s < 0 || s >= steps)
                            continue;
                        for (int ch = 0; ch < c; ch++)
                            sum += (double)x[(n * steps + s) * c + ch] * w[(j * c + ch) * filters + f];
                    }
                    y[(n * outSteps + t) * filters + f] = (float)sum;
                }
        return (y, outSteps);
    }
}
