namespace NanoNet.Layers;

/// <summary>Keras's <c>LeakyReLU</c> layer: y = x for x &gt; 0, else negativeSlope·x (Keras's default slope 0.3).</summary>
public sealed class LeakyRelu(float negativeSlope = 0.3f, string? name = null) : Layer(name)
{
    /// <summary>The slope below zero.</summary>
    public float NegativeSlope { get; } = float.IsFinite(negativeSlope) && negativeSlope >= 0f ? negativeSlope
        : throw new ArgumentOutOfRangeException(nameof(negativeSlope), negativeSlope, "LeakyReLU's slope must be a finite number ≥ 0.");

    /// <inheritdoc />
    protected internal override string DefaultName => "leaky_re_lu";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape) => inputShape;

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.LeakyRelu(x, NegativeSlope);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("negative_slope", NegativeSlope);
}

/// <summary>Keras's <c>ELU</c> layer: y = x for x &gt; 0, else α·(eˣ − 1) (α = 1 by default).</summary>
public sealed class Elu(float alpha = 1f, string? name = null) : Layer(name)
{
    /// <summary>α, the negative saturation value.</summary>
    public float Alpha { get; } = float.IsFinite(alpha) ? alpha : throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "ELU's alpha must be finite.");

    /// <inheritdoc />
    protected internal override string DefaultName => "elu";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape) => inputShape;

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Elu(x, Alpha);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("alpha", Alpha);
}

/// <summary>
/// Keras's <c>Softmax</c> layer: softmax over <see cref="Axis"/> of the batched tensor (−1, the last, by
/// default; axis 0, the batch, is refused).
/// </summary>
public sealed class Softmax(int axis = -1, string? name = null) : Layer(name)
{
    /// <summary>The axis of the batched input (N, ...) the probabilities sum to 1 over.</summary>
    public int Axis { get; } = axis;

    /// <inheritdoc />
    protected internal override string DefaultName => "softmax";

    /// <inheritdoc />
    public override bool SupportsMasking => true;

    /// <inheritdoc />
    protected override int[] OnBuild(int[] inputShape)
    {
        int rank = inputShape.Length + 1;
        if (Axis < -rank || Axis >= rank || Axis == 0 || Axis == -rank)
            throw new ArgumentException(
                $"Layer '{Name}' (Softmax): axis {Axis} is not an axis of the batched input {Shapes.FormatBatched(inputShape)} other than the batch axis.");
        return inputShape;
    }

    /// <inheritdoc />
    protected override Tensor OnForward(Tensor x, bool training) => Ops.Softmax(x, Axis);

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig().Set("axis", Axis);
}
