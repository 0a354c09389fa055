namespace NanoNet.Losses;

/// <summary>
/// Kullback–Leibler divergence of the predicted distribution p from the target distribution t, per
/// sample ℓ = Σⱼ tⱼ·log(tⱼ/pⱼ) over the last axis (a sum, as Keras's <c>kl_divergence</c>), with both
/// clipped to [ε, 1], ε = 1e-7, as Keras does. Backward: ∂ℓ/∂pⱼ = −tⱼ/pⱼ (0 where p is clipped).
/// </summary>
public sealed class KLDivergence : ElementwiseLoss
{
    /// <inheritdoc />
    public override string Name => "kl_divergence";

    /// <inheritdoc />
    protected override bool AveragesLastAxis => false;

    /// <inheritdoc />
    protected override float Elementwise(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, bool fromLogits) =>
        (float)Kernels.ElementwiseLossKernels.KLDivergence(predictions, targets, gradient);
}
