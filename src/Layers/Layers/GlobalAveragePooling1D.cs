namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>GlobalAveragePooling1D</c>: the mean over the steps of each example, (N, T, F) → (N, F). No weights.
/// </summary>
/// <remarks>Exports to ONNX as <c>ReduceMean(axes=[1], keepdims=0)</c>.</remarks>
public sealed class GlobalAveragePooling1D(string? name = null) : Layer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "global_average_pooling1d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 2)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (GlobalAveragePooling1D) takes sequences (T, F) per example, got {Shapes.Format(inputShape)}.");
        return [inputShape[^1]];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Mean(x, [1], keepDims: false);
}
