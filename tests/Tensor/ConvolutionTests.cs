using NanoNet.Kernels;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

public class ConvolutionTests
{
    // (batch, H, W, C, filters, kernel, stride, same)
    private static readonly object[] Geometries =
    [
        new object[] { 2, 5, 5, 1, 2, 3, 1, false },
        new object[] { 2, 7, 6, 3, 4, 3, 2, false },
        new object[] { 1, 7, 7, 2, 3, 3, 1, true },
        new object[] { 2, 6, 5, 3, 2, 3, 2, true },
        new object[] { 1, 5, 5, 2, 2, 1, 1, false },
        new object[] { 1, 4, 6, 2, 3, 2, 2, true },
    ];

    [TestCaseSource(nameof(Geometries))]
    public void Conv2DGradientCheck(int batch, int h, int w, int c, int filters, int kernel, int stride, bool same)
    {
        var x = GradientCheck.Random([batch, h, w, c], 1);
        var k = GradientCheck.Random([kernel, kernel, c, filters], 2);
        var b = GradientCheck.Random([filters], 3);
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], stride, stride, same), [x, k, b]);
    }

    [TestCase(5, 9, 11, 3, 33, 3, 1, false)]
    [TestCase(64, 32, 32, 3, 32, 3, 1, false)]   // the CIFAR-10 seed layer
    [TestCase(3, 10, 9, 17, 5, 5, 2, true)]
    [TestCase(40, 8, 8, 4, 7, 3, 1, true)]       // many images per chunk, several chunks
    public void Conv2DMatchesTheNaiveReference(int batch, int h, int w, int c, int filters, int kernel, int stride, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kernel, kernel, stride, stride, same);
        Tensor x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 4), k = Tensor.RandomUniform([kernel, kernel, c, filters], -1, 1, 5);
        Tensor b = Tensor.RandomUniform([filters], -1, 1, 6);
        var expected = new float[batch * g.OutputPixels * filters];
        ConvReference.Conv2DForward(x.Span, k.Span, b.Span, expected, batch, filters, g);
        Tensor y = Ops.Conv2D(x, k, b, stride, stride, same);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { batch, g.OutputHeight, g.OutputWidth, filters }));
        float[] actual = y.ToArray();
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-4f * (1 + MathF.Abs(expected[i]))), $"element {i}");
    }

    [Test]
    public void SamePaddingShapesFollowKeras()
    {
        // 'same' with stride 2 on 7 → ⌈7/2⌉ = 4; 'valid' 3x3 on 32 → 30.
        Assert.That(ConvGeometry.Create(7, 7, 1, 3, 3, 2, 2, samePadding: true).OutputHeight, Is.EqualTo(4));
        Assert.That(ConvGeometry.Create(32, 32, 3, 3, 3, 1, 1, samePadding: false).OutputHeight, Is.EqualTo(30));
        Assert.That(ConvGeometry.Create(6, 6, 1, 3, 3, 2, 2, samePadding: true).PadTop, Is.EqualTo(0), "odd padding goes to the bottom");
    }

    [Test]
    public void Conv2DBackwardIsBitwiseIdenticalAcrossThreadCounts()
    {
        // 26×26 inputs give 24×24 outputs: 3 images per chunk, so the batch of 24 is 8 chunks to split.
        var g = ConvGeometry.Create(26, 26, 3, 3, 3, 1, 1, samePadding: false);
        Assert.That(24 / Conv2DKernels.ImagesPerChunk(g), Is.GreaterThanOrEqualTo(4), "several chunks");
        float[] Gradients(int threads, out int widestRegion)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var x = Tensor.RandomUniform([24, 26, 26, 3], -1, 1, 7).AsParameter();
                var k = Tensor.RandomUniform([3, 3, 3, 8], -1, 1, 8).AsParameter();
                var b = Tensor.Zeros(8).AsParameter();
                Tensor upstream = Tensor.RandomUniform([24, 24, 24, 8], -1, 1, 9);
                Tensor y = Ops.Conv2D(x, k, b);
                Parallelism.ResetWidestRegion();
                Ops.Sum(Ops.Multiply(y, upstream)).Backward();
                widestRegion = Parallelism.WidestRegion;
                return [.. k.Grad!.ToArray(), .. b.Grad!.ToArray(), .. x.Grad!.ToArray()];
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        float[] one = Gradients(1, out _);
        float[] two = Gradients(2, out int widest);
        Assert.That(widest, Is.EqualTo(2), "the backward pass really ran on two workers");
        Assert.That(two, Is.EqualTo(one).AsCollection);
    }

    [TestCase(7, 32, 32, 3, 8, 3, 1, false)]   // the seed layer's geometry: 2 images per chunk, 4 chunks (the last one partial)
    [TestCase(9, 20, 20, 4, 5, 3, 2, true)]    // 10×10 outputs: 20 images per chunk... batch 9 is one chunk,
    [TestCase(45, 20, 20, 4, 5, 3, 2, true)]   // ...and 45 is three
    public void Conv2DBackwardAcrossSeveralChunksMatchesTheNaiveReference(int batch, int h, int w, int c, int filters, int kernel, int stride, bool same)
    {
        var g = ConvGeometry.Create(h, w, c, kernel, kernel, stride, stride, same);
        var x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 40).AsParameter();
        var k = Tensor.RandomUniform([kernel, kernel, c, filters], -1, 1, 41).AsParameter();
        var b = Tensor.RandomUniform([filters], -1, 1, 42).AsParameter();
        Tensor upstream = Tensor.RandomUniform([batch, g.OutputHeight, g.OutputWidth, filters], -1, 1, 43);
        Ops.Sum(Ops.Multiply(Ops.Conv2D(x, k, b, stride, stride, same), upstream)).Backward();

        var dW = new float[k.Length];
        var dBias = new float[filters];
        var dX = new float[x.Length];
        ConvReference.Conv2DBackward(x.Span, k.Span, upstream.Span, dW, dBias, dX, batch, filters, g);
        AssertClose(k.Grad!.ToArray(), dW, "dW");
        AssertClose(b.Grad!.ToArray(), dBias, "dBias");
        AssertClose(x.Grad!.ToArray(), dX, "dX");

        static void AssertClose(float[] actual, float[] expected, string what)
        {
            Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
            for (int i = 0; i < expected.Length; i++)
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within(1e-4f * (1 + MathF.Abs(expected[i]))), $"{what}[{i}]");
        }
    }

    [TestCase(2, 2, false)]
    [TestCase(3, 2, false)]
    [TestCase(3, 2, true)]
    [TestCase(2, 1, false)]
    public void MaxPoolGradientCheck(int pool, int stride, bool same)
    {
        // Distinct values (a shuffled ramp) so no window has a tie within ε.
        int count = 2 * 7 * 7 * 3;
        float[] values = Enumerable.Range(0, count).Select(i => i * 0.1f).ToArray();
        new Random(3).Shuffle(values);
        var x = Tensor.FromArray(values, 2, 7, 7, 3);
        GradientCheck.Check(t => Ops.MaxPool2D(t[0], pool, pool, stride, stride, same), [x], epsilon: 1e-2f);
    }

    [TestCase(2, 2, false, 8, 8, 32)]
    [TestCase(3, 2, true, 9, 7, 19)]
    [TestCase(2, 2, false, 30, 30, 32)]
    public void MaxPoolMatchesTheNaiveReference(int pool, int stride, bool same, int h, int w, int c)
    {
        var g = ConvGeometry.Create(h, w, c, pool, pool, stride, stride, same);
        Tensor x = Tensor.RandomUniform([3, h, w, c], -1, 1, 10);
        var expected = new float[3 * g.OutputPixels * c];
        ConvReference.MaxPoolForward(x.Span, expected, 3, g);
        Assert.That(Ops.MaxPool2D(x, pool, pool, stride, stride, same).ToArray(), Is.EqualTo(expected).AsCollection);
    }

    [Test]
    public void MaxPoolTiesSendTheWholeGradientToTheFirstMaximum()
    {
        // One 2x2 window, 2 channels; channel 0 is all equal, channel 1 has a tie between the last two.
        var x = Tensor.FromArray([5, 1, 5, 2, 5, 9, 5, 9], 1, 2, 2, 2).AsParameter();
        Tensor y = Ops.MaxPool2D(x, 2, 2, 2, 2);
        Assert.That(y.ToArray(), Is.EqualTo(new float[] { 5, 9 }));
        Ops.Sum(Ops.Multiply(y, Tensor.FromArray([3, 7], 1, 1, 1, 2))).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new float[] { 3, 0, 0, 0, 0, 7, 0, 0 }));
    }

    [Test]
    public void CifarSeedModelSummaryMatchesKeras()
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(), new SparseCategoricalCrossEntropy());
        Assert.That(model.Layers.Select(l => l.ParameterCount), Is.EqualTo(new[] { 896, 0, 0, 921_728, 1_290 }));
        Assert.That(model.Layers[1].OutputShape.ToArray(), Is.EqualTo(new[] { 15, 15, 32 }));
        Assert.That(model.Summary(), Does.Contain("conv2d (Conv2D)").And.Contain("(None, 30, 30, 32)").And.Contain("923,914"));
    }

    [Test]
    public void ConvLayerRejectsFlatInputWithItsName()
    {
        var model = new Sequential([784], new Conv2D(4, 3));
        var ex = Assert.Throws<ArgumentException>(() => model.Compile(new Sgd(), new MeanSquaredError()));
        Assert.That(ex!.Message, Does.Contain("'conv2d'").And.Contain("(784)"));
    }
}

