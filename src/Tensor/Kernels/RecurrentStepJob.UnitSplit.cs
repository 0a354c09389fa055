namespace NanoNet.Kernels;

/// <summary>
/// The forward and backward passes of a batch too small to split into bands of rows (below 16: one sequence, an app
/// classifying one text at a time, or a handful) split by units instead: each worker takes a range of the units, for
/// every row and step, and the workers meet at a barrier once a step: forward after each step, since step t + 1 reads
/// all of h_t; backward between a step's cell and its product, since dh_{t−1} = dZ_t·Rᵀ reads all of dZ_t.
/// </summary>
/// <remarks>
/// <para>Shape legend: U = units, 4U = the gate columns (an LSTM's i, f, g, o blocks, U apart); a worker's range is units
/// [first, end), multiples of <see cref="UnitQuantum"/>, so its gate columns are four ranges [g·U + first, g·U + end).</para>
/// <para>Why: at batch 1 a step is a matrix-vector product that reads the whole recurrent kernel (U×4U: 256 KB at
/// U = 128) from L2 to use each element once, then the cell; one core streams it at its L2's pace, and a second core
/// had nothing to do. Split by units, each core reads only its columns of the kernel (which stay in its own L2 from step
/// to step) and runs the cell on its own units; what it costs is one barrier a step (a spin of a few hundred ns). The
/// LSTM's fused step (3 to 15 rows) splits the same way by its 8-unit panels, training and streamed inference; the GRU
/// and the simple RNN where their product runs a row at a time, or, for batches of whole 512-bit row tiles, against each
/// worker's gate columns of R packed on their own (<see cref="PackForwardGateColumns"/>). On a Zen 3 core, T = 200, U = 128, 1 → 2 threads: one
/// sequence's predict 1.29 → 0.64 ms, 3 rows' training forward 2.05 → 1.14, 8 rows' inference 6.05 → 2.96
/// (benchmarks/README.md, forty-ninth sitting).</para>
/// <para>Backward, each worker takes one range of the step product's columns, [dh_{t−1} | dX_t] for the LSTM (U + D
/// columns) or dh_{t−1} alone (<see cref="BackwardColumns"/>); its units [a, b) are the part of the range below U. Step t
/// is: the cell on its units (dZ_t's columns of its units in each gate, from dh_t and dc_t of its units), the barrier,
/// then its columns of dZ_t·[Rᵀ | Wᵀ] (rows a..b of R and its rows of W: a share of the kernels per core). The next
/// step's cell reads only dh_{t−1}[a, b), which this worker just wrote, so one barrier a step is enough: a worker ahead
/// writes dZ_{t−1} (other rows of dZ) while one behind still reads dZ_t. The product runs a row at a time
/// (<see cref="GemmRows.MultiplyColumnRange"/>), or, for the LSTM's batches of whole row tiles, against each worker's
/// columns packed as a matrix of their own. The chunks' weight gradients (dW, dR, db over the chunk's rows) run after
/// each chunk on every worker, as for a batch of bands that is not pipelined.</para>
/// <para>Determinism: each gate element is the same chain whichever worker computes it (the row product's column chains,
/// <see cref="GemmRows.MultiplyColumnRange"/>), and each unit the same cell lanes (the ranges start on multiples of 32
/// units, so of every vector width): the bits do not depend on the thread count.</para>
/// </remarks>
internal abstract unsafe partial class RecurrentStepJob
{
    /// <summary>Units per quantum of a worker's range: a multiple of every row-product strip (32, 16 columns) and of every
    /// cell vector width (16, 8, 4 lanes).</summary>
    internal const int UnitQuantum = 32;

    /// <summary>The smallest recurrent kernel (bytes) split by units: below it a step's product runs from L1/L2 in well under
    /// a microsecond, and the barrier would cost what the second core saves.</summary>
    internal const long MinSplitRecurrentBytes = 128 * 1024;

    private readonly SpinBarrier _stepBarrier = new();

