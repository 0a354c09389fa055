namespace NanoNet.Losses;

/// <summary>
/// Binary cross-entropy between 0/1 (or probability) targets t and predicted probabilities p, element by
/// element: ℓ = −[t·log p + (1 − t)·log(1 − p)], averaged over the last axis, then over the samples
/// (Keras's <c>binary_crossentropy</c>). Outputs (N, 1) with targets (N) or (N, 1), or (N, K) for K
/// independent labels.
/// </summary>
/// <remarks>
/// <para>
/// From probabilities, p is clipped to [ε, 1 − ε] with ε = 1e-7 as Keras does (no gradient where clipped):
/// ∂ℓ/∂p = (p − t) / (p(1 − p)). From logits z (p = σ(z)), the stable form
/// ℓ = max(z, 0) − z·t + log(1 + e^−|z|), whose gradient is simply ∂ℓ/∂z = σ(z) − t. When the model ends
/// in a sigmoid the training loop hands this loss the logits (<see cref="ActivationFusion"/>), as Keras's
/// TensorFlow backend does, so a Dense(1, sigmoid) output trains on the stable form.
/// </para>
/// <para>Label smoothing s moves the targets towards ½: t ← t(1 − s) + s/2.</para>
/// </remarks>
public sealed class BinaryCrossEntropy : ElementwiseLoss
{
    /// <summary>Keras's fuzz factor: probabilities are clipped to [ε, 1 − ε].</summary>
    public const float Epsilon = 1e-7f;

    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether the model's outputs are logits rather than probabilities.</param>
    /// <param name="labelSmoothing">s in [0, 1]: targets become t(1 − s) + s/2.</param>
    public BinaryCrossEntropy(bool fromLogits = false, float labelSmoothing = 0f)
    {
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "Label smoothing must be in [0, 1].");
        FromLogits = fromLogits;
        LabelSmoothing = labelSmoothing;
    }

    /// <summary>Whether predictions are logits rather than probabilities.</summary>
    public bool FromLogits { get; }

    /// <summary>The label smoothing s.</summary>
    public float LabelSmoothing { get; }

    /// <inheritdoc />
    public override string Name => "binary_crossentropy";

    /// <inheritdoc />
    public override bool IsClassification => true;

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets, Tensor? sampleWeights) =>
        Reduce(predictions, targets, sampleWeights, FromLogits);

    /// <inheritdoc />
    public override Tensor? ComputeFromLogits(ActivationFunction activation, Tensor logits, Tensor targets, Tensor? sampleWeights) =>
        activation == ActivationFunction.Sigmoid && !FromLogits ? Reduce(logits, targets, sampleWeights, fromLogits: true) : null;

    /// <inheritdoc />
    protected override float Elementwise(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, bool fromLogits)
    {
        float keep = 1f - LabelSmoothing, half = 0.5f * LabelSmoothing;
        return (float)(fromLogits
            ? Kernels.ElementwiseLossKernels.BinaryCrossEntropyFromLogits(predictions, targets, keep, half, gradient)
            : Kernels.ElementwiseLossKernels.BinaryCrossEntropy(predictions, targets, keep, half, gradient));
    }
}
