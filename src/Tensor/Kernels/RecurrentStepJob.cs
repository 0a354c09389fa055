namespace NanoNet.Kernels;

/// <summary>
/// The time loop of a recurrent kernel (<see cref="LstmKernels"/>, <see cref="GruKernels"/>,
/// <see cref="SimpleRnnKernels"/>): the batch rows (sequences) are independent of each other, so the rows are split
/// into bands ONCE per pass and each worker runs its band through all T steps forward, or through a chunk of steps
/// backward (<see cref="ChunkSteps(int, int, long)"/>, 16 at the IMDB seed shape), inside one parallel region: no
/// barrier and no wake-up per step. The fused LSTM step's forward runs chains of rows instead, a run of steps at a time,
/// each worker taking the free chain furthest behind (<see cref="ForwardInChains"/>, RecurrentStepJob.ForwardChains.cs).
/// A batch that makes one band (below 16 rows) splits its units over the workers instead, with a barrier a step
/// (RecurrentStepJob.UnitSplit.cs).
/// </summary>
/// <remarks>
/// <para>Shape legend: N = batch rows, T = steps; a band is rows [first, end) of every step. Bands are whole
/// multiples of the GEMM micro-kernel's row tile (8 rows with AVX-512), about 8 rows per worker at least.</para>
/// <para>Why one region per pass (or chunk) and not one per step: a step's work per worker is small (at N = 32 and 2 workers,
/// 16 rows of a 512×128 product and the cell, tens of µs), and 2·T regions per training step each paid a wake-up
/// and a join. A band only ever reads its own rows of the state (h_{t−1} of its sequences), so no worker waits for
/// another.</para>
/// <para>Determinism: a row's arithmetic (its GEMM row, its cell) is the same whichever band it lands in, so results
/// are bitwise identical at any thread count.</para>
/// </remarks>
internal abstract unsafe partial class RecurrentStepJob : ParallelJob
{
    /// <summary>N and T of the call.</summary>
    public int Batch, Steps;

    /// <summary>Workers to run the pass on.</summary>
    public int Workers;

    /// <summary>Whether the input is read last step first (the mask column of processing step k is T−1−k).</summary>
    public bool GoBackwards;

    /// <summary>N×T mask (0 = skip the step), or null.</summary>
    public float* Mask;

    /// <summary>The packed B operand of every step's GEMM: R forwards, Rᵀ backwards (null when the step packs its own, as the fused LSTM step does).</summary>
    public PackedMatrix Recurrent = null!;

    private bool _backward;

    // Backward: the two N×U buffers of dh that swap roles every step (dh_t in, dh_{t−1} out), and the steps to run.
    private float* _dhFirst, _dhSecond;
    private int _fromStep, _toStep;

    /// <summary>Sets the call's dimensions and direction; clears the mask.</summary>
    protected void Prepare(int batch, int steps, bool goBackwards, PackedMatrix? recurrent, bool backward)
    {
        Batch = batch;
        Steps = steps;
        GoBackwards = goBackwards;
        Recurrent = recurrent!; // null only for a step that never reads it (the fused LSTM step)
        _backward = backward;
        _unitColumns = null;
        _forwardGateColumns = null;
        Mask = null;
        // About 8 rows per worker at least: below that the second worker costs more than it saves.
        Workers = Math.Clamp(batch / 8, 1, Parallelism.CurrentMaxThreads);
    }

    /// <summary>Whether sequence <paramref name="row"/> skips processing step <paramref name="step"/> (its mask column, reversed when going backwards).</summary>
    protected bool Skipped(int step, int row) =>
        Mask != null && Mask[row * Steps + RecurrentLayout.InputStep(step, Steps, GoBackwards)] == 0f;

