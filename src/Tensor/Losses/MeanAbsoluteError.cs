using System.Numerics.Tensors;

namespace NanoNet.Losses;

/// <summary>
/// Mean absolute error: each sample's loss is the mean of |p − t| over the last axis (Keras's
/// <c>mean_absolute_error</c>). Backward: ∂ℓ/∂p = sign(p − t) (0 where p = t).
/// </summary>
public sealed class MeanAbsoluteError : ElementwiseLoss
{
    /// <inheritdoc />
    public override string Name => "mean_absolute_error";

    /// <inheritdoc />
    protected override float Elementwise(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, bool fromLogits)
    {
        TensorPrimitives.Subtract(predictions, targets, gradient);
        float sum = TensorPrimitives.SumOfMagnitudes<float>(gradient);
        Kernels.ElementwiseLossKernels.SignInPlace(gradient);
        return sum;
    }
}
