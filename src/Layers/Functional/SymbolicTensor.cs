namespace NanoNet.Layers;

/// <summary>
/// A tensor in a model's graph before any data flows: its per-example shape and where it comes from
/// (the layer call that produces it and that call's inputs, or an <see cref="Input"/>). Calling layers
/// on symbolic tensors builds the graph that <see cref="Model"/> then runs (Keras's KerasTensor).
/// </summary>
/// <example>
/// <code>
/// var pixels = new Input([32, 32, 3]);
/// SymbolicTensor h = new Conv2D(32, 3, activation: ActivationFunction.Relu).Call(pixels);
/// h = new Add().Call(h, new Conv2D(32, 3, padding: "same").Call(h));   // a residual connection
/// var model = new Model(pixels, new Dense(10, ActivationFunction.Softmax).Call(new Flatten().Call(h)));
/// </code>
/// </example>
public class SymbolicTensor
{
    private readonly int[] _shape;
    private readonly SymbolicTensor[] _inputs;

    // Every output of the call that produced this tensor, when it produced several (a recurrent layer with
    // return_state: output, h, c); null for the usual call with one output.
    private SymbolicTensor[]? _callOutputs;

    internal SymbolicTensor(int[] shape, Layer? layer, SymbolicTensor[] inputs)
    {
        _shape = shape;
        Layer = layer;
        _inputs = inputs;
    }

    /// <summary>The outputs of one call of <paramref name="layer"/> on <paramref name="inputs"/> (built): one per <see cref="Layer.OutputCount"/>, the first returned.</summary>
    internal static SymbolicTensor ForCall(Layer layer, SymbolicTensor[] inputs)
    {
        var outputs = new SymbolicTensor[layer.OutputCount];
        for (int i = 0; i < outputs.Length; i++)
            outputs[i] = new SymbolicTensor(layer.OutputShapeAt(i), layer, inputs) { OutputIndex = i };
        foreach (SymbolicTensor output in outputs)
            output._callOutputs = outputs;
        return outputs[0];
    }

    /// <summary>Which output of its layer call this is: 0 for the main (or only) output, 1, 2, ... for the others (e.g. an LSTM's h and c).</summary>
    public int OutputIndex { get; private init; }

    /// <summary>Every output of the layer call that produced this tensor, in order (just this tensor for a call with one output).</summary>
    public IReadOnlyList<SymbolicTensor> CallOutputs => _callOutputs ?? [this];

    /// <summary>The call's first output, which stands for the call itself (a model runs each call once, whichever outputs it uses).</summary>
    internal SymbolicTensor FirstOfCall => _callOutputs?[0] ?? this;

    /// <summary>
    /// Deconstructs a call's outputs, Keras's <c>output, h = GRU(..., return_state=True)(x)</c>:
    /// <c>var (output, h) = new Gru(32, returnState: true).Call(x)</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The call does not have exactly that many outputs.</exception>
    public void Deconstruct(out SymbolicTensor first, out SymbolicTensor second)
    {
        SymbolicTensor[] outputs = OutputsOfCall(2);
        (first, second) = (outputs[0], outputs[1]);
    }

    /// <summary>Deconstructs a call's three outputs: <c>var (output, h, c) = new Lstm(64, returnState: true).Call(x)</c>.</summary>
    /// <exception cref="InvalidOperationException">The call does not have exactly three outputs.</exception>
    public void Deconstruct(out SymbolicTensor first, out SymbolicTensor second, out SymbolicTensor third)
    {
        SymbolicTensor[] outputs = OutputsOfCall(3);
        (first, second, third) = (outputs[0], outputs[1], outputs[2]);
    }

    /// <summary>Deconstructs a call's five outputs: <c>var (output, forwardH, forwardC, backwardH, backwardC) = new Bidirectional(new Lstm(64, returnState: true)).Call(x)</c>.</summary>
    /// <exception cref="InvalidOperationException">The call does not have exactly five outputs.</exception>
    public void Deconstruct(out SymbolicTensor first, out SymbolicTensor second, out SymbolicTensor third, out SymbolicTensor fourth, out SymbolicTensor fifth)
    {
        SymbolicTensor[] outputs = OutputsOfCall(5);
        (first, second, third, fourth, fifth) = (outputs[0], outputs[1], outputs[2], outputs[3], outputs[4]);
    }

    private SymbolicTensor[] OutputsOfCall(int wanted)
    {
        int count = _callOutputs?.Length ?? 1;
        if (count != wanted || OutputIndex != 0)
            throw new InvalidOperationException(
                $"Cannot deconstruct '{Source}' into {wanted} tensors: its call of layer '{Layer?.Name ?? Source}' has {count} output{(count == 1 ? "" : "s")}" +
                (OutputIndex != 0 ? $" and this is output {OutputIndex}, not the call's result" : "") + ".");
        return _callOutputs!;
    }

    /// <summary>The per-example shape (without the batch axis).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The layer whose call produces this tensor, or null for an <see cref="Input"/>.</summary>
    public Layer? Layer { get; }

    /// <summary>The tensors that call was applied to (empty for an <see cref="Input"/>).</summary>
    public IReadOnlyList<SymbolicTensor> Inputs => _inputs;

    /// <summary>Whose output this is, for error messages, summaries and metric names: the layer's name (or the input's), then for a call's later outputs their name, e.g. "lstm/state_h".</summary>
    public virtual string Source => OutputIndex == 0 ? Layer!.Name : $"{Layer!.Name}/{Layer.OutputName(OutputIndex)}";

    /// <summary>E.g. <c>dense_1 (None, 64)</c>.</summary>
    public override string ToString() => $"{Source} {Shapes.FormatBatched(_shape)}";
}

/// <summary>A model input: a symbolic tensor with a per-example shape that data is fed into (Keras <c>Input(shape)</c>).</summary>
public sealed class Input : SymbolicTensor
{
    private static int s_unnamed;

    /// <summary>Declares an input of per-example <paramref name="shape"/> (the batch axis is implicit).</summary>
    public Input(int[] shape, string? name = null)
        : base((int[])Shapes.Checked(shape).Clone(), null, [])
    {
        if (name is null)
        {
            int used = Interlocked.Increment(ref s_unnamed) - 1;
            name = used == 0 ? "input" : $"input_{used}";
        }
        Name = name;
    }

    /// <summary>The input's name (shown in summaries and errors).</summary>
    public string Name { get; }

    /// <inheritdoc />
    public override string Source => Name;
}
