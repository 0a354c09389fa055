namespace NanoNet.Kernels;

/// <summary>
/// Walks the index combinations of a strided copy's outer axes in row-major order, keeping the matching
/// source and destination offsets up to date: one add per step instead of a division per axis.
/// </summary>
/// <remarks>
/// Axis k has <c>dims[k]</c> positions; moving one position along it moves the source by
/// <c>sourceStrides[k]</c> elements and the destination by <c>destinationStrides[k]</c>.
/// </remarks>
internal ref struct StridedOdometer
{
    private readonly ReadOnlySpan<int> _dims, _sourceStrides, _destinationStrides;
    private readonly Span<int> _counter;

    /// <summary>Offset (in elements) of the current combination in the source.</summary>
    public long Source;

    /// <summary>Offset (in elements) of the current combination in the destination.</summary>
    public long Destination;

    /// <summary>Starts at combination number <paramref name="start"/> (row-major); <paramref name="counter"/> is scratch of the same length as dims.</summary>
    public StridedOdometer(ReadOnlySpan<int> dims, ReadOnlySpan<int> sourceStrides, ReadOnlySpan<int> destinationStrides,
        Span<int> counter, long start, long sourceBase, long destinationBase)
    {
        _dims = dims;
        _sourceStrides = sourceStrides;
        _destinationStrides = destinationStrides;
        _counter = counter;
        Source = sourceBase;
        Destination = destinationBase;
        for (int k = dims.Length - 1; k >= 0; k--)
        {
            int position = dims[k] == 0 ? 0 : (int)(start % dims[k]);
            start = dims[k] == 0 ? 0 : start / dims[k];
            counter[k] = position;
            Source += (long)position * sourceStrides[k];
            Destination += (long)position * destinationStrides[k];
        }
    }

    /// <summary>Moves to the next combination (wrapping to the first after the last).</summary>
    public void Next()
    {
        for (int k = _dims.Length - 1; k >= 0; k--)
        {
            Source += _sourceStrides[k];
            Destination += _destinationStrides[k];
            if (++_counter[k] < _dims[k])
                return;
            // This axis wrapped: rewind it and carry into the next one out.
            Source -= (long)_dims[k] * _sourceStrides[k];
            Destination -= (long)_dims[k] * _destinationStrides[k];
            _counter[k] = 0;
        }
    }
}
