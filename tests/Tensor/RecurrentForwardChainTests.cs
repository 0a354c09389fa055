using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The recurrent forward pass on several workers runs chains of rows a run of steps at a time, each worker taking the
/// free chain furthest behind (RecurrentStepJob.ForwardChains.cs). A recording job stands in for a recurrent kernel:
/// it checks that every row sees every step exactly once and in order (with plain reads and writes, so the scheduler's
/// own barriers are the only ones), and it can slow one worker down or throw from a step.
/// </summary>
public class RecurrentForwardChainTests
{
    private const int N = 37, T = 40;

    /// <summary>What the slow worker sleeps per step: long enough that the fast one finishes everything else first.</summary>
    private const int SlowMilliseconds = 5;

    [TestCase(false)]
    [TestCase(true)]
    public void EveryRowRunsEveryStepOnceInOrderAndTheSlowWorkerRunsOneRunOnly(bool callerIsSlow)
    {
        var job = new RecordingJob(callerIsSlow ? Slow.Caller : Slow.Helper);
        Run(job, N, threads: 2);
        AssertEveryStepOnceInOrder(job, N);
        // Both workers start (the caller's first step waits for the helper's). The slow one takes one of its own
        // chains and runs a quarter of its steps; meanwhile the fast one runs every other chain to the end and waits
        // for that one, which the slow worker then hands over instead of taking it back.
        int oneRun = Math.Min(N, RecurrentStepJob.ChainRows(N, 2)) * Math.Max(RecurrentStepJob.MinimumRunSteps, (T + 3) / 4);
        Assert.That(callerIsSlow ? job.CallerRowSteps : job.HelperRowSteps, Is.EqualTo(oneRun), "the slow worker's row steps");
    }

    [Test]
    public void AWorkerTakesItsOwnChainsFirstAndTheOneFurthestBehind()
    {
        // The helper sleeps in one of its own chains; the caller runs chain 0 for a run, then its other own chain
        // (furthest behind: no step done), not chain 0 again and not one of the helper's.
        var job = new RecordingJob(Slow.Helper);
        Run(job, N, threads: 2);
        AssertEveryStepOnceInOrder(job, N);
        int rows = RecurrentStepJob.ChainRows(N, 2);
        Assume.That((N + rows - 1) / rows, Is.GreaterThanOrEqualTo(4), "two chains per worker");
        var chainsInOrder = job.CallerCalls.Select(call => call.First).Distinct().Take(2).ToArray();
        Assert.That(chainsInOrder, Is.EqualTo(new[] { 0, rows }), "the caller's first two chains");
        Assert.That(job.CallerCalls.First(call => call.First == rows).Step, Is.Zero, "its second chain from the start");
        int firstRun = Math.Max(RecurrentStepJob.MinimumRunSteps, (T + 3) / 4);
        Assert.That(job.CallerCalls.TakeWhile(call => call.First == 0).Count(), Is.EqualTo(firstRun), "one run of chain 0 first");
    }

    [Test]
    public void OneWorkerRunsEveryRowThroughEveryStepInOneCallPerStep()
    {
        var job = new RecordingJob(Slow.Neither);
        Run(job, N, threads: 1);
        AssertEveryStepOnceInOrder(job, N);
        Assert.That(job.Calls, Is.EqualTo(T));
    }

    [Test]
    public void ChainsAreWholeRowTilesAtLeastTwoPerWorkerWhereTheBatchHasTheTiles()
    {
        int tile = GemmMicroKernels.TileSize(Gemm.BestKernel).Mr;
        foreach (int batch in (int[])[1, tile, 2 * tile, N, 256])
            foreach (int workers in (int[])[2, 3])
            {
                int rows = RecurrentStepJob.ChainRows(batch, workers), tiles = (batch + tile - 1) / tile;
                Assert.That(rows % tile, Is.Zero, $"N = {batch}, {workers} workers");
                Assert.That((batch + rows - 1) / rows, Is.GreaterThanOrEqualTo(Math.Min(2 * workers, tiles)), $"N = {batch}, {workers} workers");
            }
        Assert.That(RecurrentStepJob.ChainRows(8 * tile, 2), Is.EqualTo(2 * tile), "as few chains as give two per worker");
    }

    [Test]
    public void ManyQuickPassesNeverRunAStepTwiceOrOutOfOrder()
    {
        // Both workers fast: chains change hands all the time, and two workers often reach for the same free chain.
        var job = new RecordingJob(Slow.Neither);
        for (int pass = 0; pass < 3000 && job.Failure == null; pass++)
        {
            Run(job, N, threads: 2);
            AssertEveryStepOnceInOrder(job, N, $"pass {pass}");
        }
    }

