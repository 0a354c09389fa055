using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// Recurrent layers with <c>returnState</c> and <c>initialState</c> in the Functional API: a call with several
/// outputs (output, h, c), the states' values in a model (masks, go_backwards), Bidirectional's five outputs,
/// gradient checks through the layers' states, training from a loss on the states alone, errors, the summary,
/// and an encoder–decoder that learns to reverse digit sequences.
/// </summary>
public class ReturnStateTests
{
    private static RecurrentLayer Make(string kind, int units, bool returnSequences = false, bool goBackwards = false,
        bool returnState = true, string? name = null) => kind switch
        {
            "lstm" => new Lstm(units, returnSequences, goBackwards: goBackwards, returnState: returnState, name: name),
            "gru" => new Gru(units, returnSequences, goBackwards: goBackwards, returnState: returnState, name: name),
            _ => new SimpleRnn(units, returnSequences: returnSequences, goBackwards: goBackwards, returnState: returnState, name: name),
        };

    private static readonly string[] Kinds = ["lstm", "gru", "rnn"];

    [Test]
    public void ASequentialChainRefusesALayerThatReturnsItsStatesNamingIt([ValueSource(nameof(Kinds))] string kind)
    {
        var model = new Sequential([5, 3]);
        var error = Assert.Throws<ArgumentException>(() => model.Add(Make(kind, 4, name: "encoder")));
        Assert.That(error!.Message, Does.Contain("'encoder'").And.Contain("Functional API"));
        Assert.DoesNotThrow(() => model.Add(Make(kind, 4, returnState: false)));
        Assert.Throws<ArgumentException>(() => model.Add(new Bidirectional(new Lstm(4, returnState: true))));
    }

    [Test]
    public void AnLstmCallDeconstructsIntoItsOutputAndItsStates()
    {
        var x = new Input([5, 3]);
        var lstm = new Lstm(4, returnSequences: true, returnState: true, name: "encoder");
        var (output, h, c) = lstm.Call(x);
        Assert.That(lstm.OutputCount, Is.EqualTo(3));
        Assert.That((output.OutputIndex, h.OutputIndex, c.OutputIndex), Is.EqualTo((0, 1, 2)));
        Assert.That(output.Shape.ToArray(), Is.EqualTo(new[] { 5, 4 }));
        Assert.That(h.Shape.ToArray(), Is.EqualTo(new[] { 4 }));
        Assert.That(c.Shape.ToArray(), Is.EqualTo(new[] { 4 }));
        Assert.That((output.Source, h.Source, c.Source), Is.EqualTo(("encoder", "encoder/state_h", "encoder/state_c")));
        Assert.That(h.CallOutputs, Is.EqualTo(new[] { output, h, c }));

        var e = Assert.Throws<InvalidOperationException>(() => { var (a, b) = new Lstm(4, returnState: true).Call(x); })!;
        Assert.That(e.Message, Does.Contain("has 3 outputs"));
        var (g, gh) = new Gru(4, returnState: true).Call(x);
        Assert.That(gh.Shape.ToArray(), Is.EqualTo(new[] { 4 }));
        Assert.Throws<InvalidOperationException>(() => { var (a, b) = new Dense(2).Call(g); }, "a one-output call does not deconstruct");
    }

    /// <summary>Token ids with padding (0) at the end of some sequences: the last real step is not the last step.</summary>
    private static Tensor PaddedTokens() => Tensor.FromArray(
        [3, 5, 7, 2, 9, 4,
         8, 1, 6, 0, 0, 0,
         2, 0, 0, 0, 0, 0,
         5, 5, 1, 3, 7, 0], 4, 6);

    private static readonly int[] LastRealStep = [5, 2, 0, 4];

