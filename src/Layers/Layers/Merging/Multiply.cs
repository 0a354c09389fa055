namespace NanoNet.Layers;

/// <summary>Multiplies its inputs element-wise (all of one shape), e.g. a gate applied to features.</summary>
public sealed class Multiply(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "multiply";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] ComputeOutputShape(int[][] shapes) => RequireSameShapes(shapes);

    /// <inheritdoc />
    protected override Tensor OnForward(IReadOnlyList<Tensor> inputs, bool training)
    {
        Tensor product = Ops.Multiply(inputs[0], inputs[1]);
        for (int i = 2; i < inputs.Count; i++)
            product = Ops.Multiply(product, inputs[i]);
        return product;
    }
}
