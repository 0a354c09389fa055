namespace NanoNet.Kernels;

/// <summary>
/// The LSTM's backward pass on several workers as a two-stage pipeline, in one parallel region: the step workers run
/// the backward steps chunk after chunk (last to first, as <see cref="RecurrentStepJob.RunBackward"/> does), and the
/// product workers add each finished chunk's weight gradients (<see cref="SideBySideWeightGradients.Work"/>: dW, dR
/// and db) while the steps go on with the next chunk.
/// </summary>
/// <remarks>
/// <para>Shape legend: N = batch rows, T = steps, C = steps per chunk (<see cref="RecurrentStepJob.ChunkSteps(int, int, long)"/>);
/// chunk k holds steps [max(0, T − (k+1)·C), T − k·C), so chunk 0 is the last steps and the last chunk holds step 0.
/// P workers: S step workers (bands of rows, as <see cref="RecurrentStepJob"/> cuts them) and Q = P − S product workers
/// (lanes of every chunk's line, <see cref="RunLanes"/>: Q lanes, at least two when no work follows the steps and the
/// step workers take lanes too once their steps are done).</para>
/// <para>Why: without it, each chunk is two regions, the steps split by rows and then the products split by columns,
/// and both splits lose. On the IMDB seed model at 2 threads (benchmarks/README.md, twentieth sitting) the steps ran
/// 1.5x one worker (dh_{t−1} = dZ·Rᵀ on 16-row bands at 81% of the FMA peak, against 97% for 32 rows) and the
/// products 1.5x. Here each stage runs as one worker runs it, and the two overlap: the steps' time and the
/// products' time are about equal there, so two workers take about half of one worker's time.</para>
/// <para>On embedded ids the first step role sums each chunk's dZ per id right after the chunk's steps (those rows are
/// in its own L2; the product roles would read them from the other core), and once the last chunk is summed the work
/// that needs every sum (<c>afterTheSteps</c>: dW = Eᵀ·S and the rows' gradients S·Wᵀ) runs on the first step role and
/// the first product role as each comes free, filling the steps' idle tail.</para>
/// <para>The first chunk's steps run on every worker (a band of rows each, of a split over all P): until it is done the
/// product roles have nothing to multiply. The step roles then take their own bands from the second chunk on.</para>
/// <para>The hand-off: step role i publishes how many chunks its band has finished (a release write of its own
/// counter); chunk k's products may start when every band has finished it (acquire reads). They run in lanes
/// (<see cref="RunLanes"/>): every chunk's line is cut at the same columns, one piece per lane, and a lane's pieces
/// run in chunk order on whichever worker holds it; a step role done with its steps takes lanes too when no work
/// follows the steps. The steps of chunk k + 1 read and write only their own steps' rows (dZ may be
/// written over the saved gates, <see cref="Autograd.Tape.ConsumingGraph"/>), so the products read chunk k's dZ, X̃ and H_prev
/// while the steps go on.</para>
/// <para>Determinism: a row's step arithmetic is the same whichever band holds it, and a product's bits do not depend
/// on where the line is cut, so the results are bitwise those of one thread.</para>
/// <para>When: <see cref="Plan"/> weighs the two stages in FMAs per row and pipelines when the slower stage's share
/// per worker is at most 1.25× an even share of the whole (beyond that the split passes win).</para>
/// </remarks>
internal sealed unsafe class RecurrentBackwardPipeline : ParallelJob
{
    /// <summary>
    /// What the backward cell costs per gate column of a row, in FMAs of a GEMM column (it reads the gates, c, tanh c
    /// and writes dZ): on the Zen 5 VM of the twentieth sitting the cell took 1.05–1.13 ms and dh·Rᵀ (128 FMAs per
    /// gate column) 3.9–4.1 ms at the IMDB seed shape, about 32 to 128.
    /// </summary>
    internal const int BackwardCellCost = 32;

    // One counter per role, each on a 64-byte line of its own: the roles spin on the others' lines while they write their own.
    private const int CounterStride = 16;

    [ThreadStatic] private static RecurrentBackwardPipeline? t_cached;
    [ThreadStatic] private static int t_override, t_runs;

    private RecurrentStepJob _steps = null!;
    private SideBySideWeightGradients.Work _whole;
    private int _batch, _stepCount, _chunk, _chunks, _firstStep, _stepRoles, _productRoles, _lanes;
    private int[] _finished = [];
    // Per lane ℓ, on a line of its own: at ℓ·CounterStride whether a worker holds it (0 free, 1 held), at +1 how many
    // chunks it has added (written only by its holder).
    private int[] _lane = [];
    private ParallelJob? _afterTheSteps;