    [Test]
    public void TheStatesAreTheLastStepsOutputAndWithAMaskTheLastRealStepsOutput(
        [ValueSource(nameof(Kinds))] string kind, [Values] bool masked, [Values] bool goBackwards)
    {
        var tokens = new Input([6]);
        SymbolicTensor embedded = new Embedding(10, 3, maskZero: masked).Call(tokens);
        RecurrentLayer recurrent = Make(kind, 4, returnSequences: true, goBackwards);
        SymbolicTensor sequence = recurrent.Call(embedded);
        var model = new Model([tokens], [.. sequence.CallOutputs]);
        model.Compile(new Sgd(0.1f), [.. sequence.CallOutputs.Select(_ => (Loss)new MeanSquaredError())], seed: 3);
        Tensor[] outputs = model.Predict([PaddedTokens()]);
        Assert.That(outputs, Has.Length.EqualTo(kind == "lstm" ? 3 : 2));
        Tensor y = outputs[0], h = outputs[1];
        for (int row = 0; row < 4; row++)
        {
            float[] state = h.Span.Slice(row * 4, 4).ToArray();
            // Processing order: the state is the sequence's last step; masked steps repeat the previous output.
            Assert.That(state, Is.EqualTo(y.Span.Slice((row * 6 + 5) * 4, 4).ToArray()), $"row {row}");
            if (masked && !goBackwards) // ... which is the output at the last real token
                Assert.That(state, Is.EqualTo(y.Span.Slice((row * 6 + LastRealStep[row]) * 4, 4).ToArray()), $"row {row}");
        }
        Assert.That(h.ToArray(), Has.Some.Not.Zero);

        // The same layer settings without return_sequences: the output is h itself.
        var plainTokens = new Input([6]);
        RecurrentLayer last = Make(kind, 4, returnSequences: false, goBackwards);
        SymbolicTensor lastOutput = last.Call(new Embedding(10, 3, maskZero: masked).Call(plainTokens));
        var lastModel = new Model([plainTokens], [.. lastOutput.CallOutputs]);
        lastModel.Compile(new Sgd(0.1f), [.. lastOutput.CallOutputs.Select(_ => (Loss)new MeanSquaredError())], seed: 3);
        Tensor[] lastOutputs = lastModel.Predict([PaddedTokens()]);
        Assert.That(lastOutputs[1].ToArray(), Is.EqualTo(lastOutputs[0].ToArray()));
    }

    [Test]
    public void ABidirectionalLstmReturnsTheMergedOutputThenEachDirectionsStates([Values] bool returnSequences)
    {
        var x = new Input([5, 3]);
        var layer = new Bidirectional(new Lstm(4, returnSequences, returnState: true), name: "both");
        var (output, forwardH, forwardC, backwardH, backwardC) = layer.Call(x);
        Assert.That(layer.OutputCount, Is.EqualTo(5));
        Assert.That(new[] { forwardH, forwardC, backwardH, backwardC }.Select(t => t.Source),
            Is.EqualTo(new[] { "both/forward_state_h", "both/forward_state_c", "both/backward_state_h", "both/backward_state_c" }));
        var model = new Model([x], [output, forwardH, forwardC, backwardH, backwardC]);
        model.Compile(new Sgd(0.1f), [.. Enumerable.Range(0, 5).Select(_ => (Loss)new MeanSquaredError())], seed: 4);
        Tensor input = Tensor.RandomUniform([3, 5, 3], -1, 1, 5);
        Tensor[] outputs = model.Predict([input]);

        RecurrentOutputs forward = ((Lstm)layer.ForwardLayer).ForwardWithStates(input, default);
        RecurrentOutputs backward = ((Lstm)layer.BackwardLayer).ForwardWithStates(input, default);
        Assert.That(outputs[1].ToArray(), Is.EqualTo(forward.Hidden!.ToArray()));
        Assert.That(outputs[2].ToArray(), Is.EqualTo(forward.Cell!.ToArray()));
        Assert.That(outputs[3].ToArray(), Is.EqualTo(backward.Hidden!.ToArray()));
        Assert.That(outputs[4].ToArray(), Is.EqualTo(backward.Cell!.ToArray()));
        Assert.That(outputs[1].ToArray(), Is.Not.EqualTo(outputs[3].ToArray()));
        if (!returnSequences) // concat: the forward half is the forward h, the backward half the backward h
            for (int row = 0; row < 3; row++)
            {
                Assert.That(outputs[0].Span.Slice(row * 8, 4).ToArray(), Is.EqualTo(outputs[1].Span.Slice(row * 4, 4).ToArray()));
                Assert.That(outputs[0].Span.Slice(row * 8 + 4, 4).ToArray(), Is.EqualTo(outputs[3].Span.Slice(row * 4, 4).ToArray()));
            }
    }

    /// <summary>Every output of a graph call of <paramref name="layer"/> side by side, (N, ·), for a gradient check.</summary>
    private static Tensor CallOutputs(Layer layer, Tensor[] inputs)
    {
        var outputs = new Tensor[layer.OutputCount];
        layer.ForwardCall(inputs, outputs, training: false);
        return Ops.Concat([.. outputs.Select(o => Ops.Reshape(o, o.Dim(0), -1))], 1);
    }

    private static Tensor MaskedInput(int seed)
    {
        Tensor x = GradientCheck.Random([3, 4, 2], seed);
        x.Mask = Tensor.FromArray([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1], 3, 4);
        return x;
    }

