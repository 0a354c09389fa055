namespace NanoNet.Layers;

/// <summary>Flattens each example to a vector: (N, d1, d2, ...) → (N, d1·d2·...). A view, no copy.</summary>
public sealed class Flatten(string? name = null) : Layer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "flatten";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape) => [Shapes.Product(inputShape)];

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Reshape(x, x.Dim(0), OutputShape[0]);
}
