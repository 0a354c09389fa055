using NanoNet.Autograd;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>Embedding and Lstm layers: Keras shapes and initialisers, masking, state, sequence losses.</summary>
public class RecurrentLayerTests
{
    [Test]
    public void ImdbSeedModelHasKerasShapesAndParameterCounts()
    {
        var model = new Sequential([200], new Embedding(20_000, 128), new Lstm(128), new Dense(2, ActivationFunction.Softmax));
        model.Compile(new Sgd(), new SparseCategoricalCrossEntropy());
        Assert.That(model.Layers.Select(l => l.ParameterCount), Is.EqualTo(new[] { 2_560_000, 131_584, 258 }));
        Assert.That(model.ParameterCount, Is.EqualTo(2_560_000 + 131_584 + 258));
        Assert.That(model.Layers[0].OutputShape.ToArray(), Is.EqualTo(new[] { 200, 128 }));
        Assert.That(model.Layers[1].OutputShape.ToArray(), Is.EqualTo(new[] { 128 }));
        string summary = model.Summary();
        Assert.That(summary, Does.Contain("embedding (Embedding)").And.Contain("lstm (Lstm)").And.Contain("2,691,842"));
    }

    [Test]
    public void LstmInitialisersFollowKeras()
    {
        var lstm = new Lstm(16, returnSequences: true);
        lstm.Build([5, 8], new RandomStream(1));
        Assert.That(lstm.OutputShape.ToArray(), Is.EqualTo(new[] { 5, 16 }));
        float[] bias = lstm.Bias.ToArray();
        Assert.That(bias[16..32], Is.All.EqualTo(1f), "unit_forget_bias");
        Assert.That(bias[..16].Concat(bias[32..]), Is.All.EqualTo(0f));
        float limit = MathF.Sqrt(6f / (8 + 64));
        Assert.That(lstm.Kernel.ToArray(), Is.All.InRange(-limit, limit), "Glorot uniform over (D, 4U)");
        Tensor r = lstm.RecurrentKernel;
        for (int a = 0; a < 16; a++)
            for (int b = 0; b < 16; b++)
            {
                double dot = 0;
                for (int k = 0; k < 64; k++)
                    dot += r[a, k] * r[b, k];
                Assert.That(dot, Is.EqualTo(a == b ? 1 : 0).Within(1e-5), "orthogonal: R·Rᵀ = I");
            }
        var embedding = new Embedding(50, 4);
        embedding.Build([7], new RandomStream(2));
        Assert.That(embedding.Table.ToArray(), Is.All.InRange(-0.05f, 0.05f));
        Assert.That(embedding.OutputShape.ToArray(), Is.EqualTo(new[] { 7, 4 }));
    }

