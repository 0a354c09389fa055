namespace NanoNet.Kernels;

/// <summary>
/// For reductions over scattered axes (see <see cref="ReduceLayout.IsPermuted"/>): copies x into
/// (kept..., reduced...) order so the reduction becomes a row reduction, and adds a gradient in that
/// order back to x's layout.
/// </summary>
/// <remarks>
/// Shape legend: dimensions[k] and strides[k] describe the gathered tensor's axis k and its stride in x;
/// the gathered tensor is contiguous, walked in row-major order. The walk is an odometer over every axis
/// but the last, with a strided inner loop over the last.
/// </remarks>
public static class ReduceGather
{
    /// <summary>gathered[j] = x[offset(j)], j in row-major order over <paramref name="dimensions"/>.</summary>
    public static void Gather(ReadOnlySpan<float> x, Span<float> gathered, ReadOnlySpan<int> dimensions, ReadOnlySpan<int> strides) =>
        Walk(x, gathered, dimensions, strides, scatter: false);

    /// <summary>dX[offset(j)] += gathered[j]: the inverse walk, accumulating.</summary>
    public static void ScatterAdd(ReadOnlySpan<float> gathered, Span<float> dX, ReadOnlySpan<int> dimensions, ReadOnlySpan<int> strides) =>
        Walk(gathered, dX, dimensions, strides, scatter: true);

    private static void Walk(ReadOnlySpan<float> source, Span<float> destination, ReadOnlySpan<int> dimensions, ReadOnlySpan<int> strides, bool scatter)
    {
        int rank = dimensions.Length;
        if (rank == 0 || strides.Length != rank)
            throw new ArgumentException("ReduceGather: dimensions and strides must have the same, non-zero length.");
        int total = Shapes.Product(dimensions);
        if ((scatter ? source.Length : destination.Length) != total)
            throw new ArgumentException($"ReduceGather: the gathered tensor has {total} elements, the buffer {(scatter ? source.Length : destination.Length)}.");
        if (total == 0)
            return;
        int last = dimensions[rank - 1], lastStride = strides[rank - 1];
        Span<int> index = stackalloc int[rank];
        int offset = 0; // offset in x of the current run's first element
        for (int j = 0; j < total; j += last)
        {
            if (scatter)
                for (int t = 0; t < last; t++)
                    destination[offset + t * lastStride] += source[j + t];
            else
                for (int t = 0; t < last; t++)
                    destination[j + t] = source[offset + t * lastStride];
            // Advance the odometer over the outer axes.
            for (int k = rank - 2; k >= 0; k--)
            {
                offset += strides[k];
                if (++index[k] < dimensions[k])
                    break;
                offset -= strides[k] * dimensions[k];
                index[k] = 0;
            }
        }
    }
}
