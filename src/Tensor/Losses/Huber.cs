namespace NanoNet.Losses;

/// <summary>
/// Huber loss (Keras's <c>huber</c>), element-wise on d = p − t and averaged over the last axis:
/// ½d² where |d| ≤ δ, δ·(|d| − ½δ) beyond: quadratic near the target, linear (robust to outliers) far
/// from it. Backward: ∂ℓ/∂p = d inside, δ·sign(d) beyond.
/// </summary>
public sealed class Huber : ElementwiseLoss
{
    /// <summary>Creates the loss with threshold <paramref name="delta"/> (Keras's default 1).</summary>
    public Huber(float delta = 1f)
    {
        if (!(delta > 0f) || float.IsInfinity(delta))
            throw new ArgumentOutOfRangeException(nameof(delta), delta, "Huber's delta must be a positive finite number.");
        Delta = delta;
    }

    /// <summary>Where the loss turns from quadratic to linear.</summary>
    public float Delta { get; }

    /// <inheritdoc />
    public override string Name => "huber_loss";

    /// <inheritdoc />
    protected override float Elementwise(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, bool fromLogits) =>
        (float)Kernels.ElementwiseLossKernels.Huber(predictions, targets, Delta, gradient);
}
