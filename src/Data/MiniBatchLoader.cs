namespace NanoNet.Data;

/// <summary>
/// Cuts a data set into mini-batches, reshuffled every epoch by a seeded random generator.
/// </summary>
/// <remarks>
/// This is the project's central idea in one class: batch size 1 gives stochastic gradient descent,
/// batch size = data set size gives batch gradient descent, anything between is mini-batch. When the
/// size does not divide the data set, the last batch of an epoch is smaller (nothing is dropped).
/// For speed the batch tensors are reused: a batch is valid until the next one is produced.
/// </remarks>
public sealed class MiniBatchLoader
{
    private readonly Dataset _data;
    private readonly int[] _order;
    private readonly Random _rng;
    private Dataset? _full, _last;

    /// <summary>Creates a loader over <paramref name="data"/>.</summary>
    public MiniBatchLoader(Dataset data, int batchSize, bool shuffle = true, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        _data = data;
        BatchSize = Math.Min(batchSize, Math.Max(1, data.Count));
        Shuffle = shuffle;
        _rng = new Random(seed);
        _order = Enumerable.Range(0, data.Count).ToArray();
    }

    /// <summary>Examples per batch (the last batch of an epoch may be smaller).</summary>
    public int BatchSize { get; }

    /// <summary>Whether every epoch visits the examples in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Number of batches per epoch, counting the last partial one.</summary>
    public int BatchCount => (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>Total number of examples.</summary>
    public int Count => _data.Count;

    /// <summary>
    /// Optional in-place transform of each batch after it is gathered, e.g. <see cref="ImageAugmentation.Apply"/>
    /// on the features. Batches are copies, so the data set itself is never changed. Null (the default) = none.
    /// </summary>
    public Action<Dataset>? BatchTransform { get; init; }

    /// <summary>One epoch of batches (reshuffled first when <see cref="Shuffle"/> is set).</summary>
    public IEnumerable<Dataset> NextEpoch()
    {
        if (Shuffle)
            _rng.Shuffle(_order); // Fisher–Yates, reproducible from the seed
        for (int start = 0; start < _order.Length; start += BatchSize)
        {
            int size = Math.Min(BatchSize, _order.Length - start);
            Dataset batch = size == BatchSize
                ? _full ??= Allocate(size)
                : _last ??= Allocate(size);
            ReadOnlySpan<int> rows = _order.AsSpan(start, size);
            RowGather.Copy(_data.Features, rows, batch.Features);
            RowGather.Copy(_data.Labels, rows, batch.Labels);
            BatchTransform?.Invoke(batch);
            yield return batch;
        }
    }

    private Dataset Allocate(int rows) =>
        new(Dataset.NewRows(_data.Features, rows), Dataset.NewRows(_data.Labels, rows));
}