    /// <summary>Set by the tests: called before each chunk of a lane, with the worker, the lane and the chunk.</summary>
    internal static Action<int, int, int>? LaneChunkStarting;

    /// <summary>Set by the tests on this thread: +1 pipelines whenever it can (two workers, a chunk, a product), −1 never, 0 the rule.</summary>
    internal static int Override
    {
        get => t_override;
        set => t_override = value;
    }

    /// <summary>How many passes this thread has pipelined (for the tests).</summary>
    internal static int Runs => t_runs;

    /// <summary>
    /// Whether to pipeline on <paramref name="workers"/> workers, and with how many step roles
    /// (<paramref name="stepRoles"/>) and product roles (<paramref name="productRoles"/>).
    /// </summary>
    /// <param name="workers">P, the workers a region would get.</param>
    /// <param name="batch">N: at most one step role per 8 rows (<see cref="RecurrentStepJob"/>'s bands).</param>
    /// <param name="chunks">The chunks of the pass: with one, nothing overlaps.</param>
    /// <param name="stepCostPerRow">A step's FMAs per row (its GEMMs, and the cell weighed by <see cref="BackwardCellCost"/>).</param>
    /// <param name="productCostPerRow">The products' FMAs per row (and the grouped sums, weighed as
    /// <see cref="SideBySideWeightGradients.GroupedFloatCost"/> per float); 0 when there are none.</param>
    /// <param name="stepRoles">S: workers that run the steps, each a band of rows.</param>
    /// <param name="productRoles">Q = P − S: workers that run the products, taking lanes of every chunk's line (<see cref="RunLanes"/>).</param>
    internal static bool Plan(int workers, int batch, int chunks, double stepCostPerRow, double productCostPerRow,
        out int stepRoles, out int productRoles)
    {
        stepRoles = productRoles = 0;
        if (workers < 2 || chunks < 2 || productCostPerRow <= 0 || t_override < 0)
            return false;
        double total = stepCostPerRow + productCostPerRow;
        int maxStepRoles = Math.Min(workers - 1, Math.Max(1, batch / 8));
        stepRoles = Math.Clamp((int)Math.Round(workers * stepCostPerRow / total), 1, maxStepRoles);
        productRoles = workers - stepRoles;
        double slowest = Math.Max(stepCostPerRow / stepRoles, productCostPerRow / productRoles);
        return t_override > 0 || slowest <= 1.25 * total / workers;
    }

    /// <summary>
    /// Runs the whole backward pass: <paramref name="steps"/> (prepared, with its dh buffers set) through every chunk,
    /// and <paramref name="whole"/>'s products over each chunk's rows (its operands point at row 0 of the time-major
    /// T·N-row matrices; its Rows, RowsH and Tasks are set per chunk here).
    /// </summary>
    /// <param name="steps">The backward step job (see the summary).</param>
    /// <param name="whole">The products' operands at row 0 (see the summary).</param>
    /// <param name="chunk">C, steps per chunk.</param>
    /// <param name="firstStep">0 with an initial state, else 1: h₋₁ = 0 adds nothing to dR.</param>
    /// <param name="stepRoles">S, from <see cref="Plan"/>.</param>
    /// <param name="productRoles">Q, from <see cref="Plan"/>.</param>
    /// <param name="afterTheSteps">Null, or work that needs every chunk's per-id sums: run as two workers of a region, worker 0
    /// on the first step role once it has summed the last chunk, worker 1 on the first product role once every lane has
    /// added every chunk (both as soon as they are free, instead of a region of its own after this one). With it the
    /// step roles take no lanes.</param>
    public static void Run(RecurrentStepJob steps, in SideBySideWeightGradients.Work whole, int chunk, int firstStep,
        int stepRoles, int productRoles, ParallelJob? afterTheSteps = null)
    {
        RecurrentBackwardPipeline job = t_cached ??= new RecurrentBackwardPipeline();
        job._steps = steps;
        job._whole = whole;
        (job._batch, job._stepCount, job._chunk, job._firstStep) = (steps.Batch, steps.Steps, chunk, firstStep);
        job._chunks = (steps.Steps + chunk - 1) / chunk;
        (job._stepRoles, job._productRoles) = (stepRoles, productRoles);
        job._afterTheSteps = afterTheSteps;
        // Without work after the steps, a step role that is done helps with the products, so there must be a second lane
        // even for one product role (at two threads with D = U the cut falls between dW and dR: no product is split).
        // More lanes than product roles would only narrow each product role's pieces while the steps run (each piece
        // packs its own Aᵀ), so beyond two there is one lane per product role.
        job._lanes = afterTheSteps == null ? Math.Max(2, productRoles) : productRoles;
        int length = (2 * stepRoles + productRoles + 1) * CounterStride;
        if (job._finished.Length < length)
            job._finished = new int[length];
        Array.Clear(job._finished);
        if (job._lane.Length < job._lanes * CounterStride)
            job._lane = new int[job._lanes * CounterStride];
        Array.Clear(job._lane);
        t_runs++;
        try
        {
            Parallelism.Run(job, stepRoles + productRoles);
        }
        finally
        {
            job._steps = null!;
            job._whole = default;
            job._afterTheSteps = null;
        }
    }

