using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The recurrent forward pass on several workers runs chains of rows a run of steps at a time, each worker taking the
/// free chain furthest behind (RecurrentStepJob.ForwardChains.cs). A recording job stands in for a recurrent kernel:
/// it checks that every row sees every step exactly once and in order, and it slows one worker down, so the test can
/// see the other take over that worker's chains.
/// </summary>
public class RecurrentForwardChainTests
{
    private const int N = 37, T = 40;

    [TestCase(false)]
    [TestCase(true)]
    public void EveryRowRunsEveryStepOnceInOrderAndTheSlowWorkerRunsOneRunOnly(bool callerIsSlow)
    {
        var job = new RecordingJob(N, T, callerIsSlow ? Slow.Caller : Slow.Helper);
        Run(job, threads: 2);
        Assert.That(job.Failure, Is.Null);
        Assert.That(job.LastStep, Is.All.EqualTo(T - 1), "a row did not reach the last step");
        Assert.That(job.RowSteps.Values.Sum(), Is.EqualTo(N * T));
        // The slow worker sleeps a millisecond per call, the fast one takes microseconds. The slow one takes one chain
        // and runs a quarter of its steps; meanwhile the fast one runs every other chain to the end and waits for that
        // one, which the slow worker then hands over instead of taking it back. (The slow caller's first call waits
        // for the helper to start; a slow helper may start only after the caller is done.)
        int slowRowSteps = callerIsSlow ? job.RowSteps.GetValueOrDefault(Environment.CurrentManagedThreadId)
            : N * T - job.RowSteps.GetValueOrDefault(Environment.CurrentManagedThreadId);
        int oneRun = Math.Min(N, RecurrentStepJob.ChainRows(N, 2)) * Math.Max(RecurrentStepJob.MinimumRunSteps, (T + 3) / 4);
        if (callerIsSlow)
            Assert.That(slowRowSteps, Is.EqualTo(oneRun), "the slow caller's row steps");
        else
            Assert.That(slowRowSteps, Is.EqualTo(0).Or.EqualTo(oneRun), "the slow helper's row steps");
    }

    [Test]
    public void OneWorkerRunsEveryRowThroughEveryStepInOneCallPerStep()
    {
        var job = new RecordingJob(N, T, Slow.Neither);
        Run(job, threads: 1);
        Assert.That(job.Failure, Is.Null);
        Assert.That(job.Calls, Is.EqualTo(T));
        Assert.That(job.LastStep, Is.All.EqualTo(T - 1));
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
        var job = new RecordingJob(N, T, Slow.Neither);
        for (int pass = 0; pass < 3000 && job.Failure == null; pass++)
        {
            job.Restart();
            Run(job, threads: 2);
            Assert.That(job.LastStep, Is.All.EqualTo(T - 1), $"pass {pass}: a row did not reach the last step");
            Assert.That(job.RowSteps.Values.Sum(), Is.EqualTo(N * T), $"pass {pass}");
        }
        Assert.That(job.Failure, Is.Null);
    }

    [Test]
    public void WithoutChainsEachWorkerRunsOneBandThroughEveryStep()
    {
        var job = new RecordingJob(N, T, Slow.Helper, inChains: false);
        Run(job, threads: 2);
        Assert.That(job.Failure, Is.Null);
        Assert.That(job.LastStep, Is.All.EqualTo(T - 1));
        int band = RecurrentStepJob.BandRows(N, 2);
        Assert.That(job.RowSteps.Values.Order(), Is.EqualTo(new[] { (N - band) * T, band * T }), "one band per worker");
    }

    [Test]
    public void TheSameJobRunsAgainFromTheStart()
    {
        var job = new RecordingJob(N, T, Slow.Neither);
        Run(job, threads: 2);
        job.Restart();
        Run(job, threads: 2);
        Assert.That(job.Failure, Is.Null);
        Assert.That(job.LastStep, Is.All.EqualTo(T - 1));
        Assert.That(job.RowSteps.Values.Sum(), Is.EqualTo(N * T));
    }

    private static void Run(RecordingJob job, int threads)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            job.PrepareForward();
            job.RunForward();
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    private enum Slow { Neither, Caller, Helper }

    private sealed unsafe class RecordingJob(int batch, int steps, Slow slow, bool inChains = true) : RecurrentStepJob
    {
        protected override bool ForwardInChains => inChains;

        private readonly object _gate = new();
        private readonly int _caller = Environment.CurrentManagedThreadId;
        private volatile bool _helperStarted;
        public int[] LastStep { get; private set; } = Enumerable.Repeat(-1, batch).ToArray();
        public Dictionary<int, int> RowSteps { get; private set; } = [];
        public string? Failure { get; private set; }
        public int Calls { get; private set; }

        public void PrepareForward() => Prepare(batch, steps, goBackwards: false, recurrent: null, backward: false);

        public void Restart()
        {
            LastStep = Enumerable.Repeat(-1, batch).ToArray();
            RowSteps = [];
        }

        protected override void ForwardRows(int step, int first, int end)
        {
            int thread = Environment.CurrentManagedThreadId;
            if (thread != _caller)
                _helperStarted = true;
            else if (slow == Slow.Caller)
                SpinWait.SpinUntil(() => _helperStarted, TimeSpan.FromSeconds(10));
            lock (_gate)
            {
                Calls++;
                for (int row = first; row < end; row++)
                {
                    if (LastStep[row] != step - 1)
                        Failure ??= $"row {row} ran step {step} after step {LastStep[row]}";
                    LastStep[row] = step;
                }
                RowSteps[thread] = RowSteps.GetValueOrDefault(thread) + (end - first);
            }
            if (slow == Slow.Caller && thread == _caller || slow == Slow.Helper && thread != _caller)
                Thread.Sleep(1);
        }

        protected override void BackwardRows(int step, int first, int end, float* hIn, float* hOut) =>
            throw new NotSupportedException();
    }
}
