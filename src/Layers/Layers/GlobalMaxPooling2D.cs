namespace NanoNet.Layers;

/// <summary>
/// Keras's <c>GlobalMaxPooling2D</c>: the maximum over the height and width of each example, (N, H, W, C) → (N, C). No weights.
/// </summary>
/// <remarks>Exports to ONNX as <c>ReduceMax(axes=[1, 2], keepdims=0)</c>.</remarks>
public sealed class GlobalMaxPooling2D(string? name = null) : Layer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "global_max_pooling2d";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        if (inputShape.Length != 3)
            throw new ArgumentException($"Layer '{(Name.Length > 0 ? Name : DefaultName)}' (GlobalMaxPooling2D) takes images (H, W, C) per example, got {Shapes.Format(inputShape)}.");
        return [inputShape[^1]];
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Max(x, [1, 2], keepDims: false);
}