    [Test]
    public void GradientCheckThroughEachLayersStatesWithAMaskAndAnInitialState(
        [ValueSource(nameof(Kinds))] string kind, [Values] bool returnSequences, [Values] bool goBackwards)
    {
        RecurrentLayer layer = Make(kind, 3, returnSequences, goBackwards);
        layer.Build([4, 2], new RandomStream(6));
        Tensor x = MaskedInput(7);
        Tensor[] states = [.. Enumerable.Range(0, layer.StateCount).Select(i => GradientCheck.Random([3, 3], 8 + i))];
        Tensor[] inputs = [x, .. states, .. layer.Weights];
        GradientCheck.Check(t => CallOutputs(layer, [t[0], .. t[1..(1 + states.Length)]]), inputs);
    }

    [Test]
    public void GradientCheckThroughABidirectionalLayersStates([Values("lstm", "gru")] string kind, [Values] bool returnSequences,
        [Values] bool goBackwards, [Values] bool initialState)
    {
        var layer = new Bidirectional(Make(kind, 3, returnSequences, goBackwards));
        layer.Build([4, 2], new RandomStream(9));
        Tensor x = MaskedInput(10);
        int stateCount = kind == "lstm" ? 4 : 2;
        Tensor[] states = initialState ? [.. Enumerable.Range(0, stateCount).Select(i => GradientCheck.Random([3, 3], 11 + i))] : [];
        Tensor[] inputs = [x, .. states, .. layer.Weights];
        GradientCheck.Check(t => CallOutputs(layer, [t[0], .. t[1..(1 + states.Length)]]), inputs);
    }

    [Test]
    public void ALossOnTheStatesAloneTrainsTheLayer([ValueSource(nameof(Kinds))] string kind)
    {
        // The model's outputs are the states only: the layer's main output feeds nothing.
        var x = new Input([6, 2]);
        RecurrentLayer layer = Make(kind, 4, returnSequences: true);
        IReadOnlyList<SymbolicTensor> all = layer.Call(x).CallOutputs;
        var model = new Model([x], [.. all.Skip(1)]);
        model.Compile(new Adam(0.02f), [.. all.Skip(1).Select(_ => (Loss)new MeanSquaredError())], seed: 12);
        // Target: the state should remember the first step's features (h[0..1] = x[0]), a long-range dependency.
        Tensor inputs = Tensor.RandomUniform([128, 6, 2], -1, 1, 13);
        Tensor target = Tensor.Zeros(128, 4);
        for (int row = 0; row < 128; row++)
        {
            target[row, 0] = 0.8f * inputs[row * 12];
            target[row, 1] = 0.8f * inputs[row * 12 + 1];
        }
        Tensor[] targets = [.. all.Skip(1).Select(_ => target)];
        float[] kernelBefore = layer.Weights[0].ToArray();
        Evaluation before = model.Evaluate(new Dataset([inputs], targets));
        model.Fit(new Dataset([inputs], targets), batchSize: 32, epochs: 60, verbose: 0);
        Evaluation after = model.Evaluate(new Dataset([inputs], targets));
        TestContext.Out.WriteLine($"{kind}: loss {before.Loss} -> {after.Loss}");
        Assert.That(layer.Weights[0].ToArray(), Is.Not.EqualTo(kernelBefore), "the kernel was trained");
        Assert.That(after.Loss, Is.LessThan(before.Loss * 0.25f));
    }

    [Test]
    public void AStatefulLayerReturnsTheStateItCarriesToTheNextBatch()
    {
        var x = new Input([5, 3]);
        var lstm = new Lstm(4, stateful: true, returnState: true);
        var (output, h, c) = lstm.Call(x);
        var model = new Model([x], [output, h, c]);
        model.Compile(new Sgd(0.1f), [new MeanSquaredError(), new MeanSquaredError(), new MeanSquaredError()], seed: 14);
        Tensor batch = Tensor.RandomUniform([2, 5, 3], -1, 1, 15);
        Tensor[] first = model.Predict([batch]);
        Assert.That(first[1].ToArray(), Is.EqualTo(lstm.State!.Hidden.ToArray()));
        Assert.That(first[2].ToArray(), Is.EqualTo(lstm.State!.Cell.ToArray()));
        Tensor[] second = model.Predict([batch]);
        Assert.That(second[1].ToArray(), Is.Not.EqualTo(first[1].ToArray()), "the second batch starts from the first's state");
        lstm.ResetStates();
        Assert.That(model.Predict([batch])[1].ToArray(), Is.EqualTo(first[1].ToArray()), "after a reset, from zero again");
    }

