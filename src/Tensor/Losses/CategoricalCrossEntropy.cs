using System.Numerics.Tensors;
using NanoNet.Kernels;

namespace NanoNet.Losses;

/// <summary>
/// Cross-entropy between one-hot (or probability) targets t and predicted class probabilities p, per
/// sample ℓ = −Σⱼ tⱼ·log pⱼ over the last axis (Keras's <c>categorical_crossentropy</c>). Predictions and
/// targets are (N, C), or (N, T, C).
/// </summary>
/// <remarks>
/// <para>
/// From logits z the fused op computes ℓ = logsumexp(z)·Σt − Σ t·z with gradient softmax(z)·Σt − t (the
/// familiar softmax − t for targets summing to 1); the training loop hands this loss the logits when the
/// model ends in a softmax. From probabilities, as Keras: each row is rescaled to sum to 1 (q = p/Σp) and
/// clipped to [ε, 1 − ε], ε = 1e-7; then with a = t/q where q is not clipped (0 where it is),
/// ∂ℓ/∂pⱼ = (Σₖ aₖqₖ − aⱼ)/Σp.
/// </para>
/// <para>Label smoothing s: t ← t(1 − s) + s/C.</para>
/// </remarks>
public sealed class CategoricalCrossEntropy : PerSampleLoss
{
    /// <summary>Creates the loss.</summary>
    /// <param name="fromLogits">Whether the model's outputs are logits rather than probabilities.</param>
    /// <param name="labelSmoothing">s in [0, 1]: targets become t(1 − s) + s/C.</param>
    public CategoricalCrossEntropy(bool fromLogits = false, float labelSmoothing = 0f)
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
    public override string Name => "categorical_crossentropy";

    /// <inheritdoc />
    public override bool IsClassification => true;

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets, Tensor? sampleWeights) =>
        Reduce(predictions, targets, sampleWeights, FromLogits);

    /// <inheritdoc />
    public override Tensor? ComputeFromSoftmaxLogits(Tensor logits, Tensor targets) => ComputeFromLogits(ActivationFunction.Softmax, logits, targets, null);

    /// <inheritdoc />
    public override Tensor? ComputeFromLogits(ActivationFunction activation, Tensor logits, Tensor targets, Tensor? sampleWeights) =>
        activation == ActivationFunction.Softmax && !FromLogits ? Reduce(logits, targets, sampleWeights, fromLogits: true) : null;

    /// <inheritdoc />
    protected override void SampleLosses(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns,
        Span<float> sampleLoss, Span<float> gradient, bool fromLogits)
    {
        if (LabelSmoothing > 0f)
        {
            Span<float> smoothed = Tensor.Empty(targets.Length).Span;
            TensorPrimitives.Multiply(targets, 1f - LabelSmoothing, smoothed);
            TensorPrimitives.Add(smoothed, LabelSmoothing / columns, smoothed);
            targets = smoothed;
        }
        if (fromLogits)
        {
            LossKernels.SoftmaxCrossEntropy(predictions, targets, sampleLoss, gradient, columns);
            return;
        }
        for (int r = 0; r < sampleLoss.Length; r++)
            sampleLoss[r] = FromProbabilities(predictions.Slice(r * columns, columns), targets.Slice(r * columns, columns), gradient.Slice(r * columns, columns));
    }

    /// <summary>One row from probabilities: −Σ t·log clip(p/Σp), and its gradient (see the remarks).</summary>
    private static float FromProbabilities(ReadOnlySpan<float> p, ReadOnlySpan<float> t, Span<float> gradient)
    {
        const float epsilon = BinaryCrossEntropy.Epsilon;
        float total = TensorPrimitives.Sum(p);
        double loss = 0, weighted = 0;
        for (int j = 0; j < p.Length; j++)
        {
            float q = p[j] / total, clipped = Math.Clamp(q, epsilon, 1f - epsilon);
            loss -= t[j] * MathF.Log(clipped);
            float a = clipped == q ? t[j] / q : 0f;
            gradient[j] = a; // aⱼ for now
            weighted += a * q;
        }
        for (int j = 0; j < p.Length; j++)
            gradient[j] = ((float)weighted - gradient[j]) / total;
        return (float)loss;
    }
}
