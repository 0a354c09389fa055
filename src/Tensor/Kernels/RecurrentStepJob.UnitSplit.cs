namespace NanoNet.Kernels;

/// <summary>
/// The forward pass of a batch too small to split into bands of rows (below 16: one sequence, an app classifying one
/// text at a time, or a handful) split by units instead: each worker takes a range of the units, for every row and step,
/// and the workers meet at a barrier after each step, since step t + 1 reads all of h_t.
/// </summary>
/// <remarks>
/// <para>Shape legend: U = units, 4U = the gate columns (an LSTM's i, f, g, o blocks, U apart); a worker's range is units
/// [first, end), multiples of <see cref="UnitQuantum"/>, so its gate columns are four ranges [g·U + first, g·U + end).</para>
/// <para>Why: at batch 1 a step is a matrix-vector product that reads the whole recurrent kernel (U×4U: 256 KB at
/// U = 128) from L2 to use each element once, then the cell; one core streams it at its L2's pace, and a second core
/// had nothing to do. Split by units, each core reads only its columns of the kernel (which stay in its own L2 from step
/// to step) and runs the cell on its own units; what it costs is one barrier a step (a spin of a few hundred ns). The
/// LSTM's fused step (3 to 15 rows) splits the same way by its 8-unit panels, training and streamed inference; the GRU
/// and the simple RNN where their product runs a row at a time. On a Zen 3 core, T = 200, U = 128, 1 → 2 threads: one
/// sequence's predict 1.29 → 0.64 ms, 3 rows' training forward 2.05 → 1.14, 8 rows' inference 6.05 → 2.96
/// (benchmarks/README.md, forty-ninth sitting).</para>
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

    /// <summary>Workers of this forward pass when it is split by units (set by <see cref="RunForward"/>), else 1.</summary>
    private int _unitWorkers = 1;

    [ThreadStatic] private static int t_unitSplitRuns;

    /// <summary>Diagnostics for tests: forward passes this thread ran split by units.</summary>
    internal static int UnitSplitRuns => t_unitSplitRuns;

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
    /// of every row (a worker's share of a pass split by units).</summary>
    protected virtual void ForwardUnits(int step, int firstUnit, int endUnit) =>
        throw new NotSupportedException("This recurrent step does not split its units.");

    /// <summary>Workers to split this forward pass's units over: 1 (not split) unless the batch runs as one band, the
    /// step can split (<see cref="SplittableUnits"/>) and more than one worker is free.</summary>
    private int UnitWorkers()
    {
        int units = SplittableUnits; // a multiple of UnitQuantum, or 0
        if (units < 2 * UnitQuantum)
            return 1;
        return Parallelism.WorkersFor(units / UnitQuantum);
    }

    /// <summary>Worker <paramref name="worker"/> of <paramref name="workerCount"/>: its range of units, every step, a barrier
    /// after each step but the last.</summary>
    private void RunForwardUnits(int worker, int workerCount)
    {
        int quanta = SplittableUnits / UnitQuantum;
        int first = UnitQuantum * (int)((long)quanta * worker / workerCount);
        int end = UnitQuantum * (int)((long)quanta * (worker + 1) / workerCount);
        for (int step = 0; step < Steps; step++)
        {
            if (first < end)
                ForwardUnits(step, first, end);
            if (step + 1 < Steps)
                _stepBarrier.SignalAndWait(workerCount);
        }
    }
}
