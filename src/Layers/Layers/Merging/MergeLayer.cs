using NanoNet.Autograd;

namespace NanoNet.Layers;

/// <summary>
/// A layer that combines several tensors into one (Keras's merge layers: <see cref="Add"/>,
/// <see cref="Subtract"/>, <see cref="Multiply"/>, <see cref="Concatenate"/>). Called on a list of
/// symbolic tensors; the output's mask, when any input has one, keeps a step only where every masked
/// input keeps it.
/// </summary>
public abstract class MergeLayer(string? name) : Layer(name)
{
    private int[][]? _inputShapes;

    /// <summary>The fewest inputs the layer takes (2).</summary>
    protected virtual int MinInputs => 2;

    /// <summary>The most inputs the layer takes.</summary>
    protected virtual int MaxInputs => int.MaxValue;

    /// <summary>The per-example shapes of the inputs (set when built).</summary>
    public IReadOnlyList<int[]> InputShapes => _inputShapes ?? throw NotBuilt();

    /// <summary>Applies the layer to several symbolic tensors, building it on the first call.</summary>
    /// <exception cref="ArgumentException">Too few or too many inputs, or shapes that do not combine; the message names the layer and the shapes.</exception>
    public SymbolicTensor Call(params SymbolicTensor[] inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Length < MinInputs || inputs.Length > MaxInputs)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' ({GetType().Name}) takes {Describe(MinInputs, MaxInputs)} inputs, got {inputs.Length}.");
        int[][] shapes = [.. inputs.Select(i => (i ?? throw new ArgumentNullException(nameof(inputs))).Shape.ToArray())];
        BuildFor(shapes);
        return new SymbolicTensor(OutputShape.ToArray(), this, (SymbolicTensor[])inputs.Clone());
    }

    /// <summary>A merge layer needs several inputs: use <see cref="Call(SymbolicTensor[])"/> with two or more.</summary>
    public override SymbolicTensor Call(SymbolicTensor input) =>
        throw new ArgumentException($"Layer '{Name}' ({GetType().Name}) merges {Describe(MinInputs, MaxInputs)} inputs; call it with a list of symbolic tensors.");

    /// <summary>Builds the layer for the given per-example input shapes (checks they combine).</summary>
    public void BuildFor(int[][] shapes)
    {
        EnsureName();
        if (_inputShapes is not null)
        {
            if (shapes.Length != _inputShapes.Length || shapes.Zip(_inputShapes).Any(p => !p.First.AsSpan().SequenceEqual(p.Second)))
                throw new ArgumentException($"Layer '{Name}' was built for inputs {FormatShapes(_inputShapes)} and cannot be called on {FormatShapes(shapes)}.");
            return;
        }
        int[] output = ComputeOutputShape(shapes);
        _inputShapes = shapes;
        SetBuilt(shapes[0], output);
    }

    /// <summary>Checks the per-example input shapes combine and returns the output shape.</summary>
    protected abstract int[] ComputeOutputShape(int[][] shapes);

    /// <summary>Runs the layer on a batch of each input (shapes checked against the build), combining their masks.</summary>
    public Tensor Forward(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        IReadOnlyList<int[]> expected = InputShapes;
        if (inputs.Count != expected.Count)
            throw new ArgumentException($"Layer '{Name}' expects {expected.Count} inputs, got {inputs.Count}.");
        for (int i = 0; i < inputs.Count; i++)
            if (inputs[i].Rank != expected[i].Length + 1 || !inputs[i].Shape[1..].SequenceEqual(expected[i]))
                throw new ArgumentException($"Layer '{Name}' input {i} expects shape {Shapes.FormatBatched(expected[i])} but got {Shapes.Format(inputs[i].Shape)}.");
        Tensor y = OnForward(inputs, training);
        y.Mask = OutputMask(inputs);
        return y;
    }

    /// <summary>The output's mask: by default a step is kept only where every masked input keeps it.</summary>
    protected virtual Tensor? OutputMask(IReadOnlyList<Tensor> inputs) => CombinedMask(inputs);

    /// <summary>The forward computation on inputs whose shapes have been checked.</summary>
    protected abstract Tensor OnForward(IReadOnlyList<Tensor> inputs, bool training);

    /// <summary>Not used by merge layers (they build from several shapes).</summary>
    protected sealed override int[] OnBuild(int[] inputShape) =>
        throw new InvalidOperationException($"Layer '{Name}' ({GetType().Name}) is built from several inputs: call it on a list of symbolic tensors.");

    /// <summary>Not used by merge layers (they run on several tensors).</summary>
    protected sealed override Tensor OnForward(Tensor x, bool training) =>
        throw new InvalidOperationException($"Layer '{Name}' ({GetType().Name}) merges several tensors: use Forward(inputs).");

    /// <summary>Throws unless every shape equals the first (what element-wise merges need).</summary>
    private protected int[] RequireSameShapes(int[][] shapes)
    {
        foreach (int[] shape in shapes)
            if (!shape.AsSpan().SequenceEqual(shapes[0]))
                throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' ({GetType().Name}) needs inputs of one shape, got {FormatShapes(shapes)}.");
        return shapes[0];
    }

    private static Tensor? CombinedMask(IReadOnlyList<Tensor> inputs)
    {
        Tensor? mask = null;
        using (Tape.NoGrad())
            foreach (Tensor input in inputs)
                if (input.Mask is { } m)
                    mask = mask is null ? m : Ops.Multiply(mask, m);
        return mask;
    }

    private protected static string FormatShapes(IEnumerable<int[]> shapes) =>
        string.Join(" and ", shapes.Select(s => Shapes.FormatBatched(s)));

    private static string Describe(int min, int max) =>
        max == int.MaxValue ? $"{min} or more" : min == max ? $"exactly {min}" : $"{min} to {max}";
}
