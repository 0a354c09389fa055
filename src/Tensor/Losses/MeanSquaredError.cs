using System.Numerics.Tensors;

namespace NanoNet.Losses;

/// <summary>
/// Mean squared error: each sample's loss is the mean of (p − t)² over the last axis, so unweighted
/// L = (1/n) Σ (p − t)² over all n elements. Backward: dP += dL · 2(p − t)/n; the targets receive no gradient.
/// </summary>
public sealed class MeanSquaredError : ElementwiseLoss
{
    /// <inheritdoc />
    public override string Name => "mean_squared_error";

    /// <inheritdoc />
    protected override float Elementwise(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, bool fromLogits)
    {
        TensorPrimitives.Subtract(predictions, targets, gradient);
        float sum = TensorPrimitives.SumOfSquares<float>(gradient);
        TensorPrimitives.Multiply(gradient, 2f, gradient);
        return sum;
    }
}
