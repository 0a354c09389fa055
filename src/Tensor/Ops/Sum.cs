using System.Numerics.Tensors;
using NanoNet.Autograd;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>Scalar s = Σ x. Backward: dX += dS (broadcast).</summary>
    public static Tensor Sum(Tensor x) => Reduce(x, scale: 1f);

    /// <summary>Scalar m = (1/n) Σ x. Backward: dX += dM / n.</summary>
    public static Tensor Mean(Tensor x) => Reduce(x, scale: x.Length == 0 ? 0f : 1f / x.Length);

    private static Tensor Reduce(Tensor x, float scale)
    {
        var y = Tensor.Empty([]);
        y[0] = TensorPrimitives.Sum<float>(x.Span) * scale;
        if (Tape.ShouldRecord(x))
            Tape.Record(ReduceEntry.Rent(y, x, scale), x);
        return y;
    }

    private sealed class ReduceEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private float scale;

        public static ReduceEntry Rent(Tensor y, Tensor x, float scale)
        {
            ReduceEntry entry = Rent<ReduceEntry>(y);
            (entry.x, entry.scale) = (x, scale);
            return entry;
        }

        public override void Backward(Tensor dY) =>
            TensorPrimitives.Add(x.EnsureGrad().Span, dY[0] * scale, x.Grad!.Span);
    }

    /// <summary>
    /// y = Σ x over <paramref name="axis"/> (negative counts from the end). The axis is removed from the
    /// shape, or kept with size 1 when <paramref name="keepDims"/> is set. Backward: dX += dY, broadcast
    /// back over the reduced axis.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range for x's shape.</exception>
    public static Tensor Sum(Tensor x, int axis, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Sum, x, [axis], keepDims);

    /// <summary>
    /// y = Σ x over every axis in <paramref name="axes"/> (negative axes count from the end; an empty list
    /// reduces nothing). Reduced axes are removed, or kept with size 1 when <paramref name="keepDims"/> is
    /// set. Backward: dX += dY, broadcast back over the reduced axes.
    /// </summary>
    /// <exception cref="ArgumentException">An axis is out of range or given twice.</exception>
    public static Tensor Sum(Tensor x, ReadOnlySpan<int> axes, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Sum, x, axes, keepDims);

    /// <summary>
    /// y = (1/n) Σ x over <paramref name="axis"/>, n its size (the mean over an empty axis is NaN).
    /// Backward: dX += dY / n, broadcast back over the axis.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range for x's shape.</exception>
    public static Tensor Mean(Tensor x, int axis, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Mean, x, [axis], keepDims);

    /// <summary>
    /// y = (1/n) Σ x over <paramref name="axes"/>, n the number of elements reduced into each output.
    /// Backward: dX += dY / n, broadcast back over the reduced axes.
    /// </summary>
    /// <exception cref="ArgumentException">An axis is out of range or given twice.</exception>
    public static Tensor Mean(Tensor x, ReadOnlySpan<int> axes, bool keepDims = false) =>
        AxisReduction.Forward(AxisReductionKind.Mean, x, axes, keepDims);
}
