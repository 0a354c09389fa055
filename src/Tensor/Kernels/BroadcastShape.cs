namespace NanoNet.Kernels;

/// <summary>
/// The NumPy/PyTorch broadcasting rule: which output shape two (or three) input shapes produce.
/// </summary>
/// <remarks>
/// <para>Shape legend: a, b, c = input shapes (any rank, rank 0 is a scalar); out = the broadcast shape.</para>
/// <para>
/// Shapes are aligned from the right; a missing leading axis counts as size 1. On every axis the sizes
/// must be equal or one of them must be 1, and the output takes the other size: the size-1 input is
/// "stretched" (its single value repeats along that axis, without being copied). Examples:
/// (3, 1, 5) with (4, 1) gives (3, 4, 5); (2, 3) with () gives (2, 3); (0, 1) with (1, 4) gives (0, 4).
/// </para>
/// </remarks>
public static class BroadcastShape
{
    /// <summary>The broadcast shape of <paramref name="a"/> and <paramref name="b"/>; throws an <see cref="ArgumentException"/> naming <paramref name="op"/> and both shapes when they do not broadcast.</summary>
    public static int[] Of(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op = "Broadcast")
    {
        var result = new int[Math.Max(a.Length, b.Length)];
        Compute(a, b, result, op);
        return result;
    }

    /// <summary>The broadcast shape of three shapes (e.g. <c>Where(mask, a, b)</c>): an interned array, shared, not to be written.</summary>
    public static int[] Of(ReadOnlySpan<int> a, ReadOnlySpan<int> b, ReadOnlySpan<int> c, string op = "Broadcast")
    {
        int abRank = Math.Max(a.Length, b.Length), rank = Math.Max(abRank, c.Length);
        // On the stack, then interned (shared, never written): a steady training step allocates no shape arrays.
        Span<int> ab = abRank <= 8 ? stackalloc int[abRank] : new int[abRank];
        Span<int> result = rank <= 8 ? stackalloc int[rank] : new int[rank];
        Compute(a, b, ab, op);
        // A failure here names all three shapes, not the intermediate one.
        if (!TryCompute(ab, c, result, out _))
            throw new ArgumentException($"{op}: shapes {Shapes.Format(a)}, {Shapes.Format(b)} and {Shapes.Format(c)} do not broadcast together " +
                "(aligned from the right, the sizes on each axis must be equal or 1).");
        return Shapes.Interned(result);
    }

    /// <summary>
    /// Writes the broadcast shape of <paramref name="a"/> and <paramref name="b"/> into <paramref name="result"/>
    /// (length max(rank a, rank b)); throws naming <paramref name="op"/> and both shapes when they do not broadcast.
    /// </summary>
    public static void Compute(ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> result, string op)
    {
        if (!TryCompute(a, b, result, out int badAxis))
            throw new ArgumentException($"{op}: shapes {Shapes.Format(a)} and {Shapes.Format(b)} do not broadcast: " +
                $"axis {badAxis} of the output (aligned from the right) has sizes {SizeAt(a, result.Length, badAxis)} and {SizeAt(b, result.Length, badAxis)}; " +
                "each axis needs equal sizes or a size of 1.");
    }

    /// <summary>Whether <paramref name="from"/> can be stretched to exactly <paramref name="to"/> (what <c>BroadcastTo</c> needs).</summary>
    public static bool CanStretch(ReadOnlySpan<int> from, ReadOnlySpan<int> to)
    {
        if (from.Length > to.Length)
            return false;
        for (int axis = 0; axis < to.Length; axis++)
        {
            int size = SizeAt(from, to.Length, axis);
            if (size != to[axis] && size != 1)
                return false;
        }
        return true;
    }

    /// <summary>The size of <paramref name="shape"/> on output axis <paramref name="axis"/> of a rank-<paramref name="outRank"/> output (1 for a missing leading axis).</summary>
    public static int SizeAt(ReadOnlySpan<int> shape, int outRank, int axis)
    {
        int own = axis - (outRank - shape.Length);
        return own < 0 ? 1 : shape[own];
    }

    private static bool TryCompute(ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> result, out int badAxis)
    {
        int rank = result.Length;
        if (rank != Math.Max(a.Length, b.Length))
            throw new ArgumentException($"The result span has length {rank}; broadcasting ranks {a.Length} and {b.Length} gives rank {Math.Max(a.Length, b.Length)}.");
        for (int axis = 0; axis < rank; axis++)
        {
            int sizeA = SizeAt(a, rank, axis), sizeB = SizeAt(b, rank, axis);
            if (sizeA != sizeB && sizeA != 1 && sizeB != 1)
            {
                badAxis = axis;
                return false;
            }
            result[axis] = sizeA == 1 ? sizeB : sizeA; // 1 stretches to the other size (including 0)
        }
        badAxis = -1;
        return true;
    }
}