    /// <summary>Workers of this pass (forward, or a chunk backward) when it is split by units (set by <see cref="RunForward"/>
    /// and <see cref="RunBackward"/>), else 1.</summary>
    private int _unitWorkers = 1;

    [ThreadStatic] private static int t_unitSplitRuns, t_backwardUnitSplitRuns;

    /// <summary>Diagnostics for tests: forward passes this thread ran split by units.</summary>
    internal static int UnitSplitRuns => t_unitSplitRuns;

    /// <summary>Diagnostics for tests: backward chunks this thread ran split by units.</summary>
    internal static int BackwardUnitSplitRuns => t_backwardUnitSplitRuns;

    /// <summary>U when this forward pass can run split by units (<see cref="ForwardUnits"/>), else 0: each step says when
    /// its kind can (<see cref="SplittableIf"/>).</summary>
    protected virtual int SplittableUnits => 0;

    /// <summary>
    /// The rule every step shares: <paramref name="units"/> when the step can split this pass (<paramref name="stepSplits"/>:
    /// its product and its dropout allow it), U is a whole number of <see cref="UnitQuantum"/> blocks and the recurrent
    /// kernel (U × <paramref name="gateColumns"/> floats) is at least <see cref="MinSplitRecurrentBytes"/>; else 0.
    /// </summary>
    protected static int SplittableIf(bool stepSplits, int units, int gateColumns) =>
        stepSplits && units % UnitQuantum == 0 && (long)units * gateColumns * sizeof(float) >= MinSplitRecurrentBytes ? units : 0;

    /// <summary>Whether this pass's recurrent product runs a row at a time (<see cref="GemmRows"/>: fewer rows than the
    /// micro-tile), against the R packed for this machine's kernel: its columns can then be split with the same bits
    /// (<see cref="GemmRows.MultiplyColumnRange"/>).</summary>
    protected bool ProductRunsRowByRow =>
        Recurrent is { } r && r.Kind == Gemm.BestKernel && GemmRows.Applies(Gemm.BestKernel, Batch, transB: false);

    /// <summary>Called once before the workers of a pass split by units start (the LSTM's fused step fills its time-major
    /// input there, which every worker reads whole).</summary>
    protected virtual void BeforeUnitSplit() { }

    /// <summary>Forward step <paramref name="step"/> for units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>)
    /// of every row (worker <paramref name="worker"/>'s share of a pass split by units).</summary>
    protected virtual void ForwardUnits(int step, int worker, int firstUnit, int endUnit) =>
        throw new NotSupportedException("This recurrent step does not split its units.");

    /// <summary>U when this backward pass can run split by units (<see cref="BackwardCellUnits"/> and
    /// <see cref="BackwardProductUnits"/>), else 0 (see <see cref="SplittableIf"/>).</summary>
    protected virtual int SplittableBackwardUnits => 0;

    /// <summary>The columns of the input gradient the backward step's product also makes (an LSTM's dX_t: D when dX is
    /// wanted), after the U of dh_{t−1} (<see cref="BackwardColumns"/> cuts the two as one range); 0 when none.</summary>
    protected virtual int BackwardInputColumns => 0;

    /// <summary>Backward step <paramref name="step"/>'s cell for units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>)
    /// of every row: dZ_t's columns of these units in each gate, dc_{t−1} of these units, and dh_{t−1}[units] of
    /// <paramref name="hOut"/> cleared (or, on a skipped step, dh_t + dy passed through).</summary>
    protected virtual void BackwardCellUnits(int step, int firstUnit, int endUnit, float* hIn, float* hOut) =>
        throw new NotSupportedException("This recurrent step does not split its units backward.");

    /// <summary>Backward step <paramref name="step"/>'s product, on worker <paramref name="worker"/>, for columns [<paramref name="firstUnit"/>,
    /// <paramref name="endUnit"/>) of dh_{t−1} (into <paramref name="hOut"/>) and [<paramref name="firstInput"/>,
    /// <paramref name="endInput"/>) of dX_t, from all of dZ_t (the other workers' cells are done: the barrier); dh_t in
    /// <paramref name="hIn"/>, for a step that passes it on after the product.</summary>
    protected virtual void BackwardProductUnits(int step, int worker, int firstUnit, int endUnit, int firstInput, int endInput, float* hIn, float* hOut) =>
        throw new NotSupportedException("This recurrent step does not split its units backward.");

