namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>Permute</c>: reorders the axes of each example. <see cref="Dims"/> is a permutation of
/// 1 … rank, 1-based as in Keras (the batch axis, 0, stays first): output axis k is input axis Dims[k − 1].
/// E.g. <c>new Permute([2, 1])</c> turns (N, T, F) into (N, F, T). The result is a copy.
/// </summary>
/// <remarks>Exports to ONNX as <c>Transpose(perm=[0, dims...])</c>.</remarks>
public sealed class Permute : Layer
{
    private readonly int[] _dims;

    /// <summary>A layer permuting the per-example axes by <paramref name="dims"/> (1-based).</summary>
    /// <param name="dims">A permutation of 1 … rank of the per-example shape.</param>
    /// <param name="name">The layer's name (null: a default such as "permute_1").</param>
    /// <exception cref="ArgumentException"><paramref name="dims"/> is not a permutation of 1 … its length.</exception>
    public Permute(int[] dims, string? name = null) : base(name)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length == 0 || !dims.Order().SequenceEqual(Enumerable.Range(1, dims.Length)))
            throw new ArgumentException($"Permute's dims must be a permutation of 1 … {dims.Length} (1-based; the batch axis is not included), got {Shapes.Format(dims)}.", nameof(dims));
        _dims = (int[])dims.Clone();
    }

    /// <summary>The 1-based permutation of the per-example axes.</summary>
    public ReadOnlySpan<int> Dims => _dims;

    /// <inheritdoc />
    protected internal override string DefaultName => "permute";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != _dims.Length)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (Permute, dims {Shapes.Format(_dims)}) needs examples of rank {_dims.Length}, got {Shapes.Format(inputShape)}.");
        return [.. _dims.Select(d => inputShape[d - 1])];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training)
    {
        Span<int> axes = stackalloc int[_dims.Length + 1]; // the batch axis stays first; no array per call
        _dims.CopyTo(axes[1..]);
        return Ops.Permute(x, axes);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("dims", _dims);

    /// <inheritdoc />
    public override string Describe() => $"dims={Shapes.Format(_dims)}";
}
