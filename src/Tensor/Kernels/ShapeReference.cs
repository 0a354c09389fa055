namespace NanoNet.Kernels;

/// <summary>
/// Plain reference versions of the shape kernels (<see cref="PermuteKernels"/>, <see cref="WindowKernels"/>,
/// <see cref="IndexSelectKernels"/>): one element at a time, with the index arithmetic spelled out.
/// Slow and obviously right; the tests hold the fast kernels to them.
/// </summary>
/// <remarks>Shape legends as in the fast kernels.</remarks>
public static class ShapeReference
{
    /// <summary>y[i] (=|+=) x[j] with j[axes[k]] = i[k], for every output index i.</summary>
    public static void Permute(ReadOnlySpan<float> x, ReadOnlySpan<int> shape, ReadOnlySpan<int> axes, Span<float> y, bool accumulate = false)
    {
        int rank = shape.Length;
        Span<int> outShape = stackalloc int[rank], index = stackalloc int[rank], sourceIndex = stackalloc int[rank];
        for (int k = 0; k < rank; k++)
            outShape[k] = shape[axes[k]];
        for (int flat = 0; flat < y.Length; flat++)
        {
            Unravel(flat, outShape, index);
            for (int k = 0; k < rank; k++)
                sourceIndex[axes[k]] = index[k];
            float value = x[Ravel(sourceIndex, shape)];
            y[flat] = accumulate ? y[flat] + value : value;
        }
    }

    /// <summary>destination[b + i] (=|+=) source[a + i] for every i inside the window of the given size.</summary>
    public static void CopyWindow(ReadOnlySpan<float> source, ReadOnlySpan<int> sourceShape, ReadOnlySpan<int> sourceStart,
        Span<float> destination, ReadOnlySpan<int> destinationShape, ReadOnlySpan<int> destinationStart, ReadOnlySpan<int> size,
        bool accumulate = false)
    {
        int rank = size.Length;
        Span<int> index = stackalloc int[rank], s = stackalloc int[rank], d = stackalloc int[rank];
        int count = Shapes.Product(size);
        for (int flat = 0; flat < count; flat++)
        {
            Unravel(flat, size, index);
            for (int k = 0; k < rank; k++)
            {
                s[k] = sourceStart[k] + index[k];
                d[k] = destinationStart[k] + index[k];
            }
            int target = Ravel(d, destinationShape);
            float value = source[Ravel(s, sourceShape)];
            destination[target] = accumulate ? destination[target] + value : value;
        }
    }

    /// <summary>y[o, k, i] = x[o, indices[k], i].</summary>
    public static void Gather(ReadOnlySpan<float> x, ReadOnlySpan<int> indices, Span<float> y, int outer, int axisSize, int inner)
    {
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < indices.Length; k++)
                for (int i = 0; i < inner; i++)
                    y[(o * indices.Length + k) * inner + i] = x[(o * axisSize + indices[k]) * inner + i];
    }

    /// <summary>dX[o, indices[k], i] += dY[o, k, i], k in increasing order.</summary>
    public static void ScatterAdd(ReadOnlySpan<float> dY, ReadOnlySpan<int> indices, Span<float> dX, int outer, int axisSize, int inner)
    {
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < indices.Length; k++)
                for (int i = 0; i < inner; i++)
                    dX[(o * axisSize + indices[k]) * inner + i] += dY[(o * indices.Length + k) * inner + i];
    }

    /// <summary>The multi-index of row-major position <paramref name="flat"/> in <paramref name="shape"/>.</summary>
    public static void Unravel(int flat, ReadOnlySpan<int> shape, Span<int> index)
    {
        for (int k = shape.Length - 1; k >= 0; k--)
        {
            index[k] = flat % shape[k];
            flat /= shape[k];
        }
    }

    /// <summary>The row-major position of multi-index <paramref name="index"/> in <paramref name="shape"/>.</summary>
    public static int Ravel(ReadOnlySpan<int> index, ReadOnlySpan<int> shape)
    {
        int flat = 0;
        for (int k = 0; k < shape.Length; k++)
            flat = flat * shape[k] + index[k];
        return flat;
    }
}