    /// <summary>Whether <see cref="RunBackward"/> splits this pass's units over the workers: one band, a step that can
    /// (<see cref="SplittableBackwardUnits"/>) and more than one worker free. A caller that would otherwise pipeline the
    /// steps beside the weight gradients (<see cref="RecurrentBackwardPipeline"/>) runs the chunks instead.</summary>
    public bool BackwardSplitsUnits => BackwardUnitWorkers > 1;

    /// <summary>The workers <see cref="RunBackward"/> splits this pass's units over: 1 (not split) unless the batch makes
    /// one band, the step can split (<see cref="SplittableBackwardUnits"/>) and more than one worker is free.</summary>
    internal int BackwardUnitWorkers => UnitWorkersIfOneBand(SplittableBackwardUnits);

    /// <summary>Workers to split <paramref name="units"/> (a pass's splittable units, or 0) over when the batch makes one
    /// band, else 1.</summary>
    protected int UnitWorkersIfOneBand(int units) => Workers == 1 ? UnitWorkers(units) : 1;

    /// <summary>Per worker, its columns of the backward step product's B packed as a matrix of their own
    /// (<see cref="PackUnitColumns"/>); null when the product runs a row at a time or the pass is not split.</summary>
    private PackedMatrix?[]? _unitColumns;

    /// <summary>The packed columns' storage, kept by the job (each kind's job is cached per thread) from pass to pass.</summary>
    private PackedMatrix?[] _unitColumnsStorage = [];

    /// <summary>Whether this backward pass's workers multiply by their own packed columns (<see cref="PackUnitColumns"/>).</summary>
    protected bool HasUnitColumns => _unitColumns != null;

    /// <summary>Whether the backward step's product can split its columns over the workers with the whole product's bits:
    /// a row at a time (<see cref="ProductRunsRowByRow"/>), or against each worker's own packed columns.</summary>
    protected bool BackwardProductSplits => ProductRunsRowByRow || HasUnitColumns;

    /// <summary>Worker <paramref name="worker"/>'s columns of the product's B (<see cref="PackUnitColumns"/>).</summary>
    protected PackedMatrix UnitColumns(int worker) => _unitColumns![worker]!;

    /// <summary>
    /// For a batch of one band whose backward step product runs whole row tiles (8 to 15 rows with AVX-512, 6 to 15 with
    /// AVX2), where the product cannot split its columns a row at a time: each worker's range of the product's columns
    /// (<see cref="BackwardColumns"/> over <paramref name="units"/> + <paramref name="inputs"/>) packed as a matrix of its
    /// own, from <paramref name="columnsAsRows"/> (B stored transposed: (units + inputs) rows of <paramref name="k"/>
    /// floats, R, or [R; W] for an LSTM's [Rᵀ | Wᵀ]), once a pass. Each element of C is then the same KC-slab sums as in
    /// the whole product; where a worker's share would be one panel of 32 columns or fewer past KC (the 8×32 kernel then
    /// takes K whole, <see cref="Gemm.SinglePanelSlab"/>: other bits) the pass is not split.
    /// <paramref name="units"/>: the step's splittable units if it had that product (<see cref="SplittableIf"/>), or 0.
    /// </summary>
    protected void PackUnitColumns(int units, int inputs, int k, ReadOnlySpan<float> columnsAsRows)
    {
        _unitColumns = null;
        int workers = UnitWorkersIfOneBand(units); // as RunBackward will split once this is set
        if (ProductRunsRowByRow || workers < 2)
            return;
        int width = units + inputs;
        for (int worker = 0; worker < workers; worker++) // the 8×32 kernel's slabs depend on N: each share's must be the whole's
            if (Gemm.BestKernel == GemmKernelKind.Vector512 && QuantumRange(width, worker, workers) is var (first, end) && end > first
                && Gemm.SinglePanelSlab(false, end - first, k) != Gemm.SinglePanelSlab(false, width, k))
                return;
        if (_unitColumnsStorage.Length < workers)
            Array.Resize(ref _unitColumnsStorage, workers);
        for (int worker = 0; worker < workers; worker++)
        {
            (int first, int end) = QuantumRange(width, worker, workers);
            if (end > first)
                _unitColumnsStorage[worker] = PackedMatrix.Pack(true, k, end - first, columnsAsRows.Slice(first * k, (end - first) * k), k,
                    _unitColumnsStorage[worker]);
        }
        _unitColumns = _unitColumnsStorage;
    }

