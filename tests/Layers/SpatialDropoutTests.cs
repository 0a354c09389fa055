using NanoNet.Data;
using NanoNet.Kernels;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>SpatialDropout1D and SpatialDropout2D: whole feature maps dropped, Keras semantics, reproducible.</summary>
public class SpatialDropoutTests
{
    private static T Built<T>(T layer, int[] shape) where T : Layer
    {
        layer.Build(shape);
        return layer;
    }

    [Test]
    public void InferenceReturnsTheInputItselfAndDrawsNothing()
    {
        SpatialDropout2D images = Built(new SpatialDropout2D(0.5f, seed: 7), [3, 4, 5]);
        SpatialDropout1D sequences = Built(new SpatialDropout1D(0.5f, seed: 7), [6, 5]);
        var x2 = Tensor.RandomUniform([2, 3, 4, 5], -1f, 1f, 1);
        var x1 = Tensor.RandomUniform([2, 6, 5], -1f, 1f, 2);
        Assert.That(images.Forward(x2), Is.SameAs(x2));
        Assert.That(sequences.Forward(x1, training: false), Is.SameAs(x1));
        Assert.That(images.RandomState.Position, Is.Zero, "inference draws nothing");
        Assert.That(sequences.RandomState.Position, Is.Zero);
    }

    /// <summary>
    /// The statistical test: every (sample, channel) map is either all zero or all x/(1 − rate) exactly, and
    /// the kept share is 1 − rate within six standard deviations of Binomial(N·C, 1 − rate). Element-wise
    /// dropout fails the first check (a map of 20 pixels kept whole has probability (1 − rate)^20).
    /// </summary>
    [TestCase(0.1f)]
    [TestCase(0.5f)]
    [TestCase(0.8f)]
    public void SpatialDropout2DDropsWholeFeatureMapsAtTheRate(float rate)
    {
        const int batch = 500, height = 4, width = 5, channels = 24;
        SpatialDropout2D layer = Built(new SpatialDropout2D(rate, seed: 3), [height, width, channels]);
        var x = Tensor.RandomUniform([batch, height, width, channels], 0.5f, 2f, 4); // never zero: a zero output means dropped
        Tensor y = layer.Forward(x, training: true);
        float scale = 1f / (1f - rate);
        static int At(int n, int h, int w, int c) => ((n * height + h) * width + w) * channels + c;
        int kept = 0, samplesWithBoth = 0;
        for (int n = 0; n < batch; n++)
        {
            int keptHere = 0;
            for (int c = 0; c < channels; c++)
            {
                bool mapKept = y[At(n, 0, 0, c)] != 0f;
                for (int h = 0; h < height; h++)
                    for (int w = 0; w < width; w++)
                    {
                        float expected = mapKept ? x[At(n, h, w, c)] * scale : 0f;
                        if (y[At(n, h, w, c)] != expected)
                            Assert.Fail($"sample {n}, channel {c}, pixel ({h}, {w}): {y[At(n, h, w, c)]}, expected {expected}: the map is not kept or dropped whole");
                    }
                keptHere += mapKept ? 1 : 0;
            }
            kept += keptHere;
            samplesWithBoth += keptHere > 0 && keptHere < channels ? 1 : 0;
        }
        double draws = batch * channels, expectedKept = draws * (1.0 - rate), sigma = Math.Sqrt(draws * rate * (1.0 - rate));
        Assert.That(kept, Is.InRange(expectedKept - 6 * sigma, expectedKept + 6 * sigma));
        Assert.That(samplesWithBoth, Is.GreaterThan(batch / 4), "one draw per (sample, channel), not one per sample");
        Assert.That(layer.RandomState.Position, Is.EqualTo((ulong)(batch * channels + 1) / 2), "a training call advances the stream by ⌈batch × channels / 2⌉ (16 bits per draw)");
    }

    [Test]
    public void SpatialDropout1DUsesOneDrawPerSampleAndChannelAtEveryStep()
    {
        const int batch = 300, steps = 9, channels = 16;
        const float rate = 0.3f;
        SpatialDropout1D layer = Built(new SpatialDropout1D(rate, seed: 5), [steps, channels]);
        var x = Tensor.RandomUniform([batch, steps, channels], 0.5f, 2f, 6);
        Tensor y = layer.Forward(x, training: true);
        static int At(int n, int t, int c) => (n * steps + t) * channels + c;
        int kept = 0;
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
            {
                bool mapKept = y[At(n, 0, c)] != 0f;
                kept += mapKept ? 1 : 0;
                for (int t = 0; t < steps; t++)
                    Assert.That(y[At(n, t, c)], Is.EqualTo(mapKept ? x[At(n, t, c)] * (1f / (1f - rate)) : 0f), $"sample {n}, channel {c}, step {t}");
            }
        double draws = batch * channels, sigma = Math.Sqrt(draws * rate * (1 - rate));
        Assert.That(kept, Is.InRange(draws * (1 - rate) - 6 * sigma, draws * (1 - rate) + 6 * sigma));
        Assert.That(layer.RandomState.Position, Is.EqualTo((ulong)(batch * channels + 1) / 2));
    }

