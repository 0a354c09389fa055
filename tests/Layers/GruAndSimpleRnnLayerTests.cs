using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Tests;

/// <summary>The Gru and SimpleRnn layers: Keras shapes, parameter counts and initialisers, masks, state, config, saving, training.</summary>
public class GruAndSimpleRnnLayerTests
{
    [Test]
    public void ParameterCountsAndShapesFollowKeras()
    {
        var gru = new Gru(64, returnSequences: true);
        gru.Build([100, 128], new RandomStream(1));
        Assert.That(gru.ParameterCount, Is.EqualTo(3 * 64 * (128 + 64 + 2)), "Keras GRU(64) on 128 features: 37,248");
        Assert.That(gru.Bias.Shape.ToArray(), Is.EqualTo(new[] { 2, 192 }));
        Assert.That(gru.OutputShape.ToArray(), Is.EqualTo(new[] { 100, 64 }));
        Assert.That(gru.Bias.ToArray(), Is.All.Zero);
        float limit = MathF.Sqrt(6f / (128 + 192));
        Assert.That(gru.Kernel.ToArray(), Is.All.InRange(-limit, limit), "Glorot uniform over (D, 3U)");
        AssertRowsOrthonormal(gru.RecurrentKernel);

        var rnn = new SimpleRnn(32);
        rnn.Build([10, 8], new RandomStream(2));
        Assert.That(rnn.ParameterCount, Is.EqualTo(32 * (8 + 32 + 1)));
        Assert.That(rnn.OutputShape.ToArray(), Is.EqualTo(new[] { 32 }));
        AssertRowsOrthonormal(rnn.RecurrentKernel);
        Assert.That(gru.Weights.Select(w => w.Name![(gru.Name.Length + 1)..]), Is.EqualTo(new[] { "kernel", "recurrent_kernel", "bias" }));
    }

    private static void AssertRowsOrthonormal(Tensor r)
    {
        int rows = r.Dim(0), columns = r.Dim(1);
        for (int a = 0; a < rows; a++)
            for (int b = 0; b < rows; b++)
            {
                double dot = 0;
                for (int k = 0; k < columns; k++)
                    dot += r[a, k] * r[b, k];
                Assert.That(dot, Is.EqualTo(a == b ? 1 : 0).Within(1e-5), "orthogonal: R·Rᵀ = I");
            }
    }

