using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Loss kernels. Shape legend: N = batch rows, C = classes; logits and probabilities are N×C row-major.
/// </summary>
public static class LossKernels
{
    /// <summary>
    /// Softmax fused with sparse categorical cross-entropy. Writes the softmax probabilities and
    /// returns the mean loss: (1/N) Σᵢ [log Σⱼ e^zᵢⱼ − zᵢ,yᵢ], computed stably as
    /// lse(z) = m + log Σⱼ e^(zⱼ − m) with m = maxⱼ zⱼ.
    /// </summary>
    public static float SoftmaxCrossEntropyForward(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, Span<float> probabilities, int classes)
    {
        int rows = labels.Length;
        double total = 0;
        for (int i = 0; i < rows; i++)
        {
            ReadOnlySpan<float> z = logits.Slice(i * classes, classes);
            Span<float> p = probabilities.Slice(i * classes, classes);
            float max = TensorPrimitives.Max(z);
            TensorPrimitives.Subtract(z, max, p);
            TensorPrimitives.Exp(p, p);
            float sum = TensorPrimitives.Sum<float>(p);
            TensorPrimitives.Divide(p, sum, p);
            float logSumExp = max + MathF.Log(sum);
            total += logSumExp - z[labels[i]];
        }
        return rows == 0 ? 0f : (float)(total / rows);
    }

    /// <summary>dZ += (p − onehot(y)) · scale, where scale = dLoss / N.</summary>
    public static void SoftmaxCrossEntropyBackward(ReadOnlySpan<float> probabilities, ReadOnlySpan<int> labels, Span<float> dZ, int classes, float scale)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            Span<float> row = dZ.Slice(i * classes, classes);
            TensorPrimitives.MultiplyAdd(probabilities.Slice(i * classes, classes), scale, row, row);
            row[labels[i]] -= scale;
        }
    }
}