    public override void RunWorker(int worker, int workerCount)
    {
        if (workerCount < _stepRoles + _productRoles)
        {
            // A smaller region than planned (never today: the caller plans with the workers a region gets): the first
            // worker runs every role's share chunk by chunk, steps before products, and no role waits.
            if (worker == 0)
                for (int k = 0; k < _chunks; k++)
                {
                    (int from, int to) = Chunk(k);
                    _steps.BackwardBand(0, _batch, from, to);
                    for (int lane = 0; lane < _lanes; lane++) // the grouped sums at the head of lane 0
                        ChunkWork(from, to).RunTask(lane);
                }
            if (worker == 0)
                _afterTheSteps?.RunWorker(0, 1);
            return;
        }
        if (worker < _stepRoles)
        {
            RunSteps(worker);
            if (_afterTheSteps == null)
                RunLanes(worker, _productRoles + worker); // done with the steps: help with the products left
        }
        else
        {
            RunFirstChunkBand(worker);
            RunLanes(worker, worker - _stepRoles);
            if (worker == _stepRoles && _afterTheSteps != null)
            {
                WaitFor(SummedCounter, 1);
                _afterTheSteps.RunWorker(1, 2);
            }
        }
    }

    /// <summary>Step role <paramref name="band"/>: its rows through every chunk, publishing each finished chunk.</summary>
    private void RunSteps(int band)
    {
        int rows = RecurrentStepJob.BandRows(_batch, _stepRoles);
        int first = Math.Min(_batch, band * rows), end = Math.Min(_batch, first + rows);
        RunFirstChunkBand(band);
        for (int role = 0; role < _stepRoles + _productRoles; role++) // the next chunk reads dh and dc of every row
            WaitFor(FirstChunkCounter(role), 1);
        for (int k = 0; k < _chunks; k++)
        {
            (int from, int to) = Chunk(k);
            if (k > 0 && first < end)
                _steps.BackwardBand(first, end, from, to);
            Volatile.Write(ref _finished[band * CounterStride], k + 1);
            if (band == 0 && _whole.GroupOf != null)
            {
                // On embedded ids the first step role sums the chunk's dZ per id: the rows it just wrote are in its L2.
                for (int other = 1; other < _stepRoles; other++)
                    WaitFor(other * CounterStride, k + 1);
                ChunkWork(from, to).SumGroups(andBias: false); // db stays with the product lanes: the roles' balance
            }
        }
        if (band == 0 && _afterTheSteps != null)
        {
            for (int other = 1; other < _stepRoles; other++) // the sums of the last chunk waited for every band
                WaitFor(other * CounterStride, _chunks);
            Volatile.Write(ref _finished[SummedCounter], 1);
            _afterTheSteps.RunWorker(0, 2);
        }
    }

    /// <summary>
    /// Chunk 0's steps, role <paramref name="role"/>'s band of a split over every worker: until the first chunk is done
    /// the product roles have nothing to multiply, so they take rows of its steps instead of waiting.
    /// </summary>
    private void RunFirstChunkBand(int role)
    {
        int rows = RecurrentStepJob.BandRows(_batch, _stepRoles + _productRoles);
        int first = Math.Min(_batch, role * rows), end = Math.Min(_batch, first + rows);
        (int from, int to) = Chunk(0);
        if (first < end)
            _steps.BackwardBand(first, end, from, to);
        Volatile.Write(ref _finished[FirstChunkCounter(role)], 1);
    }

    // The counters, each on its own line: step band b's finished chunks (b < S), then "every chunk summed per id", then
    // role r's band of chunk 0 done (r < S + Q). The product roles' progress lives in the lanes (_lane).
    private int SummedCounter => _stepRoles * CounterStride;
    private int FirstChunkCounter(int role) => (_stepRoles + 1 + role) * CounterStride;

