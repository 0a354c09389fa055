namespace NanoNet.Layers;

/// <summary>A stand-alone activation layer: ReLU, sigmoid, tanh or softmax (over the last axis).</summary>
public sealed class Activation(ActivationFunction function, string? name = null) : Layer(name), IActivatedLayer
{
    /// <inheritdoc />
    ActivationFunction IActivatedLayer.Activation => Function;

    /// <summary>The function applied.</summary>
    public ActivationFunction Function { get; } = function;

    /// <inheritdoc />
    protected internal override string DefaultName => Function.ToString().ToLowerInvariant();

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape, RandomStream rng) => inputShape;

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Activate(x, Function);

    /// <inheritdoc />
    public Tensor ForwardPreActivation(Tensor x, bool training) => x;
}

/// <summary>Flattens each example to a vector: (N, d1, d2, ...) → (N, d1·d2·...). A view, no copy.</summary>
public sealed class Flatten(string? name = null) : Layer(name)
{
    /// <inheritdoc />
    protected internal override string DefaultName => "flatten";

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape, RandomStream rng) => [Shapes.Product(inputShape)];

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Reshape(x, x.Dim(0), OutputShape[0]);
}