    [Test]
    public void WithoutChainsEachWorkerRunsOneBandThroughEveryStep()
    {
        var job = new RecordingJob(Slow.Helper, inChains: false);
        Run(job, N, threads: 2);
        AssertEveryStepOnceInOrder(job, N);
        int band = RecurrentStepJob.BandRows(N, 2);
        Assert.That(new[] { job.CallerRowSteps, job.HelperRowSteps }, Is.EqualTo(new[] { band * T, (N - band) * T }), "one band per worker");
    }

    [Test]
    public void TheSameJobRunsAgainWithAnotherBatchAndThreadCount()
    {
        var job = new RecordingJob(Slow.Neither);
        Run(job, N, threads: 2);
        AssertEveryStepOnceInOrder(job, N);
        Run(job, 256, threads: 3);
        AssertEveryStepOnceInOrder(job, 256);
        Run(job, 9, threads: 2);
        AssertEveryStepOnceInOrder(job, 9);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AStepThatThrowsFailsTheCallAndTheJobRunsAgainAfterwards(bool callerThrows)
    {
        // The thrower's chain never comes free: the other worker finishes what it can, then stops waiting for it.
        var job = new RecordingJob(Slow.Neither) { ThrowOnCaller = callerThrows };
        var failure = Assert.Throws<AggregateException>(() => Run(job, N, threads: 2));
        Assert.That(failure!.InnerException, Is.TypeOf<InvalidOperationException>());
        job.ThrowOnCaller = null;
        Run(job, N, threads: 2);
        AssertEveryStepOnceInOrder(job, N);
    }

    private static void AssertEveryStepOnceInOrder(RecordingJob job, int batch, string context = "")
    {
        Assert.That(job.Failure, Is.Null, context);
        Assert.That(job.LastStep, Is.All.EqualTo(T - 1), $"{context}: a row did not reach the last step");
        Assert.That(job.CallerRowSteps + job.HelperRowSteps, Is.EqualTo(batch * T), context);
    }

    private static void Run(RecordingJob job, int batch, int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            job.PrepareForward(batch);
            job.RunForward();
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private enum Slow { Neither, Caller, Helper }

    private sealed unsafe class RecordingJob(Slow slow, bool inChains = true) : RecurrentStepJob
    {
        private readonly int _caller = Environment.CurrentManagedThreadId;
        private volatile bool _helperStarted;
        private string? _failure;

        protected override bool ForwardInChains => inChains;

        /// <summary>Per row, the last step it ran (plain reads and writes: only the chain's holder touches a row).</summary>
        public int[] LastStep { get; private set; } = [];
        public int CallerRowSteps, HelperRowSteps, Calls;
        /// <summary>The caller's calls in order: the band's first row and the step.</summary>
        public List<(int First, int Step)> CallerCalls { get; } = [];
        public string? Failure => _failure;
        /// <summary>Null, or which worker throws from its first step (the caller: true, the helper: false).</summary>
        public bool? ThrowOnCaller { get; set; }

        public void PrepareForward(int batch)
        {
            LastStep = Enumerable.Repeat(-1, batch).ToArray();
            CallerRowSteps = HelperRowSteps = Calls = 0;
            CallerCalls.Clear();
            _helperStarted = false;
            Prepare(batch, T, goBackwards: false, recurrent: null, backward: false);
        }

        protected override void ForwardRows(int step, int first, int end)
        {
            bool onCaller = Environment.CurrentManagedThreadId == _caller;
            if (!onCaller)
                _helperStarted = true;
            else if (slow != Slow.Neither || ThrowOnCaller != null) // both workers run: the caller waits for the helper
                SpinWait.SpinUntil(() => _helperStarted, TimeSpan.FromSeconds(10));
            if (ThrowOnCaller == onCaller)
                throw new InvalidOperationException($"step {step} fails on purpose");
            for (int row = first; row < end; row++)
            {
                if (LastStep[row] != step - 1)
                    Interlocked.CompareExchange(ref _failure, $"row {row} ran step {step} after step {LastStep[row]}", null);
                LastStep[row] = step;
            }
            // Read after the region's join. The caller's counters are written by the caller only; the helpers' by every
            // helper (two at 3 threads), so added atomically: a plain += lost a helper's rows now and then, and the
            // 3-thread test failed its row-step count about once in many full runs.
            if (onCaller)
            {
                CallerRowSteps += end - first;
                Calls++;
                CallerCalls.Add((first, step));
            }
            else
            {
                Interlocked.Add(ref HelperRowSteps, end - first);
            }
            if (slow == Slow.Caller && onCaller || slow == Slow.Helper && !onCaller)
                Thread.Sleep(SlowMilliseconds);
        }

        protected override void BackwardRows(int step, int first, int end, float* hIn, float* hOut) =>
            throw new NotSupportedException();
    }
}