    /// <summary>
    /// The products of every chunk, by lanes: each chunk's line is cut into <see cref="_lanes"/> pieces at the same
    /// columns for every chunk, and lane ℓ is piece ℓ of chunk 0, then of chunk 1, and so on, in that order (each adds
    /// into its own columns of dW, dR and db). A worker takes a free lane whose next chunk the steps have finished, the
    /// one furthest behind (its own lane, <paramref name="ownLane"/>, on a tie), holds it for one chunk and releases it,
    /// until every lane has added every chunk.
    /// </summary>
    /// <remarks>
    /// <para>Why: the product roles keep pace with the steps only on average. In text-train at 2 threads (Zen 5 VM,
    /// benchmarks/README.md, twenty-fourth sitting) the product role, reading each dZ from the other core, ran 2.5 ms a
    /// step past the step role's last chunk while the step role waited; a step role now takes lanes too once its steps
    /// are done (when no work follows the steps), and the two finish within about one lane's chunk of each other.</para>
    /// <para>Determinism: a lane's chunks run in order whoever holds it (taking a lane is a compare-and-swap, releasing
    /// it a release write after its products, so the next holder sees them), and a product's bits do not depend on
    /// where the line is cut or on the worker, so the results are bitwise those of one thread.</para>
    /// </remarks>
    private void RunLanes(int worker, int ownLane)
    {
        var spinner = new SpinWait();
        while (true)
        {
            int published = PublishedChunks();
            int best = -1, bestDone = int.MaxValue;
            bool allDone = true;
            for (int i = 0; i < _lanes; i++)
            {
                int lane = (ownLane + i) % _lanes;
                int done = Volatile.Read(ref _lane[lane * CounterStride + 1]);
                allDone &= done == _chunks;
                if (done < published && done < bestDone && Volatile.Read(ref _lane[lane * CounterStride]) == 0)
                    (best, bestDone) = (lane, done);
            }
            if (allDone)
                return;
            if (best < 0 || Interlocked.CompareExchange(ref _lane[best * CounterStride], 1, 0) != 0)
            {
                if (WorkerPool.RegionFailed) // the worker holding a lane or running the steps will never get there
                    throw new OperationCanceledException("Another worker of this parallel region failed.");
                spinner.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            int k = _lane[best * CounterStride + 1]; // as its last holder left it
            if (k < published)
            {
                LaneChunkStarting?.Invoke(worker, best, k);
                (int from, int to) = Chunk(k);
                SideBySideWeightGradients.Work products = ChunkWork(from, to);
                products.GroupOf = null; // the step role sums the groups
                products.RunTask(best);
                Volatile.Write(ref _lane[best * CounterStride + 1], k + 1);
            }
            Volatile.Write(ref _lane[best * CounterStride], 0);
            spinner = default;
        }
    }

    /// <summary>How many chunks every step band has finished: the products of those may run.</summary>
    private int PublishedChunks()
    {
        int published = _chunks;
        for (int band = 0; band < _stepRoles; band++)
            published = Math.Min(published, Volatile.Read(ref _finished[band * CounterStride]));
        return published;
    }

    /// <summary>Chunk k's steps [from, to): chunk 0 ends at T.</summary>
    private (int From, int To) Chunk(int k)
    {
        int to = _stepCount - k * _chunk;
        return (Math.Max(0, to - _chunk), to);
    }

    /// <summary>The products of steps [from, to): rows [from·N, to·N) of dZ, X̃ and the groups, and H_prev from the first
    /// step whose h_{k−1} counts (as <see cref="RecurrentChunkProducts"/> slices them).</summary>
    private SideBySideWeightGradients.Work ChunkWork(int from, int to)
    {
        SideBySideWeightGradients.Work work = _whole;
        int n = _batch, firstH = Math.Max(from, _firstStep);
        work.Rows = (to - from) * n;
        work.RowsH = Math.Max(0, to - firstH) * n;
        work.DZ += (long)from * n * work.G;
        if (work.X != null)
            work.X += (long)from * n * work.D;
        if (work.RowsH > 0) // else no h_{k−1} of this chunk counts: its dR pieces add nothing
            work.H += (long)firstH * n * work.U;
        if (work.GroupOf != null)
            work.GroupOf += (long)from * n;
        work.LastGroupSums = from == 0; // chunk by chunk last to first: the chunk from step 0 ends the per-id sums
        work.Tasks = _lanes;
        // Every chunk's line cut where a whole chunk's is: a column stays in its lane (the last chunk may be shorter, and
        // without an initial state the first step's h₋₁ has no row in H_prev).
        work.CutRows = work.CutRowsH = _chunk * n;
        return work;
    }

    /// <summary>Spins (yielding, never sleeping) until the counter at <paramref name="counter"/> reaches <paramref name="value"/>.</summary>
    private void WaitFor(int counter, int value)
    {
        var spinner = new SpinWait();
        while (Volatile.Read(ref _finished[counter]) < value)
        {
            if (WorkerPool.RegionFailed) // that role will never get there: the pool reports its exception
                throw new OperationCanceledException("Another worker of this parallel region failed.");
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
