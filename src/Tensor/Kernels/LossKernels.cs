using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Softmax fused with cross-entropy, row by row. Shape legend: R = rows (samples), C = classes; logits z,
/// gradients and dense targets t are R×C row-major; class ids are R. Each row's loss is written on its own
/// (the caller weights and reduces), and the gradient written is ∂ℓᵣ/∂z of that row alone.
/// </summary>
public static class LossKernels
{
    /// <summary>
    /// Sparse targets: ℓᵣ = logsumexp(zᵣ) − zᵣ,yᵣ, computed stably as m + log Σⱼ e^(zⱼ − m) with
    /// m = maxⱼ zⱼ; gradient softmax(zᵣ) − onehot(yᵣ).
    /// </summary>
    public static void SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> rowLoss, Span<float> gradient, int classes)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            ReadOnlySpan<float> z = logits.Slice(i * classes, classes);
            Span<float> g = gradient.Slice(i * classes, classes);
            rowLoss[i] = SoftmaxRow(z, g) - z[labels[i]];
            g[labels[i]] -= 1f;
        }
    }

    /// <summary>
    /// Dense (one-hot or probability) targets: ℓᵣ = Σⱼ tⱼ·(logsumexp(zᵣ) − zⱼ) = lse·Σt − Σ t·z;
    /// gradient softmax(zᵣ)·Σt − tᵣ (softmax − t for targets summing to 1).
    /// </summary>
    public static void SoftmaxCrossEntropy(ReadOnlySpan<float> logits, ReadOnlySpan<float> targets, Span<float> rowLoss, Span<float> gradient, int classes)
    {
        for (int i = 0; i < rowLoss.Length; i++)
        {
            ReadOnlySpan<float> z = logits.Slice(i * classes, classes), t = targets.Slice(i * classes, classes);
            Span<float> g = gradient.Slice(i * classes, classes);
            float logSumExp = SoftmaxRow(z, g);
            float mass = TensorPrimitives.Sum(t);
            rowLoss[i] = logSumExp * mass - TensorPrimitives.Dot(t, z);
            TensorPrimitives.Multiply(g, mass, g);
            TensorPrimitives.Subtract(g, t, g);
        }
    }

    /// <summary>Writes softmax(z) into <paramref name="probabilities"/> and returns logsumexp(z).</summary>
    private static float SoftmaxRow(ReadOnlySpan<float> z, Span<float> probabilities) =>
        ActivationKernels.SoftmaxRow(z, probabilities); // the fused row kernel (one pass each for max, e^ and sum, scale)
}
