namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>Reshape</c>: each example to <see cref="TargetShape"/> (the per-example shape, without the
/// batch axis; one entry may be −1, inferred from the element count). A view, no copy.
/// </summary>
/// <remarks>Exports to ONNX as <c>Reshape(x, [0, target...])</c> (0 keeps the batch size).</remarks>
public sealed class Reshape : Layer
{
    private readonly int[] _targetShape;

    /// <summary>A layer reshaping each example to <paramref name="targetShape"/>.</summary>
    /// <param name="targetShape">The per-example output shape; positive sizes, with at most one −1.</param>
    /// <param name="name">The layer's name (null: a default such as "reshape_1").</param>
    /// <exception cref="ArgumentException">The shape is empty, has a size below −1 or 0, or more than one −1.</exception>
    public Reshape(int[] targetShape, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(targetShape);
        if (targetShape.Length == 0 || targetShape.Any(d => d == 0 || d < -1) || targetShape.Count(d => d == -1) > 1)
            throw new ArgumentException($"A Reshape target shape needs positive sizes with at most one -1, got {Shapes.Format(targetShape)}.", nameof(targetShape));
        _targetShape = (int[])targetShape.Clone();
    }

    /// <summary>The per-example target shape as given (possibly with a −1).</summary>
    public ReadOnlySpan<int> TargetShape => _targetShape;

    /// <inheritdoc />
    protected internal override string DefaultName => "reshape";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        int elements = Shapes.Product(inputShape);
        int[] resolved = (int[])_targetShape.Clone();
        int inferred = Array.IndexOf(resolved, -1);
        if (inferred >= 0)
        {
            resolved[inferred] = 1;
            int known = Shapes.Product(resolved);
            resolved[inferred] = elements % known == 0 ? elements / known : -1;
        }
        if (resolved.Contains(-1) || Shapes.Product(resolved) != elements)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (Reshape) cannot reshape examples of shape {Shapes.Format(inputShape)} " +
                $"({elements} elements) to {Shapes.Format(_targetShape)}.");
        return resolved;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training)
    {
        ReadOnlySpan<int> perExample = OutputShape;
        Span<int> shape = stackalloc int[perExample.Length + 1]; // no array per call
        shape[0] = x.Dim(0);
        perExample.CopyTo(shape[1..]);
        return Ops.Reshape(x, shape);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("target_shape", _targetShape);

    /// <inheritdoc />
    public override string Describe() => $"target_shape={Shapes.Format(_targetShape)}";
}