    [Test]
    public void ConfigsRoundTrip()
    {
        Layer[] layers =
        [
            new Gru(12, returnSequences: true, stateful: true, name: "g", dropout: 0.2f, recurrentDropout: 0.1f, goBackwards: true, seed: 4),
            new SimpleRnn(7, ActivationFunction.Relu, name: "s", goBackwards: true, dropout: 0.3f),
            new Bidirectional(new Gru(5, name: "inner"), "ave", name: "bi"),
        ];
        foreach (Layer layer in layers)
        {
            LayerConfig config = layer.GetConfig();
            Layer copy = LayerRegistry.Create(config);
            Assert.That(copy.GetType(), Is.EqualTo(layer.GetType()));
            Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        }
        Assert.That(layers[1].Describe(), Is.EqualTo("units=7, go_backwards, dropout=0.3, relu"));
        Assert.Throws<ArgumentException>(() => new SimpleRnn(3, ActivationFunction.Softmax));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Gru(0));
    }

    [Test]
    public void MaskZeroMakesPrePaddingInvisible()
    {
        foreach (Func<Layer> make in new Func<Layer>[] { () => new Gru(5), () => new SimpleRnn(5), () => new Gru(5, returnSequences: true) })
        {
            var model = new Sequential([7], new Embedding(12, 6, maskZero: true), make());
            model.Compile(new Sgd(), new MeanSquaredError(), seed: 3);
            var plain = new Sequential([4], new Embedding(12, 6), make());
            plain.Compile(new Sgd(), new MeanSquaredError(), seed: 3);
            for (int i = 0; i < model.Parameters.Count; i++)
                model.Parameters[i].Span.CopyTo(plain.Parameters[i].Span);
            float[] masked = model.Predict(Tensor.FromArray([0, 0, 0, 4, 9, 2, 7], 1, 7)).ToArray();
            float[] unpadded = plain.Predict(Tensor.FromArray([4, 9, 2, 7], 1, 4)).ToArray();
            Assert.That(masked[^unpadded.Length..], Is.EqualTo(unpadded).Within(1e-6f).AsCollection);
            if (masked.Length > unpadded.Length) // return sequences: masked steps output the previous output (the zero state)
                Assert.That(masked[..(3 * 5)], Is.All.Zero);
        }
    }

    [Test]
    public void StatefulLayersContinueFromTheLastBatch()
    {
        var x = Tensor.RandomUniform([2, 6, 3], -1, 1, 4);
        foreach (bool gru in new[] { true, false })
        {
            RecurrentLayer whole = gru ? new Gru(4) : new SimpleRnn(4);
            whole.Build([6, 3], new RandomStream(5));
            RecurrentLayer stateful = gru ? new Gru(4, stateful: true) : new SimpleRnn(4, stateful: true);
            stateful.Build([3, 3], new RandomStream(5));
            float[] expected = whole.Forward(x).ToArray();
            stateful.Forward(Ops.Slice(x, 1, 0, 3));
            Assert.That(stateful.Forward(Ops.Slice(x, 1, 3, 3)).ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection);
        }
    }

    [Test]
    public void DropoutDrawsMasksFromTheLayersStream()
    {
        var gru = new Gru(6, dropout: 0.3f, recurrentDropout: 0.4f, seed: 9);
        gru.Build([7, 4], new RandomStream(3));
        var x = Tensor.RandomUniform([5, 7, 4], -1, 1, 1);
        var random = new RandomStream(9, RandomStreamIds.RecurrentDropout);
        Tensor inputMask = Ops.DropoutMask(5, 4, 0.3f, random)!, recurrentMask = Ops.DropoutMask(5, 6, 0.4f, random)!;
        float[] expected = Ops.Gru(x, gru.Kernel, gru.RecurrentKernel, gru.Bias, dropoutMask: inputMask, recurrentDropoutMask: recurrentMask).ToArray();
        Assert.That(gru.Forward(x, training: true).ToArray(), Is.EqualTo(expected).AsCollection);
        Assert.That(gru.Forward(x).ToArray(), Is.EqualTo(Ops.Gru(x, gru.Kernel, gru.RecurrentKernel, gru.Bias).ToArray()).AsCollection, "inference: no dropout");
    }

    [Test]
    public void ModelsWithEveryRecurrentLayerSaveLoadAndPredictBitIdentically()
    {
        var tokens = new Input([12], "tokens");
        SymbolicTensor e = new Embedding(50, 8, maskZero: true, name: "e").Call(tokens);
        SymbolicTensor a = new Bidirectional(new Lstm(6, returnSequences: true, name: "l", dropout: 0.1f, recurrentDropout: 0.2f), name: "bl").Call(e);
        SymbolicTensor b = new Gru(5, returnSequences: true, goBackwards: true, name: "g").Call(a);
        SymbolicTensor c = new Bidirectional(new SimpleRnn(4, name: "s"), "sum", name: "bs").Call(b);
        var model = new Model(tokens, new Dense(2, ActivationFunction.Softmax, name: "out").Call(c), "recurrent") { Output = TextWriter.Null };
        model.Compile(new Adam(), new SparseCategoricalCrossEntropy(), seed: 1);
        Tensor ids = PersistenceModels.Tokens(16, 12, 50, seed: 2);
        var labels = Tensor.FromArray([.. Enumerable.Range(0, 16).Select(i => (float)(i % 2))], 16);
        model.Fit(new Dataset(ids, labels), batchSize: 8, epochs: 1, verbose: 0);
        string path = PersistenceModels.TemporaryPath();
        try
        {
            model.Save(path);
            Model loaded = Model.Load(path);
            Assert.That(loaded.Weights.Select(w => w.Name), Is.EqualTo(model.Weights.Select(w => w.Name)));
            Assert.That(loaded.Weights.Select(w => w.Name), Does.Contain("bl/backward_l/recurrent_kernel").And.Contain("bs/forward_s/bias"));
            Assert.That(loaded.Predict(ids).ToArray(), Is.EqualTo(model.Predict(ids).ToArray()).AsCollection);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AGruLearnsToCountAcrossSteps()
    {
        // Label: whether token 1 occurs more often than token 2 in the sequence; needs memory across steps.
        var rng = new Random(3);
        var ids = Tensor.Zeros(512, 10);
        var labels = Tensor.Zeros(512);
        for (int i = 0; i < 512; i++)
        {
            int ones = 0, twos = 0;
            for (int t = 0; t < 10; t++)
            {
                int token = rng.Next(1, 4);
                ids[i * 10 + t] = token;
                ones += token == 1 ? 1 : 0;
                twos += token == 2 ? 1 : 0;
            }
            labels[i] = ones > twos ? 1 : 0;
        }
        var model = new Sequential([10], new Embedding(4, 8), new Bidirectional(new Gru(16)), new Dense(2, ActivationFunction.Softmax))
            { Output = TextWriter.Null };
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed: 4);
        TrainingHistory history = model.Fit(new Dataset(ids, labels), batchSize: 32, epochs: 8, seed: 5);
        Assert.That(history.Last.Accuracy, Is.GreaterThan(0.9f), string.Join(", ", history.Epochs.Select(e => $"{e.Accuracy:F2}")));
    }
}
