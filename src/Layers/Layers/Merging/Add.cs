namespace NanoNet.Layers;

/// <summary>Adds its inputs element-wise (all of one shape): the join of a residual connection, y = x + f(x).</summary>
public sealed class Add(string? name = null) : MergeLayer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "add";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] ComputeOutputShape(int[][] shapes) => RequireSameShapes(shapes);

    /// <inheritdoc />
    protected override Tensor OnForward(IReadOnlyList<Tensor> inputs, bool training)
    {
        Tensor sum = Ops.Add(inputs[0], inputs[1]);
        for (int i = 2; i < inputs.Count; i++)
            sum = Ops.Add(sum, inputs[i]);
        return sum;
    }
}
