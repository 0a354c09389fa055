using System.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Distributed;

/// <summary>
/// Data-parallel training on MPI through the normal <c>Model.Fit</c>: every process holds the model and
/// trains on its shard of each global batch, and the gradients are averaged across the processes before
/// each update, so every process takes the same step. Pass it to <c>Fit</c> as a callback:
/// <code>
/// using MpiWorld mpi = MpiWorld.Initialize();
/// model.Compile(new Sgd(0.02f), new SparseCategoricalCrossEntropy(), seed: 0);
/// var parallel = new DataParallel(mpi, model);             // before Fit: shards, reducer, quiet ranks
/// model.Fit(train, batchSize: 32, epochs: 10, seed: 0,      // 32 per process: global batch 32 × P
///     callbacks: [parallel, parallel.OnRootOnly(new ModelCheckpoint("ckpt/epoch-{epoch}.ckpt"))]);
/// </code>
/// </summary>
/// <remarks>
/// <para>
/// It plugs into the core's seams only: <see cref="Model.ProcessGroup"/> (each process reads its shard of
/// every global batch of <c>batchSize</c> × P rows, all from the same shuffle of the shared seed, and the
/// epoch metrics are summed across processes, so every process, and every callback, sees the global
/// loss and accuracy), <see cref="Optimizer.GradientReducer"/> (the step waits for the averaged
/// gradients), <see cref="Tape.GradientReady"/> (each bucket's <c>MPI_Iallreduce</c> starts as soon as its
/// gradients are final, during backward) and <see cref="Callback.OnTrainBegin"/> (rank 0's weights are
/// broadcast, so every process starts from the same model). Ranks other than 0 print nothing
/// (<see cref="Model.Output"/> is set to <see cref="TextWriter.Null"/>).
/// </para>
/// <para>
/// Every process must run the same program: the same model, data, seed, batch size and callbacks that
/// stop training (they see the same global metrics, so <c>EarlyStopping</c> stops all of them at the
/// same epoch). A callback that stops in the middle of an epoch on one process only would leave the
/// others waiting. Validation data is evaluated whole on every process (identical weights give
/// identical results). Use the synchronous <c>Fit</c> on the thread that initialised MPI.
/// </para>
/// </remarks>
public sealed class DataParallel : Callback, IGradientReducer, IProcessGroup, IDisposable
{
    private readonly MpiWorld _world;
    private readonly Model _model;
    private readonly Action<Tensor> _onGradientReady;
    private GradientBuckets? _buckets;
    private Tape? _tape;
    private long _stepStarted;