public class FusedConvolutionTests
{
    [TestCase(1, false)]
    [TestCase(2, true)]
    public void Conv2DWithFusedReluGradientCheck(int stride, bool same)
    {
        // Inputs away from zero keep the pre-activations off the ReLU kink (checked: none within ε).
        var x = GradientCheck.Random([2, 6, 6, 2], 31, awayFromZero: 0.1f);
        var k = GradientCheck.Random([3, 3, 2, 3], 32, awayFromZero: 0.1f);
        var b = GradientCheck.Random([3], 33);
        GradientCheck.Check(t => Ops.Conv2D(t[0], t[1], t[2], stride, stride, same, ActivationFunction.Relu), [x, k, b], epsilon: 1e-3f);
    }

    [Test]
    public void FusedReluEqualsConvThenRelu()
    {
        Tensor x = Tensor.RandomUniform([3, 9, 9, 3], -1, 1, 34), k = Tensor.RandomUniform([3, 3, 3, 8], -1, 1, 35), b = Tensor.RandomUniform([8], -1, 1, 36);
        float[] fused = Ops.Conv2D(x, k, b, activation: ActivationFunction.Relu).ToArray();
        float[] separate = Ops.Relu(Ops.Conv2D(x, k, b)).ToArray();
        Assert.That(fused, Is.EqualTo(separate).AsCollection);
    }
}

