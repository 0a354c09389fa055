using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Onnx.Tests;

/// <summary>
/// The recurrent layers in ONNX Runtime: LSTM, GRU (linear_before_reset=1, Keras' reset_after) and RNN, each
/// forwards and with go_backwards (direction "reverse", the sequence flipped to Keras' processing order), and
/// Bidirectional with every merge mode; the final states (return_state: ONNX's Y_h, Y_c) and initial states
/// (initial_state: initial_h, initial_c) of each, in encoder–decoder graphs.
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
        return OnnxAgreement.MaxAbsError(model, [.. model.Inputs.Select((input, i) => OnnxAgreement.RandomBatch(input, Rows, seed + 100 + i, -2f, 2f))]);
    }

    private static RecurrentLayer Make(string kind, int units, bool returnSequences, bool goBackwards, bool returnState = false) => kind switch
    {
        "lstm" => new Lstm(units, returnSequences, goBackwards: goBackwards, dropout: 0.3f, returnState: returnState),
        "gru" => new Gru(units, returnSequences, goBackwards: goBackwards, recurrentDropout: 0.3f, returnState: returnState),
        "tanh" => new SimpleRnn(units, returnSequences: returnSequences, goBackwards: goBackwards, returnState: returnState),
        _ => new SimpleRnn(units, ActivationFunction.Relu, returnSequences, goBackwards: goBackwards, returnState: returnState),
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
    public void EachRecurrentLayersFinalStates([ValueSource(nameof(Kinds))] string kind, [Values] bool returnSequences, [Values] bool goBackwards)
    {
        var x = new Input([7, 3]);
        IReadOnlyList<SymbolicTensor> outputs = Make(kind, 6, returnSequences, goBackwards, returnState: true).Call(x).CallOutputs;
        var model = new Model([x], [.. outputs]);
        Assert.That(model.Outputs, Has.Count.EqualTo(kind == "lstm" ? 3 : 2));
        Assert.That(Agreement(model), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void AnEncoderDecoderStartingFromTheEncodersStates([ValueSource(nameof(Kinds))] string kind, [Values] bool goBackwards)
    {
        var source = new Input([6, 3], "source");
        var target = new Input([4, 2], "target");
        IReadOnlyList<SymbolicTensor> encoder = Make(kind, 5, returnSequences: false, goBackwards, returnState: true).Call(source).CallOutputs;
        SymbolicTensor decoded = Make(kind, 5, returnSequences: true, goBackwards: false).Call(target, [.. encoder.Skip(1)]);
        // The decoder's output, and the encoder's states as outputs of their own too.
        var model = new Model([source, target], [new Dense(2).Call(decoded), .. encoder.Skip(1)]);
        Assert.That(Agreement(model), Is.LessThanOrEqualTo(OnnxAgreement.Tolerance));
    }

    [Test]
    public void BidirectionalStatesAndInitialStates([Values("lstm", "gru")] string kind, [Values("concat", "sum")] string mergeMode,
        [Values] bool returnSequences)
    {
        var source = new Input([6, 3], "source");
        var target = new Input([5, 4], "target");
        IReadOnlyList<SymbolicTensor> encoder = new Bidirectional(Make(kind, 4, returnSequences: false, goBackwards: false, returnState: true))
            .Call(source).CallOutputs;
        SymbolicTensor decoded = new Bidirectional(Make(kind, 4, returnSequences, goBackwards: false), mergeMode).Call(target, [.. encoder.Skip(1)]);
        var model = new Model([source, target], [decoded, .. encoder]);
        Assert.That(model.Outputs, Has.Count.EqualTo(kind == "lstm" ? 6 : 4));
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
