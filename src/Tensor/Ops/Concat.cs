using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Joins tensors end to end along <paramref name="axis"/> (negative counts from the end); every
    /// other dimension must be equal.
    /// </summary>
    /// <remarks>
    /// <para>Shapes: (…, a₀, …), (…, a₁, …), … → (…, a₀ + a₁ + …, …).</para>
    /// <para>Forward: input t is copied into the window of y that starts at a₀ + … + a_{t−1} along the axis.</para>
    /// <para>Backward: dXₜ += the same window of dY. One tape entry records all the inputs.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">No tensors, a rank or dimension mismatch (the message names the
    /// offending tensor's index and both shapes), or the axis is out of range.</exception>
    public static Tensor Concat(Tensor[] xs, int axis)
    {
        long started = Profiler.Start();
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Length == 0)
            throw new ArgumentException("Concat: needs at least one tensor, got none.", nameof(xs));
        for (int t = 0; t < xs.Length; t++)
            if (xs[t] is null) // the parameter name is built only for the error (a string per call would be a steady-step allocation)
                ShapeOpChecks.NotNull("Concat", xs[t], $"xs[{t}]");
        ReadOnlySpan<int> first = xs[0].Shape;
        if (first.Length == 0)
            throw new ArgumentException("Concat: tensor 0 is a scalar (shape ()); concatenation needs at least one axis.");
        axis = ShapeOpChecks.Axis("Concat", axis, first);
        long total = 0;
        for (int t = 0; t < xs.Length; t++)
        {
            ReadOnlySpan<int> shape = xs[t].Shape;
            bool matches = shape.Length == first.Length;
            for (int k = 0; matches && k < shape.Length; k++)
                matches = k == axis || shape[k] == first[k];
            if (!matches)
                throw new ArgumentException(
                    $"Concat along axis {axis}: tensor {t} has shape {Shapes.Format(shape)} but tensor 0 has shape {Shapes.Format(first)}; " +
                    $"all tensors need the same rank and the same size on every axis except {axis}.");
            total += shape[axis];
        }
        if (total > int.MaxValue)
            throw new ArgumentException($"Concat along axis {axis}: the result would have {total} positions on that axis, more than a tensor can hold.");

        Tensor y = Tensor.Empty(ShapeOpChecks.WithDim(first, axis, (int)total, stackalloc int[first.Length]));
        Span<int> start = stackalloc int[first.Length];
        start.Clear();
        foreach (Tensor x in xs)
        {
            WindowKernels.CopyWindow(x.Span, x.Shape, ShapeOpChecks.Origin(first.Length), y.Span, y.Shape, start, x.Shape);
            start[axis] += x.Dim(axis);
        }
        if (Tape.ShouldRecord(xs))
            Tape.Record(ConcatEntry.Rent(y, axis), xs);
        Profiler.Stop("Concat", started);
        return y;
    }

    /// <summary>Backward of Concat: each input that needs a gradient gets its window of dY added.</summary>
    private sealed class ConcatEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private int axis;

        public static ConcatEntry Rent(Tensor y, int axis)
        {
            ConcatEntry entry = Rent<ConcatEntry>(y);
            entry.axis = axis;
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            Span<int> start = stackalloc int[dY.Rank];
            start.Clear();
            for (int t = 0; t < InputCount; t++)
            {
                Tensor x = GetInput(t);
                if (x.RequiresGrad)
                    WindowKernels.CopyWindow(dY.Span, dY.Shape, start, x.EnsureGrad().Span, x.Shape, ShapeOpChecks.Origin(x.Rank), x.Shape, accumulate: true);
                start[axis] += x.Dim(axis);
            }
        }
    }
}
