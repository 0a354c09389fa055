using NanoNet.Kernels;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// Conv2D followed by MaxPool2D in one pass while training (<see cref="Ops.Conv2DMaxPool2D"/> on the tape,
/// <see cref="Conv2DKernels.BackwardMaxPool"/>): output and gradients bitwise those of the two separate ops, at any
/// thread count, a gradient check, and a model's training step taking the fused path.
/// </summary>
public class ConvMaxPoolTrainingTests
{
    // (batch, H, W, C, filters, kernel, stride, same, pool, pool stride, pool same, relu)
    private static readonly object[] Geometries =
    [
        new object[] { 7, 32, 32, 3, 32, 3, 1, false, 2, 2, false, true },   // the CIFAR-10 seed layers: 4 chunks, the last partial
        new object[] { 5, 11, 9, 4, 16, 3, 1, true, 3, 2, true, true },      // overlapping "same" windows: positions won twice
        new object[] { 9, 20, 20, 4, 5, 3, 2, true, 2, 2, false, false },    // 5 filters (the GEMM weight gradient), no ReLU
        new object[] { 6, 10, 10, 32, 64, 3, 1, false, 2, 2, false, true },  // a Keras-like 32 -> 64 layer, input gradient wanted
        new object[] { 40, 8, 8, 4, 7, 3, 1, true, 3, 3, false, true },      // many images per chunk
        new object[] { 3, 13, 11, 3, 32, 3, 1, false, 2, 2, false, true },   // odd conv output (11×9): a row and a column in no window
        new object[] { 4, 12, 10, 2, 8, 3, 1, true, 2, 2, false, false },    // 8 filters (the clear-and-scatter: not a multiple of 16), odd width, no ReLU
        new object[] { 3, 10, 14, 3, 64, 3, 1, true, 2, 2, false, false },   // the direct path with 'same' padding, 64 filters, no ReLU
    ];