    [Test]
    public void SparseCategoricalCrossEntropyHandlesSequenceOutputs()
    {
        // (N, T, C) predictions with (N, T) labels: the mean over all N·T positions.
        var logits = Tensor.RandomUniform([2, 3, 4], -2, 2, 3);
        var labels = Tensor.FromArray([0, 3, 1, 2, 2, 0], 2, 3);
        double expected = 0;
        for (int p = 0; p < 6; p++)
        {
            ReadOnlySpan<float> row = logits.Span.Slice(p * 4, 4);
            double sum = 0;
            foreach (float v in row)
                sum += Math.Exp(v);
            expected -= row[(int)labels[p]] - Math.Log(sum);
        }
        expected /= 6;
        var loss = new SparseCategoricalCrossEntropy();
        Assert.That(loss.ComputeFromSoftmaxLogits(logits, labels)![0], Is.EqualTo(expected).Within(1e-5));
        Assert.That(loss.Compute(Ops.Softmax(logits), labels)[0], Is.EqualTo(expected).Within(1e-5));
        Assert.That(new SparseCategoricalCrossEntropy(fromLogits: true).Compute(logits, labels)[0], Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void CharModelTrainsThroughFitAndReportsPerTokenAccuracy()
    {
        // A periodic stream "abcd..." is perfectly predictable: loss falls, accuracy is per token (≤ 1).
        int[] stream = Enumerable.Range(0, 2000).Select(i => i % 5).ToArray();
        Dataset data = NextTokenSequences.Windows(stream, length: 10, stride: 2);
        var model = new Sequential([10], new Embedding(5, 8), new Lstm(16, returnSequences: true), new Dense(5, ActivationFunction.Softmax));
        model.Compile(new Sgd(1f), new SparseCategoricalCrossEntropy(), seed: 1);
        model.Output = TextWriter.Null;
        TrainingHistory history = model.Fit(data, batchSize: 16, epochs: 3);
        TestContext.Out.WriteLine(string.Join(", ", history.Epochs.Select(e => $"{e.Loss:F3}")));
        Evaluation result = model.Evaluate(data);
        Assert.That(history.Last.Loss, Is.LessThan(history.Epochs[0].Loss * 0.5f));
        Assert.That(result.Accuracy, Is.InRange(0.9f, 1f));
        Assert.That(model.Predict(data.Features.SliceRows(0, 3)).Shape.ToArray(), Is.EqualTo(new[] { 3, 10, 5 }));
    }

    [Test]
    public void MaskZeroMakesPrePaddingInvisibleToTheLstm()
    {
        var embedding = new Embedding(12, 6, maskZero: true);
        var lstm = new Lstm(5);
        var model = new Sequential([7], embedding, lstm);
        model.Compile(new Sgd(), new MeanSquaredError(), seed: 3);
        var padded = Tensor.FromArray([0, 0, 0, 4, 9, 2, 7], 1, 7);
        var plain = new Sequential([4], new Embedding(12, 6), new Lstm(5));
        plain.Compile(new Sgd(), new MeanSquaredError(), seed: 3);
        for (int i = 0; i < model.Parameters.Count; i++)
            model.Parameters[i].Span.CopyTo(plain.Parameters[i].Span);
        float[] masked = model.Predict(padded).ToArray();
        float[] unpadded = plain.Predict(Tensor.FromArray([4, 9, 2, 7], 1, 4)).ToArray();
        Assert.That(masked, Is.EqualTo(unpadded).Within(1e-6f).AsCollection);

        var unmasked = new Sequential([7], new Embedding(12, 6), new Lstm(5));
        unmasked.Compile(new Sgd(), new MeanSquaredError(), seed: 3);
        Assert.That(unmasked.Predict(padded).ToArray(), Is.Not.EqualTo(unpadded), "without the mask the padding is read");
    }

    [Test]
    public void StatefulLstmContinuesFromTheLastBatch()
    {
        var x = Tensor.RandomUniform([2, 6, 3], -1, 1, 4);
        var whole = new Lstm(4);
        whole.Build([6, 3], new RandomStream(5));
        var stateful = new Lstm(4, stateful: true);
        stateful.Build([3, 3], new RandomStream(5));
        float[] expected = whole.Forward(x).ToArray();
        stateful.Forward(Steps(x, 0, 3));
        Assert.That(stateful.Forward(Steps(x, 3, 3)).ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection);
        stateful.ResetStates();
        Assert.That(stateful.State!.Hidden.ToArray(), Is.All.Zero);
    }

    [Test]
    public void TextModelTrainingIsBitwiseIdenticalAtOneAndTwoThreads()
    {
        float[] Train(int threads)
        {
            int saved = Parallelism.MaxThreads;
            Parallelism.MaxThreads = threads;
            try
            {
                var rng = new Random(6);
                var ids = Tensor.Zeros(64, 12);
                for (int i = 0; i < ids.Length; i++)
                    ids[i] = rng.Next(300);
                var labels = Tensor.Zeros(64);
                for (int i = 0; i < 64; i++)
                    labels[i] = i % 2;
                var model = new Sequential([12], new Embedding(300, 48), new Lstm(64), new Dense(2, ActivationFunction.Softmax));
                model.Compile(new Sgd(0.5f), new SparseCategoricalCrossEntropy(), seed: 7);
                model.Output = TextWriter.Null;
                model.Fit(new Dataset(ids, labels), batchSize: 32, epochs: 2, seed: 8);
                return model.Parameters.SelectMany(p => p.ToArray()).ToArray();
            }
            finally
            {
                Parallelism.MaxThreads = saved;
            }
        }
        float[] one = Train(1), two = Train(2);
        for (int i = 0; i < one.Length; i++)
            if (BitConverter.SingleToInt32Bits(one[i]) != BitConverter.SingleToInt32Bits(two[i]))
                Assert.Fail($"weight {i} differs: {one[i]} at 1 thread, {two[i]} at 2");
    }

    private static Tensor Steps(Tensor x, int start, int count)
    {
        int n = x.Dim(0), t = x.Dim(1), d = x.Dim(2);
        var y = Tensor.Zeros(n, count, d);
        for (int s = 0; s < n; s++)
            x.Span.Slice((s * t + start) * d, count * d).CopyTo(y.Span.Slice(s * count * d, count * d));
        return y;
    }
}