public class FastMaxPoolTests
{
    [Test]
    public void TwoByTwoVectorPathRoutesTiesToTheFirstMaximum()
    {
        // 16 channels take the vectorised 2×2 path; every window is a tie except channel 5, won by the last element.
        float[] values = new float[2 * 2 * 16];
        Array.Fill(values, 1f);
        values[3 * 16 + 5] = 2f;
        var x = Tensor.FromArray(values, 1, 2, 2, 16).AsParameter();
        Ops.Sum(Ops.MaxPool2D(x, 2, 2, 2, 2)).Backward();
        for (int ch = 0; ch < 16; ch++)
        {
            int winner = ch == 5 ? 3 : 0;
            for (int pixel = 0; pixel < 4; pixel++)
                Assert.That(x.Grad![pixel * 16 + ch], Is.EqualTo(pixel == winner ? 1f : 0f), $"channel {ch}, pixel {pixel}");
        }
    }

    [Test]
    public void InferenceSkipsTheIndicesButGivesTheSameMaxima()
    {
        Tensor x = Tensor.RandomUniform([3, 10, 10, 32], -1, 1, 50).AsParameter();
        float[] training = Ops.MaxPool2D(x, 2, 2, 2, 2).ToArray();
        float[] inference;
        using (Autograd.Tape.NoGrad())
            inference = Ops.MaxPool2D(x, 2, 2, 2, 2).ToArray();
        Assert.That(inference, Is.EqualTo(training).AsCollection);
    }
}

