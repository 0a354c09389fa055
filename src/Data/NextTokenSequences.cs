namespace NanoNet.Data;

/// <summary>
/// Cuts a stream of token ids (characters or words) into next-token prediction examples for
/// truncated back-propagation through time: inputs (N, T) and targets (N, T), where each target is
/// the input shifted by one position (target[t] = the token after input[t]).
/// </summary>
public static class NextTokenSequences
{
    /// <summary>
    /// Windows of <paramref name="length"/> tokens starting every <paramref name="stride"/> tokens
    /// (default: <paramref name="length"/>, i.e. non-overlapping). Row n is ids[s .. s+T) with target
    /// ids[s+1 .. s+T+1), s = n·stride. Rows are independent: shuffle them freely.
    /// </summary>
    /// <remarks>A small stride multiplies the memory: N ≈ (ids − 1 − T) / stride + 1 rows of 2T floats.</remarks>
    public static Dataset Windows(ReadOnlySpan<int> ids, int length, int? stride = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        int step = stride ?? length;
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1, nameof(stride));
        if (ids.Length < length + 1)
            throw new ArgumentException($"Windows of {length} tokens need at least {length + 1} ids (inputs and the next token), got {ids.Length}.", nameof(ids));
        int count = (ids.Length - 1 - length) / step + 1;
        var inputs = Tensor.Zeros(count, length);
        var targets = Tensor.Zeros(count, length);
        Span<float> x = inputs.Span, y = targets.Span;
        for (int n = 0; n < count; n++)
        {
            int start = n * step;
            for (int t = 0; t < length; t++)
            {
                x[n * length + t] = ids[start + t];
                y[n * length + t] = ids[start + t + 1];
            }
        }
        return new Dataset(inputs, targets);
    }

    /// <summary>
    /// Batches for a stateful model that carries its hidden state from one batch to the next (the
    /// char-rnn layout). The stream is cut into <paramref name="batchSize"/> contiguous lanes; batch k
    /// (rows k·B .. k·B+B−1) holds the k-th window of <paramref name="length"/> tokens of every lane,
    /// so row b of batch k+1 continues row b of batch k. Iterate with
    /// <c>new MiniBatchLoader(data, batchSize, shuffle: false)</c>. Tokens that do not fill a whole window are dropped.
    /// </summary>
    public static Dataset ContinuousBatches(ReadOnlySpan<int> ids, int batchSize, int length)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        int laneLength = (ids.Length - 1) / batchSize; // −1: every input needs its next token
        int steps = laneLength / length;
        if (steps == 0)
            throw new ArgumentException(
                $"{ids.Length} ids are too few for {batchSize} lanes of at least {length} tokens (need at least {batchSize * length + 1}).", nameof(ids));
        var inputs = Tensor.Zeros(steps * batchSize, length);
        var targets = Tensor.Zeros(steps * batchSize, length);
        Span<float> x = inputs.Span, y = targets.Span;
        for (int k = 0; k < steps; k++)
            for (int b = 0; b < batchSize; b++)
            {
                int row = k * batchSize + b, start = b * laneLength + k * length;
                for (int t = 0; t < length; t++)
                {
                    x[row * length + t] = ids[start + t];
                    y[row * length + t] = ids[start + t + 1];
                }
            }
        return new Dataset(inputs, targets);
    }
}