    /// <summary>Runs steps 0..T−1 (forward): on one worker every row through every step; on several, each worker its
    /// band of rows through every step, or (<see cref="ForwardInChains"/>) chains of rows taken a run of steps at a time
    /// (<see cref="RunForwardChains"/>).</summary>
    public void RunForward()
    {
        int workers = Parallelism.WorkersFor(Workers); // 1 inside another region
        _unitWorkers = workers == 1 ? UnitWorkers(SplittableUnits) : 1;
        if (_unitWorkers > 1) // one band: split the units instead (RecurrentStepJob.UnitSplit.cs)
        {
            t_unitSplitRuns++;
            BeforeUnitSplit();
            Parallelism.Run(this, _unitWorkers);
            _unitWorkers = 1;
            return;
        }
        if (workers > 1 && ForwardInChains)
            PrepareChains(workers);
        Parallelism.Run(this, workers);
    }

    /// <summary>
    /// Whether the forward pass on several workers runs in chains of one row tile or so, taken as workers come free,
    /// rather than in one fixed band per worker: for a step that runs its rows one register tile at a time (the fused
    /// LSTM step), where a chain costs nothing per row. A step that is a GEMM over its band (GRU, simple RNN, the
    /// two-pass LSTM) keeps the bands: 8-row chains made their GEMMs re-read B twice as often and, on small units, the
    /// hand-overs cost more than the steps (twenty-third sitting: the GRU at U = 64 12% slower, the simple RNN 35%).
    /// </summary>
    protected virtual bool ForwardInChains => false;

    /// <summary>
    /// Runs backward steps <paramref name="toStep"/>−1 down to <paramref name="fromStep"/>: a chunk of the pass, so the
    /// caller can use the chunk's gradient rows while they are still in cache. The chunks must come last to first and
    /// cover T−1..0. Step T−1 reads dh from <paramref name="dhFirst"/> and writes dh_{T−2} to <paramref name="dhSecond"/>;
    /// the two swap roles every step (by the step's distance from T−1, so across chunks too). Returns the buffer the
    /// chunk's last step (<paramref name="fromStep"/>) wrote: for the chunk holding step 0, dh₋₁.
    /// </summary>
    public float* RunBackward(float* dhFirst, float* dhSecond, int fromStep, int toStep)
    {
        SetBackwardBuffers(dhFirst, dhSecond);
        (_fromStep, _toStep) = (fromStep, toStep);
        _unitWorkers = BackwardUnitWorkers;
        if (_unitWorkers > 1) // one band: split the units instead (RecurrentStepJob.UnitSplit.cs)
            t_backwardUnitSplitRuns++;
        Parallelism.Run(this, Math.Max(Workers, _unitWorkers));
        _unitWorkers = 1;
        return DhAfter(fromStep);
    }

    /// <summary>Sets dh's two buffers for <see cref="BackwardBand"/> (as <see cref="RunBackward"/> takes them).</summary>
    internal void SetBackwardBuffers(float* dhFirst, float* dhSecond)
    {
        _dhFirst = dhFirst;
        _dhSecond = dhSecond;
    }

    /// <summary>The buffer backward step <paramref name="fromStep"/> writes dh_{fromStep−1} to.</summary>
    internal float* DhAfter(int fromStep) => (Steps - 1 - fromStep) % 2 == 0 ? _dhSecond : _dhFirst;

    /// <summary>Backward steps <paramref name="toStep"/>−1 down to <paramref name="fromStep"/> for batch rows
    /// [<paramref name="first"/>, <paramref name="end"/>), on the calling worker (one worker's share of
    /// <see cref="RunBackward"/>; <see cref="RecurrentBackwardPipeline"/> calls it directly).</summary>
    internal void BackwardBand(int first, int end, int fromStep, int toStep)
    {
        for (int step = toStep - 1; step >= fromStep; step--)
        {
            bool even = (Steps - 1 - step) % 2 == 0;
            BackwardRows(step, first, end, even ? _dhFirst : _dhSecond, even ? _dhSecond : _dhFirst);
        }
    }