    /// <summary>Per worker and gate, its units' columns of the forward step product's B (R, U × gates·U) packed as a matrix
    /// of their own (<see cref="PackForwardGateColumns"/>); null when the product runs a row at a time or the pass is not
    /// split.</summary>
    private PackedMatrix?[]? _forwardGateColumns;

    /// <summary>The forward gate columns' storage, kept by the job from pass to pass.</summary>
    private PackedMatrix?[] _forwardGateColumnsStorage = [];

    /// <summary>Gates of the forward product (<see cref="PackForwardGateColumns"/>): 3 for the GRU, 1 for the simple RNN.</summary>
    private int _forwardGates;

    /// <summary>Whether this forward pass's workers multiply by their own packed gate columns (<see cref="PackForwardGateColumns"/>).</summary>
    protected bool HasForwardGateColumns => _forwardGateColumns != null;

    /// <summary>Worker <paramref name="worker"/>'s columns of gate <paramref name="gate"/> of the forward product's B
    /// (<see cref="PackForwardGateColumns"/>).</summary>
    protected PackedMatrix ForwardGateColumns(int worker, int gate) => _forwardGateColumns![worker * _forwardGates + gate]!;

    /// <summary>
    /// The forward twin of <see cref="PackUnitColumns"/>, for a batch of one band whose step product h_{t−1}·R runs whole
    /// row tiles of the 512-bit kernel (8 to 15 rows; the GRU's and the simple RNN's, where the LSTM has its fused step):
    /// each worker's units [a, b) (<see cref="QuantumRange"/>) are, in R (U × <paramref name="gates"/>·U, stored
    /// as it is multiplied), one column range per gate, g·U + [a, b); each range is packed as a matrix of its own, once a
    /// pass, and the worker's step multiplies h_{t−1} by them, writing its gates' columns where the whole product would.
    /// Each element is then the same KC-slab sums as in the whole product; where a worker's share would be one panel of
    /// 32 columns or fewer past KC (<see cref="Gemm.SinglePanelSlab"/>) the pass is not split. Not on the narrower
    /// kernels: on the Zen 4 VM with AVX-512 off (the 6×16 kernel) the GRU's split forward at U = 128 ran slower than one
    /// worker at 6, 8, 10 and 14 rows (its cell 3–10 times its AVX-512 time, the cause not found) and faster only at 12
    /// (benchmarks/README.md, fifty-first sitting).
    /// <paramref name="units"/>: the step's splittable units if it had that product (<see cref="SplittableIf"/>), or 0.
    /// </summary>
    protected void PackForwardGateColumns(int units, int gates, ReadOnlySpan<float> r)
    {
        _forwardGateColumns = null;
        int workers = UnitWorkersIfOneBand(units); // as RunForward will split once this is set
        if (ProductRunsRowByRow || workers < 2 || Gemm.BestKernel != GemmKernelKind.Vector512)
            return;
        int width = gates * units;
        for (int worker = 0; worker < workers; worker++) // the 8×32 kernel's slabs depend on N: each range's must be the whole's
            if (Gemm.BestKernel == GemmKernelKind.Vector512 && QuantumRange(units, worker, workers) is var (first, end) && end > first
                && Gemm.SinglePanelSlab(false, end - first, units) != Gemm.SinglePanelSlab(false, width, units))
                return;
        if (_forwardGateColumnsStorage.Length < workers * gates)
            Array.Resize(ref _forwardGateColumnsStorage, workers * gates);
        for (int worker = 0; worker < workers; worker++)
        {
            (int first, int end) = QuantumRange(units, worker, workers);
            for (int gate = 0; gate < gates && end > first; gate++)
                _forwardGateColumnsStorage[worker * gates + gate] = PackedMatrix.Pack(false, units, end - first, r[(gate * units + first)..], width,
                    _forwardGateColumnsStorage[worker * gates + gate]);
        }
        _forwardGates = gates;
        _forwardGateColumns = _forwardGateColumnsStorage;
    }

