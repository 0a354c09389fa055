namespace NanoNet.Kernels;

/// <summary>
/// The plain twin of <see cref="Broadcast"/> that tests compare it against: every output element on its
/// own, its multi-index unravelled and mapped back to each input by explicit index arithmetic. No axis
/// merging, no runs, no vectors, no threads.
/// </summary>
/// <remarks>Shape legend: as in <see cref="Broadcast"/>.</remarks>
internal static class BroadcastReference
{
    /// <summary>y[i] = f(a[i mapped to a], b[i mapped to b]).</summary>
    public static void Binary<TOp>(ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> y, ReadOnlySpan<int> yShape) where TOp : struct, IBinaryOperator
    {
        Span<int> index = stackalloc int[yShape.Length];
        for (int flat = 0; flat < y.Length; flat++)
        {
            Unravel(flat, yShape, index);
            y[flat] = TOp.Invoke(a[SourceIndex(index, aShape)], b[SourceIndex(index, bShape)]);
        }
    }

    /// <summary>y[i] = mask ≠ 0 ? a : b, each at index i mapped to its own shape.</summary>
    public static void Select(ReadOnlySpan<float> mask, ReadOnlySpan<int> maskShape, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape,
        ReadOnlySpan<float> b, ReadOnlySpan<int> bShape, Span<float> y, ReadOnlySpan<int> yShape)
    {
        Span<int> index = stackalloc int[yShape.Length];
        for (int flat = 0; flat < y.Length; flat++)
        {
            Unravel(flat, yShape, index);
            y[flat] = mask[SourceIndex(index, maskShape)] != 0f ? a[SourceIndex(index, aShape)] : b[SourceIndex(index, bShape)];
        }
    }

    /// <summary>y[i] = x[i mapped to x].</summary>
    public static void Stretch(ReadOnlySpan<float> x, ReadOnlySpan<int> xShape, Span<float> y, ReadOnlySpan<int> yShape)
    {
        Span<int> index = stackalloc int[yShape.Length];
        for (int flat = 0; flat < y.Length; flat++)
        {
            Unravel(flat, yShape, index);
            y[flat] = x[SourceIndex(index, xShape)];
        }
    }

    /// <summary>g[i mapped to g] += dY[i] for every output element i, summed in double then added (or subtracted).</summary>
    public static void SumInto(ReadOnlySpan<float> dY, ReadOnlySpan<int> yShape, Span<float> g, ReadOnlySpan<int> gShape, bool subtract = false)
    {
        var sums = new double[g.Length];
        Span<int> index = stackalloc int[yShape.Length];
        for (int flat = 0; flat < dY.Length; flat++)
        {
            Unravel(flat, yShape, index);
            sums[SourceIndex(index, gShape)] += dY[flat];
        }
        for (int i = 0; i < g.Length; i++)
            g[i] = (float)(subtract ? g[i] - sums[i] : g[i] + sums[i]);
    }

    /// <summary>The multi-index of row-major position <paramref name="flat"/> in <paramref name="shape"/>.</summary>
    public static void Unravel(int flat, ReadOnlySpan<int> shape, Span<int> index)
    {
        for (int axis = shape.Length - 1; axis >= 0; axis--)
        {
            index[axis] = flat % shape[axis];
            flat /= shape[axis];
        }
    }

    /// <summary>
    /// The flat index in an input of shape <paramref name="source"/> that output multi-index <paramref name="outIndex"/>
    /// reads: shapes align from the right, and a size-1 input axis always reads index 0.
    /// </summary>
    public static int SourceIndex(ReadOnlySpan<int> outIndex, ReadOnlySpan<int> source)
    {
        int missing = outIndex.Length - source.Length; // leading output axes the input does not have
        int flat = 0;
        for (int axis = 0; axis < source.Length; axis++)
        {
            int i = source[axis] == 1 ? 0 : outIndex[missing + axis];
            flat = flat * source[axis] + i;
        }
        return flat;
    }
}