    [Test]
    public void TheMaskIsDrawnFromTheLayersOwnStreamAsDropoutDraws()
    {
        // Entry i = n·C + c is kept when its 16 bits h (the low half of the value at position i/2 of (seed, SpatialDropout)
        // for an even i, the high half for an odd i) give h/2^16 ≥ rate.
        const int batch = 5, channels = 7;
        SpatialDropout2D layer = Built(new SpatialDropout2D(0.4f, seed: 21), [2, 3, channels]);
        Tensor y = layer.Forward(Tensor.Ones(batch, 2, 3, channels), training: true);
        var stream = new RandomStream(21, RandomStreamIds.SpatialDropout);
        uint[] words = [.. Enumerable.Range(0, (batch * channels + 1) / 2).Select(_ => stream.NextUInt32())];
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < channels; c++)
            {
                int i = n * channels + c;
                uint h = i % 2 == 0 ? words[i / 2] & 0xFFFF : words[i / 2] >> 16;
                Assert.That(y[((n * 2 + 1) * 3 + 2) * channels + c], Is.EqualTo(h / 65536.0 >= 0.4f ? 1f / 0.6f : 0f), $"sample {n}, channel {c}");
            }
    }

    [Test]
    public void SuccessiveBatchesDrawDifferentMasksAndRestoringTheStateDrawsTheSameAgain()
    {
        var x = Tensor.Ones(8, 5, 32);
        SpatialDropout1D a = Built(new SpatialDropout1D(0.5f, seed: 11), [5, 32]), b = Built(new SpatialDropout1D(0.5f, seed: 11), [5, 32]);
        float[] a1 = a.Forward(x, true).ToArray();
        RandomStreamState saved = a.RandomState;
        float[] a2 = a.Forward(x, true).ToArray();
        Assert.That(a2, Is.Not.EqualTo(a1));
        Assert.That(b.Forward(x, true).ToArray(), Is.EqualTo(a1), "same seed, same masks");
        a.RandomState = saved;
        Assert.That(a.Forward(x, true).ToArray(), Is.EqualTo(a2));
        Assert.That(Built(new SpatialDropout1D(0.5f, seed: 12), [5, 32]).Forward(x, true).ToArray(), Is.Not.EqualTo(a1), "another seed, another mask");
    }

    [Test]
    public void GradientMatchesCentralDifferencesWithAFixedMask()
    {
        var random = new RandomStream(5, RandomStreamIds.SpatialDropout);
        RandomStreamState start = random.State;
        var x = Tensor.RandomUniform([3, 2, 3, 4], -1f, 1f, 3);
        GradientCheck.Check(inputs =>
        {
            random.Restore(start); // every evaluation draws the same mask
            return Ops.SpatialDropout(inputs[0], 0.4f, random);
        }, [x]);
        random.Restore(start);
        Tensor y = Ops.SpatialDropout(x, 0.4f, random);
        int zeros = Enumerable.Range(0, y.Length).Count(i => y[i] == 0f);
        Assert.That(zeros, Is.GreaterThan(0).And.LessThan(y.Length), "the checked mask drops some maps and keeps others");
    }

    [Test]
    public void KernelsMatchTheirNaiveTwin()
    {
        const int batch = 3, positions = 7, channels = 19; // 19: a vector body and a scalar tail
        float[] x = Tensor.RandomUniform([batch * positions * channels], -1f, 1f, 8).ToArray();
        float[] mask = Tensor.RandomUniform([batch * channels], 0f, 2f, 9).ToArray();
        float[] fast = new float[x.Length], naive = new float[x.Length];
        SpatialMaskKernels.Apply(x, mask, fast, batch, positions, channels);
        SpatialMaskKernels.ApplyReference(x, mask, naive, batch, positions, channels);
        Assert.That(fast, Is.EqualTo(naive));
        // Backward adds into what the gradient already holds.
        float[] start = Tensor.RandomUniform([x.Length], -1f, 1f, 10).ToArray(), accumulated = (float[])start.Clone();
        SpatialMaskKernels.ApplyAdd(x, mask, accumulated, batch, positions, channels);
        for (int i = 0; i < x.Length; i++)
            Assert.That(accumulated[i], Is.EqualTo(start[i] + naive[i]).Within(1e-6f), $"element {i}");
    }

    [Test]
    public void BitIdenticalAtOneAndTwoThreads()
    {
        // 64 × 1024 = 65,536 mask entries: above the RandomStream's parallel threshold, so the fill is split.
        var x = Tensor.RandomUniform([64, 2, 2, 1024], -1f, 1f, 4);
        (float[] Y, float[] Grad) Run(int threads)
        {
            using (Parallelism.LimitThreads(threads))
            {
                SpatialDropout2D layer = Built(new SpatialDropout2D(0.25f, seed: 9), [2, 2, 1024]);
                layer.Forward(x, true);
                Tensor input = x.Clone();
                input.RequiresGrad = true;
                Tensor y = layer.Forward(input, true);
                Ops.Sum(y).Backward();
                return (y.ToArray(), input.Grad!.ToArray());
            }
        }
        (float[] one, float[] oneGrad) = Run(1);
        (float[] two, float[] twoGrad) = Run(2);
        Assert.That(two, Is.EqualTo(one));
        Assert.That(twoGrad, Is.EqualTo(oneGrad));
    }

    [Test]
    public void RateZeroIsTheIdentityAndBadArgumentsAreRefusedClearly()
    {
        var x = Tensor.Ones(2, 3, 4);
        Assert.That(Ops.SpatialDropout(x, 0f, new RandomStream(1)), Is.SameAs(x));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpatialDropout1D(1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpatialDropout2D(-0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpatialDropout2D(float.NaN));
        Assert.That(() => Ops.SpatialDropout(Tensor.Ones(2, 3), 0.5f, new RandomStream(1)), Throws.ArgumentException.With.Message.Contains("(2, 3)"));
        var wrong = new SpatialDropout2D(0.5f, name: "sd2");
        Assert.That(() => wrong.Build([8, 3]), Throws.ArgumentException.With.Message.Contains("'sd2'").And.Message.Contains("(height, width, channels)").And.Message.Contains("(8, 3)"));
        var wrong1 = new SpatialDropout1D(0.5f, name: "sd1");
        Assert.That(() => wrong1.Build([4, 4, 3]), Throws.ArgumentException.With.Message.Contains("'sd1'").And.Message.Contains("(steps, channels)"));
    }

    [Test]
    public void PassesTheMaskOn()
    {
        Assert.That(new SpatialDropout1D(0.5f).SupportsMasking, Is.True);
        Assert.That(new SpatialDropout2D(0.5f).SupportsMasking, Is.True);
    }

    [Test]
    public void ConfigRoundTripsThroughTheRegistry()
    {
        foreach (SpatialDropout layer in new SpatialDropout[] { new SpatialDropout1D(0.35f, seed: 42, name: "s1"), new SpatialDropout2D(0.2f, seed: 4, name: "s2") })
        {
            LayerConfig config = layer.GetConfig();
            var copy = (SpatialDropout)LayerRegistry.Create(config);
            Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
            Assert.That(copy.Rate, Is.EqualTo(layer.Rate));
            Assert.That(copy.Seed, Is.EqualTo(layer.Seed));
            Assert.That(copy.Name, Is.EqualTo(layer.Name));
            Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
            Assert.That(copy.RandomState, Is.EqualTo(layer.RandomState));
        }
    }

    [Test]
    public void AConvolutionalModelWithSpatialDropoutTrainsThroughFit()
    {
        // The class is which of the 3 channels carries a bump; the Conv1D must find it with maps dropped.
        var rng = new Random(1);
        const int count = 240, steps = 12;
        var x = Tensor.Zeros(count, steps, 3);
        var y = Tensor.Zeros(count);
        for (int i = 0; i < count; i++)
        {
            int label = i % 3;
            y[i] = label;
            for (int t = 0; t < steps; t++)
                for (int c = 0; c < 3; c++)
                    x[(i * steps + t) * 3 + c] = (c == label && t >= 4 && t < 8 ? 1.5f : 0f) + 0.5f * (rng.NextSingle() - 0.5f);
        }
        var data = new Dataset(x, y);
        var dropout = new SpatialDropout1D(0.2f, seed: 1);
        var model = new Sequential([steps, 3], new Conv1D(16, 3, activation: ActivationFunction.Relu), dropout,
            new GlobalMaxPooling1D(), new Dense(3, ActivationFunction.Softmax));
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), 1);
        model.Output = TextWriter.Null;
        float before = model.Evaluate(data).Loss;
        TrainingHistory history = model.Fit(data, batchSize: 16, epochs: 8, verbose: 0);
        Assert.That(model.Evaluate(data).Loss, Is.LessThan(before * 0.5f));
        Assert.That(history.Last.Accuracy, Is.GreaterThan(0.8f));
        Assert.That(dropout.RandomState.Position, Is.EqualTo((ulong)(8 * count * 16 / 2)), "one 16-bit draw per (example, channel) per epoch");
    }
}