    /// <summary>Workers to split <paramref name="units"/> units over (a multiple of UnitQuantum, or 0): 1 (not split) unless
    /// there are two quanta at least and more than one worker is free.</summary>
    private static int UnitWorkers(int units) => units < 2 * UnitQuantum ? 1 : Parallelism.WorkersFor(units / UnitQuantum);

    /// <summary>
    /// Worker <paramref name="worker"/>'s columns of the backward step's product [dh_{t−1} | dX_t] (U + D columns, or U):
    /// one contiguous range of <see cref="UnitQuantum"/> blocks over the whole width, so its units (the part below U,
    /// whose cells it also runs) and its inputs (the part past U). A worker may get units only, inputs only, or both.
    /// </summary>
    internal (int FirstUnit, int EndUnit, int FirstInput, int EndInput) BackwardColumns(int worker, int workerCount)
    {
        int units = SplittableBackwardUnits;
        (int first, int end) = QuantumRange(units + BackwardInputColumns, worker, workerCount);
        return (Math.Min(first, units), Math.Min(end, units), Math.Max(first, units) - units, Math.Max(end, units) - units);
    }

    /// <summary>Worker <paramref name="worker"/>'s share [first, end) of <paramref name="columns"/> columns cut in
    /// <see cref="UnitQuantum"/> blocks (the last block may be short); empty when there are more workers than blocks.</summary>
    internal static (int First, int End) QuantumRange(int columns, int worker, int workerCount)
    {
        int quanta = (columns + UnitQuantum - 1) / UnitQuantum;
        int first = UnitQuantum * (int)((long)quanta * worker / workerCount);
        int end = Math.Min(columns, UnitQuantum * (int)((long)quanta * (worker + 1) / workerCount));
        return (first, Math.Max(first, end));
    }

    /// <summary>Worker <paramref name="worker"/> of <paramref name="workerCount"/>: its range of units, every step, a barrier
    /// after each step but the last.</summary>
    private void RunForwardUnits(int worker, int workerCount)
    {
        (int first, int end) = QuantumRange(SplittableUnits, worker, workerCount);
        for (int step = 0; step < Steps; step++)
        {
            if (first < end)
                ForwardUnits(step, worker, first, end);
            if (step + 1 < Steps)
                _stepBarrier.SignalAndWait(workerCount);
        }
    }

    /// <summary>Worker <paramref name="worker"/> of <paramref name="workerCount"/> in a chunk of a backward pass: per step,
    /// last to first, its units' cell, the barrier, its columns of the product (see the class remarks).</summary>
    private void RunBackwardUnits(int worker, int workerCount)
    {
        (int first, int end, int firstInput, int endInput) = BackwardColumns(worker, workerCount);
        for (int step = _toStep - 1; step >= _fromStep; step--)
        {
            bool even = (Steps - 1 - step) % 2 == 0;
            float* hIn = even ? _dhFirst : _dhSecond, hOut = even ? _dhSecond : _dhFirst;
            if (first < end)
                BackwardCellUnits(step, first, end, hIn, hOut);
            _stepBarrier.SignalAndWait(workerCount); // dZ_t whole before any worker's product reads it
            BackwardProductUnits(step, worker, first, end, firstInput, endInput, hIn, hOut);
        }
    }
}