    /// <summary>
    /// Attaches data-parallel training to <paramref name="model"/> (compiled or not): sets its
    /// <see cref="Model.ProcessGroup"/> and, on ranks other than 0, silences its output.
    /// </summary>
    /// <param name="world">The MPI world (<see cref="MpiWorld.Initialize"/>).</param>
    /// <param name="model">The model every process trains.</param>
    /// <param name="bucketBytes">
    /// Bytes of gradient per all-reduce (default 1 MB, so the seed models span several buckets; PyTorch
    /// DDP's default is 25 MB). Smaller buckets start earlier during backward; larger ones pay MPI's
    /// per-message latency less often.
    /// </param>
    /// <param name="overlap">Start buckets during backward (the default); false waits for the step and reduces them all then (to measure the overlap).</param>
    public DataParallel(MpiWorld world, Model model, int bucketBytes = 1 << 20, bool overlap = true)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, sizeof(float));
        _world = world;
        _model = model;
        BucketBytes = bucketBytes;
        Overlap = overlap;
        _onGradientReady = OnGradientReady;
        model.ProcessGroup = this;
        if (!world.IsRoot)
            model.Output = TextWriter.Null;
    }

    /// <summary>Bytes of gradient per all-reduce bucket.</summary>
    public int BucketBytes { get; }

    /// <summary>Whether buckets start during backward.</summary>
    public bool Overlap { get; }

    /// <inheritdoc/>
    public int Rank => _world.Rank;

    /// <inheritdoc/>
    public int Size => _world.Size;

    /// <summary>What the gradient all-reduces cost so far (since the last <c>Fit</c> began; a value, so updating it allocates nothing).</summary>
    public AllReduceStatistics Statistics { get; private set; } = new();

    /// <summary>
    /// <paramref name="callback"/> on rank 0 only (e.g. <c>ModelCheckpoint</c>: one process writes the
    /// files); on the other ranks a callback that does nothing.
    /// </summary>
    public Callback OnRootOnly(Callback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return _world.IsRoot ? callback : new LambdaCallback();
    }

    /// <summary>Broadcasts rank 0's weights, then hooks the gradient seams.</summary>
    public override void OnTrainBegin()
    {
        Optimizer optimizer = _model.Optimizer ?? throw new InvalidOperationException("DataParallel: compile the model before Fit.");
        foreach (Tensor weight in _model.Weights)
            _world.Broadcast(weight.Span, root: 0); // same order on every rank: layer by layer
        optimizer.GradientReducer = this;
        _buckets?.Abandon(); // a previous Fit that threw between backward and its step
        _buckets = new GradientBuckets(_world, _model.Parameters, BucketBytes);
        Statistics = new AllReduceStatistics { Buckets = _buckets.Count, BytesPerStep = _buckets.Bytes };
        Unhook();
        if (Overlap)
        {
            _tape = Tape.Current; // the thread running Fit
            _tape.GradientReady += _onGradientReady;
        }
    }

    /// <summary>Unhooks from the tape.</summary>
    public override void OnTrainEnd(TrainingHistory history) => Unhook();

    private void OnGradientReady(Tensor parameter)
    {
        if (_buckets is null)
            return;
        if (_stepStarted == 0)
            _stepStarted = Stopwatch.GetTimestamp(); // the first gradient of this step
        _buckets.MarkReady(parameter);
    }

    /// <summary>
    /// The optimizer's reduce step: completes the bucket all-reduces and leaves each gradient holding
    /// the mean over the processes.
    /// </summary>
    public void Reduce(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        GradientBuckets buckets = _buckets ?? throw new InvalidOperationException("DataParallel: Reduce was called before Fit began (OnTrainBegin sets it up).");
        long entered = Stopwatch.GetTimestamp();
        int early = buckets.StartedEarly;
        buckets.Finish(parameters, out double waitSeconds);
        AllReduceStatistics s = Statistics;
        Statistics = s with
        {
            Steps = s.Steps + 1,
            BucketsStartedDuringBackward = s.BucketsStartedDuringBackward + early,
            ReduceSeconds = s.ReduceSeconds + Stopwatch.GetElapsedTime(entered).TotalSeconds,
            WaitSeconds = s.WaitSeconds + waitSeconds,
            BackwardSeconds = s.BackwardSeconds + (_stepStarted == 0 ? 0 : Stopwatch.GetElapsedTime(_stepStarted, entered).TotalSeconds),
        };
        _stepStarted = 0;
    }

    /// <inheritdoc/>
    public void SumAcrossProcesses(Span<double> values) => _world.AllReduceSum(values);

    /// <summary>A lazy optimizer's touched-row masks, summed over the processes (one blocking all-reduce after the gradients').</summary>
    public void SumTouchedRows(Span<float> touchedRows) => _world.AllReduceSum(touchedRows);

    /// <summary>Detaches from the model and the tape.</summary>
    public void Dispose()
    {
        Unhook();
        if (_model.ProcessGroup == this)
            _model.ProcessGroup = null;
        if (_model.Optimizer is { } optimizer && optimizer.GradientReducer == this)
            optimizer.GradientReducer = null;
    }

    private void Unhook()
    {
        if (_tape is not null)
            _tape.GradientReady -= _onGradientReady;
        _tape = null;
        _stepStarted = 0;
    }
}
