using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>The Bidirectional wrapper: both directions, merge modes, masks, names, config, gradients.</summary>
public class BidirectionalTests
{
    private static Tensor ReverseSteps(Tensor y)
    {
        int n = y.Dim(0), t = y.Dim(1), f = y.Dim(2);
        var reversed = Tensor.Zeros(n, t, f);
        for (int s = 0; s < n; s++)
            for (int k = 0; k < t; k++)
                y.Span.Slice((s * t + k) * f, f).CopyTo(reversed.Span.Slice((s * t + t - 1 - k) * f, f));
        return reversed;
    }

    [TestCase(false, "concat")]
    [TestCase(true, "concat")]
    [TestCase(true, "sum")]
    [TestCase(false, "mul")]
    [TestCase(true, "ave")]
    public void MergesTheForwardAndTheReversedBackwardRun(bool returnSequences, string mergeMode)
    {
        var layer = new Bidirectional(new Lstm(5, returnSequences), mergeMode);
        layer.Build([6, 3], new RandomStream(1));
        var x = Tensor.RandomUniform([4, 6, 3], -1, 1, 2);
        var forward = (Lstm)layer.ForwardLayer;
        var backward = (Lstm)layer.BackwardLayer;
        Assert.That((forward.GoBackwards, backward.GoBackwards), Is.EqualTo((false, true)));
        Tensor f = Ops.Lstm(x, forward.Kernel, forward.RecurrentKernel, forward.Bias, returnSequences);
        Tensor b = Ops.Lstm(x, backward.Kernel, backward.RecurrentKernel, backward.Bias, returnSequences, goBackwards: true);
        if (returnSequences)
            b = ReverseSteps(b);
        Tensor expected = mergeMode switch
        {
            "concat" => Ops.Concat([f, b], -1),
            "sum" => f + b,
            "mul" => f * b,
            _ => (f + b) * 0.5f,
        };
        Tensor y = layer.Forward(x);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(expected.Shape.ToArray()));
        Assert.That(layer.OutputShape.ToArray(), Is.EqualTo(expected.Shape[1..].ToArray()));
        Assert.That(y.ToArray(), Is.EqualTo(expected.ToArray()).AsCollection);
        Assert.That(forward.Kernel.ToArray(), Is.Not.EqualTo(backward.Kernel.ToArray()), "each direction has its own weights");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void GradientCheckThroughBothDirections(bool returnSequences)
    {
        var layer = new Bidirectional(new Lstm(3, returnSequences));
        layer.Build([4, 2], new RandomStream(3));
        var x = GradientCheck.Random([2, 4, 2], 4);
        Tensor[] inputs = [x, .. layer.Weights];
        GradientCheck.Check(t => layer.Forward(t[0]), inputs);
    }

    [Test]
    public void WeightsAreNamedAsKerasAndCountedOnce()
    {
        var model = new Sequential([100], new Embedding(20_000, 128), new Bidirectional(new Lstm(64, name: "lstm"), name: "bidirectional"),
            new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Adam(), new MeanSquaredError());
        Layer bidirectional = model.Layers[1];
        Assert.That(bidirectional.Weights.Select(w => w.Name), Is.EqualTo(new[]
        {
            "bidirectional/forward_lstm/kernel", "bidirectional/forward_lstm/recurrent_kernel", "bidirectional/forward_lstm/bias",
            "bidirectional/backward_lstm/kernel", "bidirectional/backward_lstm/recurrent_kernel", "bidirectional/backward_lstm/bias",
        }));
        Assert.That(bidirectional.ParameterCount, Is.EqualTo(2 * 4 * 64 * (128 + 64 + 1)), "Keras: 98,816");
        Assert.That(bidirectional.OutputShape.ToArray(), Is.EqualTo(new[] { 128 }));
        Assert.That(model.Parameters.Count, Is.EqualTo(1 + 6 + 2));
        bidirectional.Trainable = false;
        Assert.That(model.Parameters.Count, Is.EqualTo(3), "freezing the wrapper freezes both directions");
    }

    [Test]
    public void MaskedPaddingIsInvisibleToBothDirections()
    {
        var model = new Sequential([7], new Embedding(12, 4, maskZero: true), new Bidirectional(new Lstm(3, returnSequences: true)));
        model.Compile(new Sgd(), new MeanSquaredError(), seed: 5);
        var plain = new Sequential([4], new Embedding(12, 4), new Bidirectional(new Lstm(3, returnSequences: true)));
        plain.Compile(new Sgd(), new MeanSquaredError(), seed: 5);
        for (int i = 0; i < model.Parameters.Count; i++)
            model.Parameters[i].Span.CopyTo(plain.Parameters[i].Span);
        float[] masked = model.Predict(Tensor.FromArray([0, 0, 0, 4, 9, 2, 7], 1, 7)).ToArray();
        float[] unpadded = plain.Predict(Tensor.FromArray([4, 9, 2, 7], 1, 4)).ToArray();
        // Steps 3..6 of the padded run are the unpadded run's steps 0..3 (6 features each).
        Assert.That(masked[(3 * 6)..], Is.EqualTo(unpadded).Within(1e-6f).AsCollection);
    }

    [Test]
    public void ConfigRoundTripsWithTheWrappedLayer()
    {
        var layer = new Bidirectional(new Lstm(8, returnSequences: true, name: "encoder", dropout: 0.2f, seed: 3), "sum", name: "both_ways");
        layer.Build([5, 2]);
        LayerConfig config = layer.GetConfig();
        var copy = (Bidirectional)LayerRegistry.Create(config);
        copy.Build([5, 2]);
        Assert.That(copy.GetConfig().ToString(), Is.EqualTo(config.ToString()));
        Assert.That(copy.Weights.Select(w => w.Name), Is.EqualTo(layer.Weights.Select(w => w.Name)));
        Assert.That(copy.Weights[0].Name, Is.EqualTo("both_ways/forward_encoder/kernel"));
        var backward = (Lstm)copy.BackwardLayer;
        Assert.That((backward.Dropout, backward.Seed, backward.GoBackwards), Is.EqualTo((0.2f, 4, true)));
        Assert.That(copy.MergeMode, Is.EqualTo("sum"));
    }

    [Test]
    public void RejectsWhatItCannotWrap()
    {
        Assert.Throws<ArgumentException>(() => new Bidirectional(new Dense(3)));
        Assert.Throws<ArgumentException>(() => new Bidirectional(new Lstm(3), "max"));
        var built = new Lstm(3);
        built.Build([4, 2]);
        Assert.Throws<ArgumentException>(() => new Bidirectional(built));
        var e = Assert.Throws<ArgumentException>(() => new Bidirectional(new Lstm(3)).Build([4]));
        Assert.That(e!.Message, Does.Contain("Bidirectional").And.Contain("(4)"));
    }
}
