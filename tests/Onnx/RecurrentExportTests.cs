using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Onnx.Tests;

/// <summary>
/// The recurrent layers in ONNX Runtime: LSTM, GRU (linear_before_reset=1, Keras' reset_after) and RNN, each
/// forwards and with go_backwards (direction "reverse", the sequence flipped to Keras' processing order), and
/// Bidirectional with every merge mode.
/// </summary>
public class RecurrentExportTests
{
    private const int Rows = 5;

    private static float Agreement(Model model, int seed = 1)
    {
        OnnxAgreement.Compiled(model, seed);
        var random = new Random(seed + 7);
        foreach (Tensor weight in model.Weights) // Compiled randomises 1-D biases; give the GRU's (2, 3U) bias values too
            if (weight.Name!.EndsWith("/bias", StringComparison.Ordinal) && weight.Rank == 2)
                foreach (ref float value in weight.Span)
                    value = (float)(random.NextDouble() - 0.5);
        return OnnxAgreement.MaxAbsError(model, OnnxAgreement.RandomBatch(model.Inputs[0], Rows, seed + 100, -2f, 2f));
    }

    private static RecurrentLayer Make(string kind, int units, bool returnSequences, bool goBackwards) => kind switch
    {
        "lstm" => new Lstm(units, returnSequences, goBackwards: goBackwards, dropout: 0.3f),
        "gru" => new Gru(units, returnSequences, goBackwards: goBackwards, recurrentDropout: 0.3f),
        "tanh" => new SimpleRnn(units, returnSequences: returnSequences, goBackwards: goBackwards),
        _ => new SimpleRnn(units, ActivationFunction.Relu, returnSequences, goBackwards: goBackwards),
    };

    private static readonly string[] Kinds = ["lstm", "gru", "tanh", "relu"];

    [Test]
    public void EachRecurrentLayerForwardsAndBackwards([ValueSource(nameof(Kinds))] string kind, [Values] bool returnSequences,
        [Values] bool goBackwards)
    {
        var model = new Sequential([7, 3], Make(kind, 6, returnSequences, goBackwards));
        Assert.That(Agreement(model), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void BidirectionalInEveryMergeMode([Values("concat", "sum", "mul", "ave")] string mergeMode, [Values] bool returnSequences,
        [Values("lstm", "gru", "tanh")] string kind)
    {
        var model = new Sequential([6, 4], new Bidirectional(Make(kind, 5, returnSequences, goBackwards: false), mergeMode));
        Assert.That(Agreement(model), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void TheKerasBidirectionalImdbModel()
    {
        var model = new Sequential([20], new Embedding(100, 16), new Bidirectional(new Lstm(8)), new Dropout(0.5f),
            new Dense(1, ActivationFunction.Sigmoid));
        OnnxAgreement.Compiled(model);
        Tensor ids = OnnxAgreement.RandomIds(model.Inputs[0], Rows, 100, 3);
        Assert.That(OnnxAgreement.MaxAbsError(model, ids), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void RefusesWhatOnnxCannotExpress()
    {
        Model linear = OnnxAgreement.Compiled(new Sequential([5, 2], new SimpleRnn(3, ActivationFunction.Linear, name: "affine")));
        var e = Assert.Throws<NotSupportedException>(() => linear.ExportOnnx(Stream.Null))!;
        Assert.That(e.Message, Does.Contain("'affine'").And.Contain("linear"));
        Model stateful = OnnxAgreement.Compiled(new Sequential([5, 2], new Gru(3, stateful: true, name: "memory")));
        e = Assert.Throws<NotSupportedException>(() => stateful.ExportOnnx(Stream.Null))!;
        Assert.That(e.Message, Does.Contain("'memory'").And.Contain("stateful"));
        Model masked = OnnxAgreement.Compiled(new Sequential([8], new Embedding(30, 4, maskZero: true, name: "words"),
            new Bidirectional(new Gru(3), name: "reader")));
        e = Assert.Throws<NotSupportedException>(() => masked.ExportOnnx(Stream.Null))!;
        Assert.That(e.Message, Does.Contain("'reader'").And.Contain("'words'"));
    }
}
