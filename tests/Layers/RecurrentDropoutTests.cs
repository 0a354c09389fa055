using NanoNet.Layers;

namespace NanoNet.Tests;

/// <summary>Keras' <c>dropout</c> and <c>recurrent_dropout</c> on the recurrent layers, and <c>go_backwards</c>.</summary>
public class RecurrentDropoutTests
{
    private static Lstm BuiltLstm(float dropout, float recurrentDropout, int seed = 5, bool goBackwards = false, bool returnSequences = false)
    {
        var layer = new Lstm(6, returnSequences, dropout: dropout, recurrentDropout: recurrentDropout, goBackwards: goBackwards, seed: seed);
        layer.Build([7, 4], new RandomStream(3));
        return layer;
    }

    [Test]
    public void LstmTrainingDrawsOneInputAndOneRecurrentMaskPerSequence()
    {
        // The layer's training output is the op's with an (N, D) then an (N, U) mask from its own stream.
        Lstm layer = BuiltLstm(0.3f, 0.4f, seed: 9);
        var x = Tensor.RandomUniform([5, 7, 4], -1, 1, 1);
        var random = new RandomStream(9, RandomStreamIds.RecurrentDropout);
        Tensor inputMask = Ops.DropoutMask(5, 4, 0.3f, random)!, recurrentMask = Ops.DropoutMask(5, 6, 0.4f, random)!;
        float[] expected = Ops.Lstm(x, layer.Kernel, layer.RecurrentKernel, layer.Bias, dropoutMask: inputMask, recurrentDropoutMask: recurrentMask).ToArray();
        Assert.That(layer.Forward(x, training: true).ToArray(), Is.EqualTo(expected).AsCollection);
        Assert.That(layer.RandomState.Position, Is.EqualTo((ulong)(5 * 4 / 2 + (5 * 6 + 1) / 2)), "⌈N·D/2⌉ + ⌈N·U/2⌉ values per training call (16 bits per mask element)");
        Assert.That(layer.Forward(x, training: true).ToArray(), Is.Not.EqualTo(expected).AsCollection, "the next batch draws new masks");
    }

    [Test]
    public void LstmDropoutIsOffAtInferenceAndDrawsNothing()
    {
        Lstm plain = BuiltLstm(0f, 0f), dropping = BuiltLstm(0.5f, 0.5f);
        var x = Tensor.RandomUniform([3, 7, 4], -1, 1, 2);
        RandomStreamState before = dropping.RandomState;
        Assert.That(dropping.Forward(x).ToArray(), Is.EqualTo(plain.Forward(x).ToArray()).AsCollection);
        Assert.That(dropping.RandomState, Is.EqualTo(before));
        Assert.That(dropping.Forward(x, training: true).ToArray(), Is.Not.EqualTo(plain.Forward(x).ToArray()).AsCollection);
    }

    [Test]
    public void LstmDropoutRestoredStateDrawsTheSameMasksAgain()
    {
        Lstm layer = BuiltLstm(0.25f, 0.25f);
        var x = Tensor.RandomUniform([4, 7, 4], -1, 1, 3);
        layer.Forward(x, training: true);
        RandomStreamState saved = layer.RandomState;
        float[] next = layer.Forward(x, training: true).ToArray();
        layer.RandomState = saved;
        Assert.That(layer.Forward(x, training: true).ToArray(), Is.EqualTo(next).AsCollection);
    }

    [Test]
    public void LstmOptionsRoundTripThroughTheConfig()
    {
        var layer = new Lstm(12, returnSequences: true, name: "encoder", dropout: 0.2f, recurrentDropout: 0.1f, goBackwards: true, seed: 4);
        LayerConfig config = layer.GetConfig();
        var copy = (Lstm)LayerRegistry.Create(config);
        Assert.That((copy.Units, copy.ReturnSequences, copy.Dropout, copy.RecurrentDropout, copy.GoBackwards, copy.Seed, copy.Name),
            Is.EqualTo((12, true, 0.2f, 0.1f, true, 4, "encoder")));
        Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        Assert.That(layer.Describe(), Is.EqualTo("units=12, return_sequences, go_backwards, dropout=0.2, recurrent_dropout=0.1"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(4, dropout: 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Lstm(4, recurrentDropout: -0.1f));
    }

    [Test]
    public void LstmGoingBackwardsWithAMaskSkipsTheSameSteps()
    {
        // Post-padding read backwards is pre-padding: the masked layer equals the layer on the unpadded steps.
        var embedding = new Embedding(12, 4, maskZero: true, name: "emb_backwards");
        var lstm = new Lstm(5, goBackwards: true, name: "lstm_backwards");
        var model = new Sequential([6], embedding, lstm);
        model.Compile(new NanoNet.Optim.Sgd(), new MeanSquaredError(), seed: 3);
        float[] padded = model.Predict(Tensor.FromArray([4, 9, 2, 7, 0, 0], 1, 6)).ToArray();
        var plain = new Sequential([4], new Embedding(12, 4), new Lstm(5, goBackwards: true));
        plain.Compile(new NanoNet.Optim.Sgd(), new MeanSquaredError(), seed: 3);
        for (int i = 0; i < model.Parameters.Count; i++)
            model.Parameters[i].Span.CopyTo(plain.Parameters[i].Span);
        Assert.That(padded, Is.EqualTo(plain.Predict(Tensor.FromArray([4, 9, 2, 7], 1, 4)).ToArray()).Within(1e-6f).AsCollection);
    }
}
