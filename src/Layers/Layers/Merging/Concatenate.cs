namespace NanoNet.Layers;

/// <summary>
/// Joins its inputs along one axis (Keras's <c>Concatenate(axis=-1)</c>: the axis counts the batch axis
/// as 0, and the batch axis itself cannot be joined); all other axes must agree.
/// </summary>
public sealed class Concatenate : MergeLayer
{
    /// <summary>Joins along <paramref name="axis"/> (default: the last, the feature axis).</summary>
    public Concatenate(int axis = -1, string? name = null) : base(name)
    {
        if (axis == 0)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, "Concatenate cannot join along the batch axis (0).");
        Axis = axis;
    }

    /// <summary>The axis joined, counting the batch axis as 0 (negative counts from the end).</summary>
    public int Axis { get; }

    /// <inheritdoc />
    protected internal override string DefaultName => "concatenate";

    /// <inheritdoc />
    protected override int[] ComputeOutputShape(int[][] shapes)
    {
        int rank = shapes[0].Length;
        int axis = SampleAxis(rank);
        var output = (int[])shapes[0].Clone();
        output[axis] = 0;
        foreach (int[] shape in shapes)
        {
            bool fits = shape.Length == rank;
            for (int d = 0; fits && d < rank; d++)
                fits = d == axis || shape[d] == shapes[0][d];
            if (!fits)
                throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (Concatenate, axis {Axis}) needs inputs that agree on every other axis, got {FormatShapes(shapes)}.");
            output[axis] += shape[axis];
        }
        return output;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(IReadOnlyList<Tensor> inputs, bool training) =>
        Ops.Concat([.. inputs], SampleAxis(InputShapes[0].Length) + 1);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("axis", Axis);

    /// <summary>The axis within one example (the batch axis removed).</summary>
    private int SampleAxis(int sampleRank)
    {
        int axis = Axis < 0 ? sampleRank + 1 + Axis : Axis;
        if (axis < 1 || axis > sampleRank)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (Concatenate): axis {Axis} is outside inputs of rank {sampleRank + 1} (with the batch axis).");
        return axis - 1;
    }
}
