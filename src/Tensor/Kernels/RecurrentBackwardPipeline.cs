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
/// P workers: S step workers (bands of the first N − b rows, as <see cref="RecurrentStepJob"/> cuts them; b = the shared
/// strip's rows, often 0) and Q = P − S product workers
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
/// <para>The shared strip (<see cref="SharedRows"/>: the batch's last row tile, 4 rows on the 6×16 kernel): its steps
/// belong to no role. A step role runs its next chunk right after its own rows of the same chunk unless another role
/// has; a product role with nothing to multiply runs it as far ahead as it likes. So the roles balance as they run, on
/// whatever machine and minute: the step role's share was fixed before, and the product role sat idle while the steps
/// ran on (or the steps waited on the products). The first step role sums each chunk per id once the strip is done with
/// it, else after its next chunk, never waiting for a role that holds the strip.</para>
/// <para>The first chunk's steps run on every worker (a band of rows each, of a split over all P): until it is done the
/// product roles have nothing to multiply. The step roles then take their own bands from the second chunk on.</para>
/// <para>The hand-off: step role i publishes how many chunks its band has finished (a release write of its own
/// counter); chunk k's products may start when every band and the shared strip have finished it (acquire reads). They run in lanes
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
    [ThreadStatic] private static int t_sharedOverridePlusOne; // 0: the rule

    private RecurrentStepJob _steps = null!;
    private SideBySideWeightGradients.Work _whole;
    private int _batch, _stepCount, _chunk, _chunks, _firstStep, _stepRoles, _productRoles, _sharedRows, _lanes;
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
    /// <param name="stepOperandBytes">The bytes of every step's packed B operand (Rᵀ, or [Rᵀ | Wᵀ] with dX).</param>
    /// <param name="sharedRows">b: the last rows of the batch, whose steps any role may run chunk by chunk (0 for none,
    /// <see cref="SharedRows"/>).</param>
    internal static bool Plan(int workers, int batch, int chunks, double stepCostPerRow, double productCostPerRow,
        long stepOperandBytes, out int stepRoles, out int productRoles, out int sharedRows)
    {
        stepRoles = productRoles = sharedRows = 0;
        if (workers < 2 || chunks < 2 || productCostPerRow <= 0 || t_override < 0)
            return false;
        double total = stepCostPerRow + productCostPerRow;
        int maxStepRoles = Math.Min(workers - 1, Math.Max(1, batch / 8));
        stepRoles = Math.Clamp((int)Math.Round(workers * stepCostPerRow / total), 1, maxStepRoles);
        productRoles = workers - stepRoles;
        double slowest = Math.Max(stepCostPerRow / stepRoles, productCostPerRow / productRoles);
        sharedRows = t_sharedOverridePlusOne > 0 ? t_sharedOverridePlusOne - 1
            : SharedRows(Gemm.BestKernel, batch, stepRoles, stepOperandBytes, CpuCaches.OfThisMachine.L2);
        return t_override > 0 || slowest <= 1.25 * total / workers;
    }

    /// <summary>
    /// The rows of the shared strip (<see cref="TryRunSharedChunk"/>): one row tile of the <paramref name="kernel"/> (on the
    /// 6×16 kernel one 4-row edge strip, as fast a row as a whole tile), when the step roles' rows without it and the strip
    /// together cost no more register tiles than their rows with it, and the step's B operand fills at most half of L2
    /// (the strip's own product reads all of B again for its few rows — what a step role that runs the strip itself pays:
    /// from L2 then, from L3 beyond it); else 0.
    /// </summary>
    /// <remarks>Why: on two workers the step role runs every row's steps while the product role's share of the work is
    /// smaller or larger by an amount that depends on the machine and the minute (IMDB's backward on the forty-fifth
    /// sitting's Zen 3: the product role idle ~3 ms of a ~22 ms pass; a fixed band of 4 rows for it made it the slower role
    /// instead, the step role waiting 2–5 ms on it). A strip that either may take, chunk by chunk, balances the two as they
    /// run: imdb-train at 2 threads 2.4–3.7% faster (benchmarks/README.md, forty-fifth sitting). Its rows cost more than
    /// the others (its product reads all of B again for 4 rows: ~1.5x a row of the 28-row band there), so with a B of
    /// all of L2 (text-train's [Rᵀ | Wᵀ], 512 KB, on that 512 KB L2) the step ran 3% slower with it.</remarks>
    internal static int SharedRows(GemmKernelKind kernel, int batch, int stepRoles, long stepOperandBytes, long l2Bytes)
    {
        if (stepOperandBytes > l2Bytes / 2)
            return 0;
        int strip = kernel == GemmKernelKind.Vector256 ? 4 : GemmMicroKernels.TileSize(kernel).Mr;
        if (batch - strip < stepRoles * 8)
            return 0;
        int without = TiledRows(kernel, RecurrentStepJob.BandRows(batch, stepRoles, kernel));
        int with = TiledRows(kernel, RecurrentStepJob.BandRows(batch - strip, stepRoles, kernel)) + TiledRows(kernel, strip);
        return with <= without ? strip : 0;
    }

    /// <summary>What <paramref name="rows"/> rows of a step cost in rows of the <paramref name="kernel"/>'s register tiles: an
    /// upper bound on the 6×16 kernel, whose 4-row edge kernel runs 1–2 rows somewhat faster than 4 (benchmarks/README.md,
    /// forty-fifth sitting: splitting 32 rows as 24 + 4 + 4 gained 0–2%).</summary>
    internal static int TiledRows(GemmKernelKind kernel, int rows)
    {
        int tile = GemmMicroKernels.TileSize(kernel).Mr, rest = rows % tile;
        if (rest == 0)
            return rows;
        return rows - rest + (kernel == GemmKernelKind.Vector256 && rest <= 4 ? 4 : tile);
    }

    /// <summary>Set by the tests on this thread: the shared strip's rows (−1: the rule, <see cref="SharedRows"/>).</summary>
    internal static int SharedRowsOverride
    {
        get => t_sharedOverridePlusOne - 1;
        set => t_sharedOverridePlusOne = value + 1;
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
    /// <param name="sharedRows">b, from <see cref="Plan"/>: the shared strip's rows (0: none).</param>
    /// <param name="afterTheSteps">Null, or work that needs every chunk's per-id sums: run as two workers of a region, worker 0
    /// on the first step role once it has summed the last chunk, worker 1 on the first product role once every lane has
    /// added every chunk (both as soon as they are free, instead of a region of its own after this one). With it the
    /// step roles take no lanes.</param>
    public static void Run(RecurrentStepJob steps, in SideBySideWeightGradients.Work whole, int chunk, int firstStep,
        int stepRoles, int productRoles, int sharedRows = 0, ParallelJob? afterTheSteps = null)
    {
        RecurrentBackwardPipeline job = t_cached ??= new RecurrentBackwardPipeline();
        job._steps = steps;
        job._whole = whole;
        (job._batch, job._stepCount, job._chunk, job._firstStep) = (steps.Batch, steps.Steps, chunk, firstStep);
        job._chunks = (steps.Steps + chunk - 1) / chunk;
        (job._stepRoles, job._productRoles) = (stepRoles, productRoles);
        job._sharedRows = Math.Clamp(sharedRows, 0, steps.Batch - stepRoles);
        job._afterTheSteps = afterTheSteps;
        // Without work after the steps, a step role that is done helps with the products, so there must be a second lane
        // even for one product role (at two threads with D = U the cut falls between dW and dR: no product is split).
        // More lanes than product roles would only narrow each product role's pieces while the steps run (each piece
        // packs its own Aᵀ), so beyond two there is one lane per product role.
        job._lanes = afterTheSteps == null ? Math.Max(2, productRoles) : productRoles;
        int length = (2 * stepRoles + productRoles + 2) * CounterStride;
        if (job._finished.Length < length)
            job._finished = new int[length];
        Array.Clear(job._finished);
        // Chunk 0 of the shared strip's rows is in the first chunk's bands; without a strip, nothing is left to wait for.
        job._finished[job.SharedCounter] = job._sharedRows > 0 ? 1 : job._chunks;
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
        (int first, int end) = Band(band);
        RunFirstChunkBand(band);
        for (int role = 0; role < _stepRoles + _productRoles; role++) // the next chunk reads dh and dc of every row
            WaitFor(FirstChunkCounter(role), 1);
        bool sums = band == 0 && _whole.GroupOf != null;
        int summed = 0;
        for (int k = 0; k < _chunks; k++)
        {
            (int from, int to) = Chunk(k);
            if (k > 0 && first < end)
                _steps.BackwardBand(first, end, from, to);
            Volatile.Write(ref _finished[band * CounterStride], k + 1);
            while (StepRolesTakeSharedChunks && TryRunSharedChunk(band, k + 1)) // the shared strip's chunks up to this one that no other role took
            {
            }
            // On embedded ids the first step role sums each chunk's dZ per id, in order, right after the chunk if every
            // band and the shared strip are done with it (the rows it just wrote are in its L2), else after the next
            // chunk's steps (instead of waiting for a role that holds the shared strip).
            for (; sums && summed <= k && OtherBandsFinished(summed + 1); summed++)
                SumGroups(summed);
        }
        for (; sums && summed < _chunks; summed++)
        {
            WaitForTheOtherBands(summed + 1);
            SumGroups(summed);
        }
        if (band == 0 && _afterTheSteps != null)
        {
            WaitForTheOtherBands(_chunks); // as the sums of the last chunk did
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

    // The counters, each on its own line: step band b's finished chunks (b < S); the shared strip's finished chunks and,
    // at +1, whether a role holds it; "every chunk summed per id"; role r's band of chunk 0 done (r < S + Q). The product
    // roles' progress lives in the lanes (_lane).
    private int SharedCounter => _stepRoles * CounterStride;
    private int SummedCounter => (_stepRoles + 1) * CounterStride;
    private int FirstChunkCounter(int role) => (_stepRoles + 2 + role) * CounterStride;

    /// <summary>Step role <paramref name="band"/>'s rows from the second chunk on: its share of the rows before the
    /// shared strip (<see cref="RecurrentStepJob.BandRows(int, int)"/>).</summary>
    private (int First, int End) Band(int band)
    {
        int stepRows = _batch - _sharedRows, rows = RecurrentStepJob.BandRows(stepRows, _stepRoles);
        int first = Math.Min(stepRows, band * rows);
        return (first, Math.Min(stepRows, first + rows));
    }

    /// <summary>Chunk <paramref name="k"/>'s dZ summed per id (db stays with the product lanes: the roles' balance).</summary>
    private void SumGroups(int k)
    {
        (int from, int to) = Chunk(k);
        ChunkWork(from, to).SumGroups(andBias: false);
    }

    /// <summary>Whether every step band but the first, and the shared strip, have finished <paramref name="chunks"/> chunks.</summary>
    private bool OtherBandsFinished(int chunks)
    {
        for (int other = 1; other < _stepRoles; other++)
            if (Volatile.Read(ref _finished[other * CounterStride]) < chunks)
                return false;
        return Volatile.Read(ref _finished[SharedCounter]) >= chunks;
    }

    /// <summary>Waits until every step band but the first, and the shared strip, have finished <paramref name="chunks"/> chunks.</summary>
    private void WaitForTheOtherBands(int chunks)
    {
        for (int other = 1; other < _stepRoles; other++)
            WaitFor(other * CounterStride, chunks);
        WaitFor(SharedCounter, chunks);
    }

    /// <summary>
    /// The shared strip (the last <see cref="SharedRows"/> rows of the batch): any role may run its next chunk of steps,
    /// in order, one role at a time. Runs it when it is free and has finished fewer than <paramref name="limit"/> chunks
    /// (a step role passes its own chunk + 1; a product role with nothing to multiply runs it as far as it goes); false
    /// when it did not.
    /// </summary>
    /// <remarks>Safe as the lanes are: taken by a compare-and-swap, given back by a release write after its steps, so the
    /// next holder sees the dh and dc rows the last one left; a row's arithmetic does not depend on the role, so the bits
    /// are one thread's.</remarks>
    private bool TryRunSharedChunk(int worker, int limit)
    {
        if (_sharedRows == 0)
            return false;
        limit = Math.Min(limit, _chunks);
        ref int done = ref _finished[SharedCounter];
        ref int held = ref _finished[SharedCounter + 1];
        if (Volatile.Read(ref done) >= limit || Volatile.Read(ref held) != 0 || Interlocked.CompareExchange(ref held, 1, 0) != 0)
            return false;
        int k = done; // held: no other role moves it
        bool runs = k < limit;
        if (runs)
        {
            SharedChunkStarting?.Invoke(worker, k);
            (int from, int to) = Chunk(k);
            _steps.BackwardBand(_batch - _sharedRows, _batch, from, to);
            Volatile.Write(ref done, k + 1);
        }
        Volatile.Write(ref held, 0);
        return runs;
    }

    /// <summary>Set by the tests: called before each chunk of the shared strip, with the worker and the chunk.</summary>
    internal static Action<int, int>? SharedChunkStarting;

    /// <summary>Cleared by the tests: the step roles then leave the shared strip to the product roles.</summary>
    internal static bool StepRolesTakeSharedChunks = true;

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
                // Nothing to multiply yet: the shared strip's steps, if the step roles are past the first chunk.
                if (best < 0 && StepBandsFinished() > 0 && (worker >= _stepRoles || StepRolesTakeSharedChunks)
                    && TryRunSharedChunk(worker, _chunks))
                {
                    spinner = default;
                    continue;
                }
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

    /// <summary>How many chunks every step band and the shared strip have finished: the products of those may run.</summary>
    private int PublishedChunks() => Math.Min(StepBandsFinished(), Volatile.Read(ref _finished[SharedCounter]));

    /// <summary>How many chunks every step band has finished.</summary>
    private int StepBandsFinished()
    {
        int finished = _chunks;
        for (int band = 0; band < _stepRoles; band++)
            finished = Math.Min(finished, Volatile.Read(ref _finished[band * CounterStride]));
        return finished;
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
        if (work.DZR != null)
            work.DZR += (long)from * n * work.G;
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
