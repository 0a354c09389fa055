namespace NanoNet.Layers;

/// <summary>Subtracts its second input from its first, element-wise (both of one shape).</summary>
public sealed class Subtract(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "subtract";

    /// <inheritdoc />
    protected override int MaxInputs => 2;

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] ComputeOutputShape(int[][] shapes) => RequireSameShapes(shapes);

    /// <inheritdoc />
    protected override Tensor OnForward(IReadOnlyList<Tensor> inputs, bool training) => Ops.Subtract(inputs[0], inputs[1]);
}
