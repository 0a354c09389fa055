namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>GlobalMaxPooling1D</c>: the maximum over the steps of each example, (N, T, F) → (N, F). No weights.
/// </summary>
/// <remarks>Exports to ONNX as <c>ReduceMax(axes=[1], keepdims=0)</c>.</remarks>
public sealed class GlobalMaxPooling1D(string? name = null) : Layer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "global_max_pooling1d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 2)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (GlobalMaxPooling1D) takes sequences (T, F) per example, got {Shapes.Format(inputShape)}.");
        return [inputShape[^1]];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Max(x, [1], keepDims: false);
}