    [TestCaseSource(nameof(Geometries))]
    public void FusedGradientsEqualConvThenPoolBitwiseAtAnyThreadCount(int batch, int h, int w, int c, int filters, int kernel, int stride,
        bool same, int pool, int poolStride, bool poolSame, bool relu)
    {
        float[] separate = Run(fused: false, threads: 1);
        foreach (int threads in new[] { 1, 2, 3 })
            Assert.That(Run(fused: true, threads), Is.EqualTo(separate).AsCollection, $"{threads} thread(s)");

        float[] Run(bool fused, int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 80).AsParameter();
                var k = Tensor.RandomUniform([kernel, kernel, c, filters], -1, 1, 81).AsParameter();
                var b = Tensor.RandomUniform([filters], -0.2f, 0.2f, 82).AsParameter();
                ActivationFunction activation = relu ? ActivationFunction.Relu : ActivationFunction.Linear;
                ConvPadding padding = same ? ConvPadding.Same : ConvPadding.Valid;
                Tensor y = fused
                    ? Ops.Conv2DMaxPool2D(x, k, b, (stride, stride), (1, 1), padding, activation, (pool, pool), (poolStride, poolStride), poolSame)
                    : Ops.MaxPool2D(Ops.Conv2D(x, k, b, (stride, stride), (1, 1), padding, activation), pool, pool, poolStride, poolStride, poolSame);
                Tensor upstream = Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 83);
                Ops.Sum(Ops.Multiply(y, upstream)).Backward();
                return [.. y.ToArray(), .. k.Grad!.ToArray(), .. b.Grad!.ToArray(), .. x.Grad!.ToArray()];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
    }

    [TestCase(12, 10, 16)]
    [TestCase(9, 7, 32)]
    [TestCase(7, 9, 8)] // 8 channels: the AVX2 kernel only
    public unsafe void TheWholeImageUnpoolingWritesTheClearAndScatterBits(int h, int w, int c)
    {
        // MaxPoolKernels.Unpool2x2 (four compare-and-select stores per vector) against what it replaces: clear the
        // image, then dX[argmax[o]] += dY[o] where argmax[o] is not the fused ReLU's ZeroedWindow. Winners at every
        // window position; −0, NaN and ±∞ gradients; every fifth window zeroed; odd H and W leave a row and a column
        // outside every window.
        var g = ConvGeometry.Create(h, w, c, 2, 2, 2, 2, false);
        if (!MaxPoolKernels.Unpools2x2(g))
            Assert.Ignore("needs accelerated Vector512 (C a multiple of 16) or AVX2 (of 8)");
        int outputs = g.OutputPixels * c;
        var rng = new Random(90);
        float[] dY = new float[outputs];
        int[] argmax = new int[outputs];
        float[] specials = [-0f, 0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        for (int oh = 0, o = 0; oh < g.OutputHeight; oh++)
            for (int ow = 0; ow < g.OutputWidth; ow++)
                for (int ch = 0; ch < c; ch++, o++)
                {
                    int dh = rng.Next(2), dw = rng.Next(2);
                    argmax[o] = o % 5 == 0 ? Conv2DKernels.ZeroedWindow : ((2 * oh + dh) * w + 2 * ow + dw) * c + ch;
                    dY[o] = o % 7 == 0 ? specials[o / 7 % specials.Length] : rng.NextSingle() * 2 - 1;
                }
        float[] expected = new float[h * w * c], actual = new float[expected.Length];
        actual.AsSpan().Fill(123f); // written whole: nothing of the buffer's old contents may survive
        for (int o = 0; o < outputs; o++)
            if (argmax[o] != Conv2DKernels.ZeroedWindow)
                expected[argmax[o]] += dY[o];
        fixed (float* pdY = dY, pActual = actual)
        fixed (int* pArgmax = argmax)
            MaxPoolKernels.Unpool2x2(pdY, pArgmax, pActual, g);
        Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)).AsCollection);
    }

    // (batch, H, W, C, filters, pool, relu): the direct path's register pooling (C = 3, 32 filters, 2×2) and the
    // pooling kernel after the im2col GEMM (C = 4 or a 3×3 pool).
    [TestCase(3, 12, 14, 3, 32, 2, true)]
    [TestCase(3, 12, 14, 3, 32, 2, false)]
    [TestCase(2, 11, 9, 4, 16, 3, true)]
    [TestCase(2, 10, 10, 4, 16, 2, true)]
    public void TheArgmaxIsThePoolingsIndexOrZeroedWhereTheReluZeroedTheMaximum(int batch, int h, int w, int c, int filters, int window, bool relu)
    {
        // The reference twin: the separate convolution, then MaxPoolKernels (indices offset by the image), then the
        // documented mark: ZeroedWindow where relu and the maximum is not > 0 (0, −0 or NaN). Half the biases are
        // negative so that many windows are zeroed; one NaN input pixel makes NaN maxima.
        var g = ConvGeometry.Create(h, w, c, 3, 3, 1, 1, samePadding: false);
        var pool = ConvGeometry.Create(g.OutputHeight, g.OutputWidth, filters, window, window, 2, 2, samePadding: false);
        var rng = new Random(91);
        float[] x = new float[batch * g.InputImageSize], k = new float[g.PatchSize * filters], bias = new float[filters];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < k.Length; i++) k[i] = rng.NextSingle() * 2 - 1;
        for (int i = 0; i < bias.Length; i++) bias[i] = i % 2 == 0 ? -1.5f : 0.2f;
        x[(5 * w + 4) * c] = float.NaN;
        float[] convolved = new float[batch * g.OutputPixels * filters], pooled = new float[batch * pool.OutputPixels * filters];
        int[] index = new int[pooled.Length];
        Conv2DKernels.Forward(x, k, bias, convolved, batch, filters, g, relu);
        MaxPoolKernels.Forward(convolved, pooled, index, batch, pool);
        int pooledSize = pool.OutputPixels * filters, imageSize = g.OutputPixels * filters;
        int[] expected = new int[index.Length];
        for (int o = 0; o < index.Length; o++)
            expected[o] = relu && !(pooled[o] > 0f) ? Conv2DKernels.ZeroedWindow : index[o] - o / pooledSize * imageSize;
        Assert.That(expected.Count(i => i == Conv2DKernels.ZeroedWindow), relu ? Is.GreaterThan(expected.Length / 4) : Is.Zero, "the premise");
        Assert.That(pooled.Any(float.IsNaN), Is.True, "the premise: NaN maxima");

        float[] y = new float[pooled.Length];
        int[] argmax = new int[pooled.Length];
        Conv2DKernels.ForwardMaxPool(x, k, bias, y, argmax, batch, filters, g, relu, pool);
        Assert.That(y, Is.EqualTo(pooled).AsCollection, "maxima");
        Assert.That(argmax, Is.EqualTo(expected).AsCollection, "argmax");
    }

    [TestCase(false, 32)]
    [TestCase(true, 4)]
    public void FusedConvMaxPoolGradientCheck(bool relu, int filters)
    {
        // Inputs away from zero keep the pre-activations off the ReLU kink; a small image keeps the windows few, so no
        // two candidates of a window come within ε of each other (a max kink) at these seeds.
        var x = GradientCheck.Random([2, 5, 4, 2], 84, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 2, filters], 85, awayFromZero: 0.1f);
        var b = GradientCheck.Random([filters], 86);
        ActivationFunction activation = relu ? ActivationFunction.Relu : ActivationFunction.Linear;
        GradientCheck.Check(t => Ops.Conv2DMaxPool2D(t[0], t[1], t[2], (1, 1), (1, 1), ConvPadding.Same, activation, (2, 2), (2, 2), false),
            [x, k, b], epsilon: 1e-3f);
    }

    [Test]
    public void ARecordedModelForwardRunsTheFusedOpAndGivesTheLayerByLayerGradients()
    {
        float[] Gradients(bool throughTheModel)
        {
            var model = new Sequential([12, 12, 3],
                new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(), new Dense(4));
            model.Compile(new Sgd(0.1f), new Losses.MeanSquaredError(), seed: 5);
            model.Output = TextWriter.Null;
            Tensor x = Tensor.RandomUniform([6, 12, 12, 3], 0, 1, 87), weights = Tensor.RandomUniform([6, 4], -1, 1, 88);
            Tensor y = x;
            if (throughTheModel)
            {
                y = model.Forward(x, training: true); // the tape records: the conv's only reader is the pooling, so they fuse
            }
            else
            {
                foreach (Layer layer in model.Layers) // one by one: Conv2D, then MaxPool2D
                    y = layer.Forward(y, training: true);
            }
            Ops.Sum(Ops.Multiply(y, weights)).Backward();
            return [.. model.Parameters.SelectMany(p => p.Grad!.ToArray())];
        }

        float[] layerByLayer = Gradients(throughTheModel: false);
        bool profiling = Diagnostics.Profiler.Enabled;
        Diagnostics.Profiler.Reset();
        Diagnostics.Profiler.Enabled = true;
        try
        {
            float[] fused = Gradients(throughTheModel: true);
            Assert.That(Diagnostics.Profiler.Report(), Does.Contain("Conv2D+MaxPool2D"), "the recorded pass ran the fused op");
            Assert.That(fused, Is.EqualTo(layerByLayer).AsCollection);
        }
        finally
        {
            Diagnostics.Profiler.Enabled = profiling;
            Diagnostics.Profiler.Reset();
        }
    }
}
