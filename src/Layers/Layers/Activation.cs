namespace NanoNet.Layers;

/// <summary>A stand-alone activation layer: any <see cref="ActivationFunction"/> (softmax over the last axis).</summary>
public sealed class Activation(ActivationFunction function, string? name = null) : Layer(name), IActivatedLayer
{
    /// <inheritdoc />
    ActivationFunction IActivatedLayer.Activation => Function;

    /// <summary>The function applied.</summary>
    public ActivationFunction Function { get; } = function;

    /// <inheritdoc />
    protected internal override string DefaultName => Function.ToString().ToLowerInvariant();

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape) => inputShape;

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Activate(x, Function);

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("activation", ActivationNames.Of(Function));

    /// <inheritdoc />
    public Tensor ForwardPreActivation(Tensor x, bool training) => x;
}