    /// <summary>
    /// Steps per chunk of a backward pass run in chunks (<see cref="RunBackward(float*, float*, int, int)"/>), so that a
    /// chunk's gradient rows (<paramref name="bytesPerRow"/> each: dZ, or a GRU's two gate gradients) are about the size
    /// of L2, and at least one GEMM K slab (KC) of rows: the weight gradients of a chunk then read its rows while they are
    /// still cached, instead of one product over all T·N rows reading them back from memory after the loop.
    /// </summary>
    internal static int ChunkSteps(int batch, int steps, long bytesPerRow) =>
        t_chunkStepsOverride > 0 ? t_chunkStepsOverride
            : ChunkSteps(batch, steps, bytesPerRow, CpuCaches.OfThisMachine.L2, GemmBlocking.ThisMachine.KC);

    /// <summary><see cref="ChunkSteps(int, int, long)"/> on a core with the given caches (tested with recorded descriptions).</summary>
    internal static int ChunkSteps(int batch, int steps, long bytesPerRow, CpuCaches caches) =>
        ChunkSteps(batch, steps, bytesPerRow, caches.L2, GemmBlocking.For(caches).KC);

    private static int ChunkSteps(int batch, int steps, long bytesPerRow, long l2Bytes, int kc)
    {
        long rows = Math.Max(kc, l2Bytes / Math.Max(1, bytesPerRow));
        return (int)Math.Clamp(rows / Math.Max(1, batch), 1, Math.Max(1, steps));
    }

    /// <summary>Steps per chunk on this thread, set by the tests to run many chunks on small shapes (0: the rule).</summary>
    internal static int ChunkStepsOverride
    {
        get => t_chunkStepsOverride;
        set => t_chunkStepsOverride = value;
    }

    [ThreadStatic] private static int t_chunkStepsOverride;

    /// <summary>Rows per band for <paramref name="workers"/> workers: an even share rounded up to whole row tiles of the GEMM
    /// micro-kernel, or on the 6×16 kernel to whole tiles and one 4-row edge strip (<see cref="GemmMicroKernels.Kernel4x16"/>,
    /// as fast a row as a whole tile): a batch of 32 on two workers is then 16 + 16 rows, two tiles and an edge each,
    /// instead of 18 + 14, three tiles' time each.</summary>
    internal static int BandRows(int batch, int workers) => BandRows(batch, workers, Gemm.BestKernel);

    /// <summary><see cref="BandRows(int, int)"/> for the <paramref name="kind"/> micro-kernel (tested on every kind on one machine).</summary>
    internal static int BandRows(int batch, int workers, GemmKernelKind kind)
    {
        int tile = GemmMicroKernels.TileSize(kind).Mr;
        int share = (batch + workers - 1) / workers;
        if (kind == GemmKernelKind.Vector256 && share % tile is > 0 and <= 4)
            return share - share % tile + 4;
        return (share + tile - 1) / tile * tile;
    }

    public override void RunWorker(int worker, int workerCount)
    {
        if (_unitWorkers > 1)
        {
            if (_backward)
                RunBackwardUnits(worker, workerCount);
            else
                RunForwardUnits(worker, workerCount);
            return;
        }
        if (!_backward && workerCount > 1 && ForwardInChains)
        {
            RunForwardChains(worker, workerCount);
            return;
        }
        int band = BandRows(Batch, workerCount);
        int first = worker * band, end = Math.Min(Batch, first + band);
        if (first >= end)
            return;
        if (!_backward)
        {
            for (int step = 0; step < Steps; step++)
                ForwardRows(step, first, end);
            return;
        }
        BackwardBand(first, end, _fromStep, _toStep);
    }

    /// <summary>Forward step <paramref name="step"/> for batch rows [first, end).</summary>
    protected abstract void ForwardRows(int step, int first, int end);

    /// <summary>Backward step <paramref name="step"/> for batch rows [first, end): dh_t arrives in <paramref name="hIn"/>, dh_{t−1} goes to <paramref name="hOut"/>.</summary>
    protected abstract void BackwardRows(int step, int first, int end, float* hIn, float* hOut);
}
