namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// The population variance over <paramref name="axis"/>: y = (1/n) Σ (x − m)², m = (1/n) Σ x, dividing by
    /// n and not n − 1, as Keras' <c>reduce_variance</c> (and NumPy's <c>var</c> with ddof = 0). Two passes
    /// (mean first), so no cancellation of large squares. Backward: dX += 2 (x − m) / n · dY.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range for x's shape.</exception>
    public static Tensor Variance(Tensor x, int axis, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Variance, x, [axis], keepDims);

    /// <summary>
    /// The population variance (divides by n, as Keras' <c>reduce_variance</c>) over every axis in
    /// <paramref name="axes"/>: y = (1/n) Σ (x − m)². Backward: dX += 2 (x − m) / n · dY.
    /// </summary>
    /// <exception cref="ArgumentException">An axis is out of range or given twice.</exception>
    public static Tensor Variance(Tensor x, ReadOnlySpan<int> axes, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Variance, x, axes, keepDims);
}