/// <summary>Conv2D followed by MaxPool2D in one pass at inference (<see cref="Ops.Conv2DMaxPool2D"/>).</summary>
public class ConvMaxPoolFusionTests
{
    [TestCase(7, 32, 32, 3, 32, 3, 1, false, 2, 2, false, true)]    // the CIFAR-10 seed layers: 2 images per chunk, the last chunk partial
    [TestCase(5, 11, 9, 4, 16, 3, 1, true, 3, 2, true, true)]       // overlapping "same" windows, generic pooling path
    [TestCase(9, 20, 20, 4, 5, 3, 2, true, 2, 2, false, false)]     // 5 filters: not a multiple of 16, no ReLU
    [TestCase(40, 8, 8, 4, 7, 3, 1, true, 3, 3, false, true)]       // many images per chunk
    public void FusedEqualsConvThenPoolBitwiseAtAnyThreadCount(int batch, int h, int w, int c, int filters, int kernel, int stride, bool same,
        int pool, int poolStride, bool poolSame, bool relu)
    {
        Tensor x = Tensor.RandomUniform([batch, h, w, c], -1, 1, 60), k = Tensor.RandomUniform([kernel, kernel, c, filters], -1, 1, 61);
        Tensor b = Tensor.RandomUniform([filters], -1, 1, 62);
        ActivationFunction activation = relu ? ActivationFunction.Relu : ActivationFunction.Linear;
        ConvPadding padding = same ? ConvPadding.Same : ConvPadding.Valid;
        float[] separate = Ops.MaxPool2D(Ops.Conv2D(x, k, b, (stride, stride), (1, 1), padding, activation), pool, pool, poolStride, poolStride, poolSame).ToArray();
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                Parallelism.MaxThreads = threads;
                using (Autograd.Tape.NoGrad())
                {
                    Tensor fused = Ops.Conv2DMaxPool2D(x, k, b, (stride, stride), (1, 1), padding, activation, (pool, pool), (poolStride, poolStride), poolSame);
                    Assert.That(fused.ToArray(), Is.EqualTo(separate).AsCollection, $"{threads} thread(s)");
                }
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void WhileRecordingGradientsFlow() // bitwise against the two ops: ConvMaxPoolTrainingTests
    {
        Tensor x = Tensor.RandomUniform([2, 6, 6, 2], -1, 1, 63), k = Tensor.RandomUniform([3, 3, 2, 16], -1, 1, 64).AsParameter();
        Tensor b = Tensor.Zeros(16).AsParameter();
        Tensor y = Ops.Conv2DMaxPool2D(x, k, b, (1, 1), (1, 1), ConvPadding.Valid, ActivationFunction.Relu, (2, 2), (2, 2), false);
        Ops.Sum(y).Backward();
        Assert.That(k.Grad, Is.Not.Null);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 2, 2, 2, 16 }));
    }

    [Test]
    public void ModelInferenceFusesAndGivesTheLayerByLayerResult()
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f), new Losses.SparseCategoricalCrossEntropy(), seed: 3);
        model.Output = TextWriter.Null;
        Tensor x = Tensor.RandomUniform([5, 32, 32, 3], 0, 1, 65);
        Tensor current = x;
        float[] layerByLayer;
        foreach (Layer layer in model.Layers)
            current = layer.Forward(current);
        layerByLayer = current.ToArray();
        float[] recorded = model.Forward(x).ToArray();          // the tape is on: the fused op records
        Diagnostics.Profiler.Reset();
        bool profiling = Diagnostics.Profiler.Enabled;
        Diagnostics.Profiler.Enabled = true;
        float[] inference;
        try
        {
            using (Autograd.Tape.NoGrad())
                inference = model.Forward(x).ToArray();
            Assert.That(Diagnostics.Profiler.Report(), Does.Contain("Conv2D+MaxPool2D"), "the inference pass ran the fused op");
        }
        finally
        {
            Diagnostics.Profiler.Enabled = profiling;
            Diagnostics.Profiler.Reset();
        }
        Assert.That(recorded, Is.EqualTo(layerByLayer).AsCollection);
        Assert.That(inference, Is.EqualTo(layerByLayer).AsCollection);
    }

    [Test]
    public void AConvolutionWhoseOutputIsAlsoReadElsewhereIsNotFused()
    {
        var input = new Input([8, 8, 2]);
        var conv = new Conv2D(16, 3, activation: ActivationFunction.Relu).Call(input);
        var pooled = new Flatten().Call(new MaxPool2D(2).Call(conv));
        var direct = new Flatten().Call(conv);
        var model = new Model([input], [new Dense(3).Call(new Concatenate().Call(pooled, direct))]) { Output = TextWriter.Null };
        model.Compile(new Sgd(0.01f), new Losses.MeanSquaredError(), seed: 4);
        Tensor x = Tensor.RandomUniform([3, 8, 8, 2], -1, 1, 66);
        float[] recorded = model.Forward(x).ToArray();
        float[] inference;
        using (Autograd.Tape.NoGrad())
            inference = model.Forward(x).ToArray();
        Assert.That(inference, Is.EqualTo(recorded).AsCollection);
    }
}