    [Test]
    public void AWrongInitialStateIsRefusedNamingTheLayerAndTheShapes()
    {
        var x = new Input([5, 3]);
        var h = new Input([4]);
        var wide = new Input([6]);
        var decoder = new Lstm(4, name: "decoder");
        var e = Assert.Throws<ArgumentException>(() => decoder.Call(x, [h]))!;
        Assert.That(e.Message, Does.Contain("'decoder'").And.Contain("2 tensors (h, c) of shape (None, 4)").And.Contain("got 1 tensor"));
        e = Assert.Throws<ArgumentException>(() => decoder.Call(x, [h, wide]))!;
        Assert.That(e.Message, Does.Contain("'decoder'").And.Contain("state c has shape (None, 6)"));
        e = Assert.Throws<ArgumentException>(() => new Bidirectional(new Gru(4), name: "both").Call(x, [h]))!;
        Assert.That(e.Message, Does.Contain("'both'").And.Contain("2 tensors"));

        // At run time, e.g. a batch whose states have the wrong width.
        var gru = new Gru(4, name: "runtime");
        gru.Build([5, 3], new RandomStream(1));
        e = Assert.Throws<ArgumentException>(() => gru.ForwardWithStates(Tensor.Zeros(2, 5, 3), [Tensor.Zeros(2, 5)]))!;
        Assert.That(e.Message, Does.Contain("'runtime'").And.Contain("(None, 5)"));
    }

    [Test]
    public void TheSummaryListsEveryOutputOfACallAndNamesTheStatesConsumed()
    {
        var x = new Input([5, 3], "sequence");
        var (output, h, c) = new Lstm(4, returnState: true, name: "encoder").Call(x);
        SymbolicTensor both = new Concatenate(name: "joined").Call(output, c);
        var model = new Model([x], [both, h]);
        model.Compile(new Sgd(0.1f), [new MeanSquaredError(), new MeanSquaredError()]);
        string summary = model.Summary();
        TestContext.Out.WriteLine(summary);
        string[] lines = summary.Split('\n');
        int encoder = Array.FindIndex(lines, l => l.StartsWith("encoder (Lstm)", StringComparison.Ordinal));
        Assert.That(lines[encoder + 1].Trim(), Is.EqualTo("(None, 4)"), "h's shape below the output's");
        Assert.That(lines[encoder + 2].Trim(), Is.EqualTo("(None, 4)"), "c's shape below h's");
        Assert.That(lines[encoder + 3], Does.StartWith("joined (Concatenate)"));
        Assert.That(summary, Does.Contain("encoder, encoder/state_c"));
    }

    [Test]
    public void AnEncoderDecoderLearnsToReverseDigitSequences()
    {
        // Encoder: reads 4 digits (0–4), hands its final h and c to the decoder, which reads only the positions
        // 0..3 (one-hot) and must output the digits in reverse order. Without the states the decoder would see nothing
        // of the input: chance is 20% per digit.
        const int length = 4, digits = 5, units = 32, count = 600;
        var random = new Random(3);
        var source = new float[count * length * digits];
        var reversed = new float[count * length];
        for (int row = 0; row < count; row++)
            for (int step = 0; step < length; step++)
            {
                int digit = random.Next(digits);
                source[(row * length + step) * digits + digit] = 1f;
                reversed[row * length + length - 1 - step] = digit;
            }
        var positions = new float[count * length * length];
        for (int row = 0; row < count; row++)
            for (int step = 0; step < length; step++)
                positions[(row * length + step) * length + step] = 1f;

        var encoderInput = new Input([length, digits], "digits");
        var decoderInput = new Input([length, length], "positions");
        var (_, h, c) = new Lstm(units, returnState: true, name: "encoder").Call(encoderInput);
        SymbolicTensor decoded = new Lstm(units, returnSequences: true, name: "decoder").Call(decoderInput, [h, c]);
        var model = new Model([encoderInput, decoderInput], [new Dense(digits, ActivationFunction.Softmax, name: "digit").Call(decoded)]);
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed: 5);
        Tensor sourceTensor = Tensor.FromArray(source, count, length, digits), positionTensor = Tensor.FromArray(positions, count, length, length);
        Tensor targets = Tensor.FromArray(reversed, count, length);
        var train = new Dataset([sourceTensor.SliceRows(0, 500), positionTensor.SliceRows(0, 500)], [targets.SliceRows(0, 500)]);
        var test = new Dataset([sourceTensor.SliceRows(500, 100), positionTensor.SliceRows(500, 100)], [targets.SliceRows(500, 100)]);
        model.Fit(train, batchSize: 25, epochs: 40, verbose: 0);
        Evaluation evaluation = model.Evaluate(test);
        TestContext.Out.WriteLine($"held-out digit accuracy {evaluation.Accuracy}, loss {evaluation.Loss}");
        Assert.That(evaluation.Accuracy, Is.GreaterThan(0.9f));
    }
}
