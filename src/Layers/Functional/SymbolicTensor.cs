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

    internal SymbolicTensor(int[] shape, Layer? layer, SymbolicTensor[] inputs)
    {
        _shape = shape;
        Layer = layer;
        _inputs = inputs;
    }

    /// <summary>The per-example shape (without the batch axis).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The layer whose call produces this tensor, or null for an <see cref="Input"/>.</summary>
    public Layer? Layer { get; }

    /// <summary>The tensors that call was applied to (empty for an <see cref="Input"/>).</summary>
    public IReadOnlyList<SymbolicTensor> Inputs => _inputs;

    /// <summary>Whose output this is, for error messages and summaries: the layer's name (or the input's).</summary>
    public virtual string Source => Layer!.Name;

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
