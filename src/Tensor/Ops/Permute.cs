using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Swaps two axes: a copy of <paramref name="x"/> with axes <paramref name="axis0"/> and
    /// <paramref name="axis1"/> exchanged (negative axes count from the end). <c>Transpose(x, -2, -1)</c>
    /// transposes every matrix of a batch.
    /// </summary>
    /// <remarks>
    /// Shapes: (…, a, …, b, …) → (…, b, …, a, …). Forward and backward as for <see cref="Permute"/>
    /// (a swap is its own inverse).
    /// </remarks>
    /// <exception cref="ArgumentException">An axis is out of range; the message names it and the shape.</exception>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        ShapeOpChecks.NotNull("Transpose", x);
        int a = ShapeOpChecks.Axis("Transpose", axis0, x.Shape), b = ShapeOpChecks.Axis("Transpose", axis1, x.Shape);
        Span<int> axes = x.Rank <= 8 ? stackalloc int[x.Rank] : new int[x.Rank];
        for (int k = 0; k < axes.Length; k++)
            axes[k] = k;
        (axes[a], axes[b]) = (b, a);
        return PermuteChecked("Transpose", x, Shapes.Interned(axes));
    }

    /// <summary>
    /// Reorders the axes: output axis k is input axis <paramref name="axes"/>[k] (negative entries count
    /// from the end). The result is a new, contiguous tensor (a materialised copy, not a strided view).
    /// </summary>
    /// <remarks>
    /// <para>Forward: y[i₀, …, i_{R−1}] = x[j] where j[axes[k]] = i[k]; shape (S[axes[0]], …, S[axes[R−1]]).
    /// E.g. <c>Permute(x, 0, 2, 1, 3)</c> turns (N, T, H, D) into (N, H, T, D), the attention head split.</para>
    /// <para>Backward: dX += dY permuted by the inverse permutation (inverse[axes[k]] = k), which puts
    /// every gradient element back where its value came from.</para>
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="axes"/> is not a permutation of the axes of x.</exception>
    public static Tensor Permute(Tensor x, params ReadOnlySpan<int> axes)
    {
        ShapeOpChecks.NotNull("Permute", x);
        ReadOnlySpan<int> shape = x.Shape;
        if (axes.Length != shape.Length)
            throw new ArgumentException($"Permute: axes {Shapes.Format(axes)} name {axes.Length} axes but x has shape {Shapes.Format(shape)} (rank {shape.Length}); give each axis exactly once.");
        Span<int> normalised = axes.Length <= 8 ? stackalloc int[axes.Length] : new int[axes.Length];
        Span<bool> used = stackalloc bool[axes.Length];
        for (int k = 0; k < axes.Length; k++)
        {
            int axis = ShapeOpChecks.Axis("Permute", axes[k], shape);
            if (used[axis])
                throw new ArgumentException($"Permute: axes {Shapes.Format(axes)} name axis {axis} twice (x has shape {Shapes.Format(shape)}); give each axis exactly once.");
            used[axis] = true;
            normalised[k] = axis;
        }
        // Interned (shared, never written): the tape entry keeps the axes, and a step then allocates no array for them.
        return PermuteChecked("Permute", x, Shapes.Interned(normalised));
    }

    private static Tensor PermuteChecked(string op, Tensor x, int[] axes)
    {
        long started = Profiler.Start();
        ReadOnlySpan<int> shape = x.Shape;
        Span<int> outShape = stackalloc int[axes.Length];
        for (int k = 0; k < axes.Length; k++)
            outShape[k] = shape[axes[k]];
        Tensor y = Tensor.Empty(outShape);
        PermuteKernels.Permute(x.Span, shape, axes, y.Span);
        if (Tape.ShouldRecord(x))
            Tape.Record(PermuteEntry.Rent(y, axes), x);
        Profiler.Stop(op, started);
        return y;
    }

    /// <summary>Backward of Transpose and Permute: dX += dY with the inverse permutation.</summary>
    private sealed class PermuteEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor y = null!;
        private int[] axes = null!;

        public static PermuteEntry Rent(Tensor y, int[] axes)
        {
            PermuteEntry entry = Rent<PermuteEntry>(y);
            entry.y = y;
            entry.axes = axes;
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            Tensor x = GetInput(0);
            Span<int> inverse = stackalloc int[axes.Length];
            for (int k = 0; k < axes.Length; k++)
                inverse[axes[k]] = k;
            // dY has y's shape; permuting it by the inverse lands in x's shape.
            PermuteKernels.Permute(dY.Span, Output.Shape, inverse, x.EnsureGrad().Span, accumulate: true);
        }
    }
}
