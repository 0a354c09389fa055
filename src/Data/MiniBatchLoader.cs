namespace NanoNet.Data;

/// <summary>
/// Cuts a data set into mini-batches, reshuffled every epoch by a seeded random generator.
/// </summary>
/// <remarks>
/// <para>
/// This is the project's central idea in one class: batch size 1 gives stochastic gradient descent,
/// batch size = data set size gives batch gradient descent, anything between is mini-batch. When the
/// size does not divide the data set, the last batch of an epoch is smaller (nothing is dropped).
/// For speed the batch tensors are reused: a batch is valid until the next one is produced.
/// </para>
/// <para>
/// The order of epoch e depends only on (<see cref="Seed"/>, e): it is the identity order shuffled by
/// stream <see cref="RandomStreamIds.EpochShuffle"/>(e) of the seed, not a reshuffle of the previous
/// epoch's order. So (<see cref="Seed"/>, <see cref="Epoch"/>) is the loader's whole state: to resume
/// a run after k epochs, create a loader with the same seed and set <see cref="Epoch"/> = k.
/// </para>
/// <para>
/// <b>Shards</b> (data-parallel training): with <see cref="ShardCount"/> = P processes, every process
/// builds the same global order from the same seed, each global batch holds <see cref="BatchSize"/> × P
/// rows, and process <see cref="ShardIndex"/> = r reads rows [r·b, (r+1)·b) of it, where b is the
/// global batch's row count / P. Shards of one global batch are equal in size, so the mean of the
/// processes' mean gradients is the global batch's mean gradient; the last global batch's rows beyond a
/// multiple of P (fewer than P per epoch) are dropped.
/// </para>
/// </remarks>
public sealed class MiniBatchLoader
{
    private readonly Dataset _data;
    private readonly int[] _order;
    private Dataset? _full, _last;
    private int _epoch;

    /// <summary>Creates a loader over <paramref name="data"/>.</summary>
    public MiniBatchLoader(Dataset data, int batchSize, bool shuffle = true, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        _data = data;
        BatchSize = Math.Min(batchSize, Math.Max(1, data.Count));
        Shuffle = shuffle;
        Seed = seed;
        _order = new int[data.Count];
    }

    /// <summary>The seed of the per-epoch shuffles.</summary>
    public int Seed { get; }

    /// <summary>
    /// The number of epochs produced so far (0 for a new loader): the next <see cref="NextEpoch"/> produces
    /// epoch <see cref="Epoch"/> + 1. Set it to resume a run, e.g. from a checkpoint taken after that many epochs.
    /// </summary>
    public int Epoch
    {
        get => _epoch;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _epoch = value;
        }
    }

    /// <summary>Examples per batch (the last batch of an epoch may be smaller).</summary>
    public int BatchSize { get; }

    /// <summary>Whether every epoch visits the examples in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>This process's shard of every global batch, from 0 (data-parallel training; see the remarks).</summary>
    public int ShardIndex { get; init; }

    /// <summary>Processes sharing every global batch (1, the default, for ordinary training).</summary>
    public int ShardCount { get; init; } = 1;

    /// <summary>Number of batches per epoch, counting the last partial one (when it holds at least one row per shard).</summary>
    public int BatchCount
    {
        get
        {
            int global = BatchSize * ShardCount;
            return _data.Count / global + (_data.Count % global >= ShardCount ? 1 : 0);
        }
    }

    /// <summary>Total number of examples.</summary>
    public int Count => _data.Count;

    /// <summary>
    /// Optional in-place transform of each batch after it is gathered, e.g. <see cref="ImageAugmentation.Apply"/>
    /// on the features. Batches are copies, so the data set itself is never changed. Null (the default) = none.
    /// </summary>
    public Action<Dataset>? BatchTransform { get; init; }

    /// <summary>
    /// The next epoch's batches (in a new random order when <see cref="Shuffle"/> is set). The order is
    /// fixed, and <see cref="Epoch"/> advanced, when this is called, before the first batch is read.
    /// </summary>
    public IEnumerable<Dataset> NextEpoch()
    {
        if (ShardCount < 1 || ShardIndex < 0 || ShardIndex >= ShardCount)
            throw new InvalidOperationException($"MiniBatchLoader: shard {ShardIndex} of {ShardCount} does not exist; expected 0 <= ShardIndex < ShardCount.");
        _epoch++;
        for (int i = 0; i < _order.Length; i++)
            _order[i] = i;
        if (Shuffle)
            new RandomStream((ulong)Seed, RandomStreamIds.EpochShuffle(_epoch)).Shuffle<int>(_order); // Fisher–Yates
        return Batches();
    }

    private IEnumerable<Dataset> Batches()
    {
        int global = BatchSize * ShardCount;
        for (int start = 0; start < _order.Length; start += global)
        {
            int size = Math.Min(global, _order.Length - start) / ShardCount; // equal shards (all of it with one)
            if (size == 0)
                yield break;
            Dataset batch = size == BatchSize
                ? _full ??= Allocate(size)
                : _last ??= Allocate(size);
            ReadOnlySpan<int> rows = _order.AsSpan(start + ShardIndex * size, size);
            _data.CopyRows(rows, batch);
            BatchTransform?.Invoke(batch);
            yield return batch;
        }
    }

    private Dataset Allocate(int rows) => _data.NewBatch(rows);
}
