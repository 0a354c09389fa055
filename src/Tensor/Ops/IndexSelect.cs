using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Picks the positions <paramref name="indices"/> of <paramref name="x"/> along <paramref name="axis"/>
    /// (negative counts from the end), in that order; an index may repeat (PyTorch's <c>index_select</c>,
    /// TensorFlow's <c>gather</c> with a rank-1 index list).
    /// </summary>
    /// <remarks>
    /// <para>Shapes: x (…, A, …) → y (…, K, …), K = indices.Length; viewed as x (O, A, I) and y (O, K, I)
    /// with O the product of the axes before and I of the axes after.</para>
    /// <para>Forward: y[o, k, i] = x[o, indices[k], i].</para>
    /// <para>Backward (scatter-add): dX[o, indices[k], i] += dY[o, k, i], for k in increasing order, so a
    /// repeated index sums its gradients, always in the same order (deterministic).</para>
    /// </remarks>
    /// <exception cref="ArgumentException">The axis is out of range, or an index is outside [0, A); the message names the index, its position and the shape.</exception>
    public static Tensor IndexSelect(Tensor x, int axis, ReadOnlySpan<int> indices)
    {
        ShapeOpChecks.NotNull("IndexSelect", x);
        axis = ShapeOpChecks.Axis("IndexSelect", axis, x.Shape);
        int[] buffer = StepMemory.NewInts(indices.Length);
        for (int k = 0; k < indices.Length; k++)
        {
            CheckIndex(indices[k], k, axis, x.Shape);
            buffer[k] = indices[k];
        }
        return IndexSelectChecked(x, axis, buffer, indices.Length);
    }

    /// <summary>See <see cref="IndexSelect(Tensor, int, ReadOnlySpan{int})"/>.</summary>
    public static Tensor IndexSelect(Tensor x, int axis, int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return IndexSelect(x, axis, (ReadOnlySpan<int>)indices);
    }

    /// <summary>
    /// <see cref="IndexSelect(Tensor, int, ReadOnlySpan{int})"/> with the indices held in a rank-1 tensor
    /// of integral floats (as data loaders produce them). The indices get no gradient.
    /// </summary>
    /// <exception cref="ArgumentException">indices is not rank 1, or an entry is not an integer in [0, A); the message names the entry and its position.</exception>
    public static Tensor IndexSelect(Tensor x, int axis, Tensor indices)
    {
        ShapeOpChecks.NotNull("IndexSelect", x);
        ShapeOpChecks.NotNull("IndexSelect", indices, nameof(indices));
        axis = ShapeOpChecks.Axis("IndexSelect", axis, x.Shape);
        if (indices.Rank != 1)
            throw new ArgumentException($"IndexSelect: indices must be a rank-1 tensor, got shape {Shapes.Format(indices.Shape)}.");
        ReadOnlySpan<float> values = indices.Span;
        int[] buffer = StepMemory.NewInts(values.Length);
        for (int k = 0; k < values.Length; k++)
        {
            float v = values[k];
            if (v != MathF.Floor(v) || !float.IsFinite(v))
                throw new ArgumentException($"IndexSelect: index {v} at position {k} is not an integer (indices along axis {axis} of shape {Shapes.Format(x.Shape)}).");
            int index = v >= int.MinValue && v <= int.MaxValue ? (int)v : -1;
            CheckIndex(index, k, axis, x.Shape, v);
            buffer[k] = index;
        }
        return IndexSelectChecked(x, axis, buffer, values.Length);
    }

    /// <summary>The same op as <see cref="IndexSelect(Tensor, int, ReadOnlySpan{int})"/>, under TensorFlow's name.</summary>
    public static Tensor Gather(Tensor x, int axis, ReadOnlySpan<int> indices) => IndexSelect(x, axis, indices);

    /// <summary>The same op as <see cref="IndexSelect(Tensor, int, int[])"/>, under TensorFlow's name.</summary>
    public static Tensor Gather(Tensor x, int axis, int[] indices) => IndexSelect(x, axis, indices);

    /// <summary>The same op as <see cref="IndexSelect(Tensor, int, Tensor)"/>, under TensorFlow's name.</summary>
    public static Tensor Gather(Tensor x, int axis, Tensor indices) => IndexSelect(x, axis, indices);

    private static void CheckIndex(int index, int position, int axis, ReadOnlySpan<int> shape, float? asGiven = null)
    {
        if ((uint)index >= (uint)shape[axis])
            throw new ArgumentException(
                $"IndexSelect: index {(asGiven is { } v ? v : index)} at position {position} is out of range for axis {axis} of shape {Shapes.Format(shape)} " +
                $"(valid indices are 0..{shape[axis] - 1}).");
    }

    private static Tensor IndexSelectChecked(Tensor x, int axis, int[] indices, int count)
    {
        long started = Profiler.Start();
        (int outer, int size, int inner) = AroundAxis(x.Shape, axis);
        Tensor y = Tensor.Empty(ShapeOpChecks.WithDim(x.Shape, axis, count, stackalloc int[x.Rank]));
        IndexSelectKernels.Gather(x.Span, indices.AsSpan(0, count), y.Span, outer, size, inner);
        if (Tape.ShouldRecord(x))
            Tape.Record(IndexSelectEntry.Rent(y, x, axis, indices, count), x);
        Profiler.Stop("IndexSelect", started);
        return y;
    }

    /// <summary>x viewed as (outer, axis, inner): the products of the dimensions before and after the axis.</summary>
    private static (int Outer, int Size, int Inner) AroundAxis(ReadOnlySpan<int> shape, int axis) =>
        (Shapes.Product(shape[..axis]), shape[axis], Shapes.Product(shape[(axis + 1)..]));

    /// <summary>Backward of IndexSelect: scatter-add dY's rows back to the positions they were picked from.</summary>
    private sealed class IndexSelectEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private int axis;
        private int[] indices = null!;
        private int count;

        public static IndexSelectEntry Rent(Tensor y, Tensor x, int axis, int[] indices, int count)
        {
            IndexSelectEntry entry = Rent<IndexSelectEntry>(y);
            entry.x = x;
            entry.axis = axis;
            entry.indices = indices;
            entry.count = count;
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            (int outer, int size, int inner) = AroundAxis(x.Shape, axis);
            IndexSelectKernels.ScatterAdd(dY.Span, indices.AsSpan(0, count), x.EnsureGrad().Span, outer, size, inner);
        }
    }
}
