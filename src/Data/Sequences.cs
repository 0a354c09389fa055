namespace NanoNet.Data;

/// <summary>Which end of a sequence padding is added to, or truncation removes from.</summary>
public enum SequenceEnd
{
    /// <summary>The front (Keras' 'pre', its default): padding goes before the ids; truncation keeps the last ids.</summary>
    Pre,

    /// <summary>The back (Keras' 'post'): padding goes after the ids; truncation keeps the first ids.</summary>
    Post,
}

/// <summary>Turns variable-length id sequences into one fixed-length (N, T) tensor, like Keras' <c>pad_sequences</c>.</summary>
public static class Sequences
{
    /// <summary>
    /// Pads or truncates every sequence to <paramref name="length"/> and stacks them into an (N, T)
    /// float tensor. The defaults are Keras': pad and truncate at the front, padding value 0.
    /// </summary>
    /// <param name="sequences">The id sequences (ids are stored exactly as floats up to 2^24).</param>
    /// <param name="length">T; when null, the longest sequence's length.</param>
    /// <param name="padding">Where padding goes.</param>
    /// <param name="truncating">Which end is cut from sequences longer than T.</param>
    /// <param name="value">The padding value.</param>
    public static Tensor Pad(IReadOnlyList<int[]> sequences, int? length = null,
        SequenceEnd padding = SequenceEnd.Pre, SequenceEnd truncating = SequenceEnd.Pre, float value = 0f) =>
        PadCore(sequences, length, padding, truncating, value, withMask: false).Ids;

    /// <summary>
    /// Like <see cref="Pad"/>, and also returns a mask (N, T) that is 1 where a position holds an id of
    /// the sequence and 0 where it holds padding.
    /// </summary>
    public static (Tensor Ids, Tensor Mask) PadWithMask(IReadOnlyList<int[]> sequences, int? length = null,
        SequenceEnd padding = SequenceEnd.Pre, SequenceEnd truncating = SequenceEnd.Pre, float value = 0f)
    {
        var (ids, mask) = PadCore(sequences, length, padding, truncating, value, withMask: true);
        return (ids, mask!);
    }

    private static (Tensor Ids, Tensor? Mask) PadCore(IReadOnlyList<int[]> sequences, int? length,
        SequenceEnd padding, SequenceEnd truncating, float value, bool withMask)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        int t = length ?? (sequences.Count == 0 ? 0 : sequences.Max(s => s?.Length ?? 0));
        if (t < 0)
            throw new ArgumentOutOfRangeException(nameof(length), length, "The sequence length must be non-negative.");
        var ids = Tensor.Full(value, sequences.Count, t);
        Tensor? mask = withMask ? Tensor.Zeros(sequences.Count, t) : null;
        Span<float> x = ids.Span;
        for (int n = 0; n < sequences.Count; n++)
        {
            int[] sequence = sequences[n] ?? throw new ArgumentException($"Sequence {n} is null.", nameof(sequences));
            int kept = Math.Min(sequence.Length, t);
            ReadOnlySpan<int> source = truncating == SequenceEnd.Pre
                ? sequence.AsSpan(sequence.Length - kept)
                : sequence.AsSpan(0, kept);
            int start = padding == SequenceEnd.Pre ? t - kept : 0;
            Span<float> row = x.Slice(n * t + start, kept);
            for (int i = 0; i < kept; i++)
                row[i] = source[i];
            mask?.Span.Slice(n * t + start, kept).Fill(1f);
        }
        return (ids, mask);
    }
}
