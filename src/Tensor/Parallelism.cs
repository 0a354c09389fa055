using System.Diagnostics;
using NanoNet.Diagnostics;

namespace NanoNet;

/// <summary>
/// How many threads NanoNet's kernels use: a process-wide default, <see cref="MaxThreads"/>, and a
/// per-thread limit, <see cref="LimitThreads"/> (what a model's <c>MaxThreads</c> sets while it trains).
/// </summary>
/// <remarks>
/// Defaults to all cores (or the <c>NANONET_THREADS</c> environment variable when set). Kernels split
/// their work so that the order of every floating-point sum does not depend on this number: the same
/// seed gives bitwise-identical results at 1 thread and at N threads.
/// <para>
/// One shared worker pool runs one parallel region at a time, so regions started from several threads
/// take turns. A region of one worker never touches the pool: code limited to one thread runs on its
/// own thread only, so two 1-thread trainings on two threads run truly in parallel.
/// </para>
/// </remarks>
public static class Parallelism
{
    private static int _maxThreads = DefaultThreads();

    [ThreadStatic] private static int t_limit;          // 0 = no limit on this thread
    [ThreadStatic] private static int t_widestRegion;   // diagnostics for tests (see WidestRegion)

    /// <summary>Maximum number of threads a kernel may use (at least 1), for every thread without its own <see cref="LimitThreads"/>.</summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set
        {
            if (value < 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, "Parallelism.CurrentMaxThreads must be at least 1.");
            _maxThreads = value;
        }
    }

    /// <summary>
    /// The thread count kernels started on the calling thread may use: the innermost
    /// <see cref="LimitThreads"/> scope's, else <see cref="MaxThreads"/>.
    /// </summary>
    public static int CurrentMaxThreads => t_limit > 0 ? t_limit : _maxThreads;

    /// <summary>
    /// Limits the kernels started on the calling thread to <paramref name="threads"/> workers until the
    /// returned scope is disposed (scopes nest; other threads are not affected). Null leaves the
    /// current limit as it is.
    /// </summary>
    /// <example><code>using (Parallelism.LimitThreads(1)) model.TrainStep(batch);</code></example>
    public static ThreadLimitScope LimitThreads(int? threads)
    {
        if (threads is int n)
            ArgumentOutOfRangeException.ThrowIfLessThan(n, 1, nameof(threads));
        var scope = new ThreadLimitScope(t_limit);
        if (threads is int limit)
            t_limit = limit;
        return scope;
    }

    /// <summary>Ends a <see cref="LimitThreads"/> scope: the previous limit comes back.</summary>
    public readonly struct ThreadLimitScope : IDisposable
    {
        private readonly int _previous;

        internal ThreadLimitScope(int previous) => _previous = previous;

        /// <summary>Restores the previous limit.</summary>
        public void Dispose() => t_limit = _previous;
    }

    /// <summary>
    /// The largest worker count of any region started on this thread since <see cref="ResetWidestRegion"/>
    /// (0: none). Lets tests check that work really was split, or really stayed on one thread.
    /// </summary>
    internal static int WidestRegion => t_widestRegion;

    /// <summary>Starts a new <see cref="WidestRegion"/> measurement on this thread.</summary>
    internal static void ResetWidestRegion() => t_widestRegion = 0;

    private static int DefaultThreads()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("NANONET_THREADS");
        if (int.TryParse(fromEnvironment, out int threads) && threads >= 1)
            return threads;
        return Environment.ProcessorCount;
    }

    /// <summary>How many workers <see cref="Run"/> starts for a request of <paramref name="workers"/> on this thread
    /// (one inside another region).</summary>
    internal static int WorkersFor(int workers) => WorkerPool.IsInsideRegion ? 1 : Math.Max(1, Math.Min(workers, CurrentMaxThreads));

    /// <summary>
    /// Runs <paramref name="job"/> on up to <see cref="CurrentMaxThreads"/> workers in one parallel region of
    /// NanoNet's persistent worker pool, and returns when every worker has finished. Workers are
    /// numbered 0..workers-1; worker 0 is the calling thread. Called from inside a region (a nested
    /// call), the job runs on the calling thread alone.
    /// </summary>
    /// <remarks>
    /// The entry point for kernels in other NanoNet libraries (the optimizers' fused update). Starting
    /// a region allocates nothing, so a cached <see cref="ParallelJob"/> keeps a training step
    /// allocation-free. If a worker throws, the exception is rethrown here inside an
    /// <see cref="AggregateException"/>.
    /// </remarks>
    /// <param name="job">The work; its <see cref="ParallelJob.RunWorker"/> is called once per worker.</param>
    /// <param name="workers">The number of workers wanted (capped at <see cref="CurrentMaxThreads"/>).</param>
    public static void Run(ParallelJob job, int workers)
    {
        ArgumentNullException.ThrowIfNull(job);
        workers = WorkersFor(workers);
        if (workers == 1)
        {
            t_widestRegion = Math.Max(t_widestRegion, 1);
            job.RunWorker(0, 1);
            return;
        }
        t_widestRegion = Math.Max(t_widestRegion, workers);
        WorkerPool.Shared.Run(job, workers);
    }
}

/// <summary>
/// A unit of parallel work for <see cref="Parallelism.Run"/>. Subclasses hold the call's arguments in
/// fields (so starting a region allocates no closure) and split the work by worker index.
/// </summary>
/// <remarks>
/// To keep results independent of the thread count, split the work so that no floating-point sum
/// changes its order with <c>workerCount</c> (e.g. give each worker whole, disjoint output ranges).
/// </remarks>
public abstract class ParallelJob
{
    /// <summary>Does worker <paramref name="worker"/>'s share of the work out of <paramref name="workerCount"/>.</summary>
    public abstract void RunWorker(int worker, int workerCount);
}

/// <summary>
/// A tiny persistent thread pool: one parallel region at a time, the caller is worker 0, helpers
/// spin briefly and then sleep on an event. No allocation per region, unlike <c>Parallel.For</c>.
/// </summary>
/// <remarks>
/// The events' spin (2000 turns of a <see cref="SpinWait"/> that yields between turns) already covers the gaps
/// between the regions of a training step: at 2 threads most regions find their helper awake. A pool that
/// spun a fixed 2 ms on a region counter and then parked, waking only parked helpers, was measured against
/// this one and was not faster (benchmarks/README.md §8, seventh sitting). <see cref="PoolStats"/>
/// (<c>NANONET_POOL_STATS=1</c>) times how late helpers start and how long the caller waits, per kind of region.
/// </remarks>
internal sealed class WorkerPool
{
    public static readonly WorkerPool Shared = new();

    [ThreadStatic] private static bool t_insideRegion;
    public static bool IsInsideRegion => t_insideRegion;

    private readonly object _gate = new();
    private readonly List<ManualResetEventSlim> _wake = [];
    private readonly ManualResetEventSlim _done = new(false, spinCount: 2000);
    private ParallelJob? _job;
    private int _workerCount;
    private int _remaining;
    private Exception? _failure;
    private volatile bool _failed;

    /// <summary>
    /// Set as soon as a worker of the current region throws: workers waiting for each other (a
    /// <see cref="SpinBarrier"/>) stop waiting, so a failure never leaves the others spinning forever.
    /// </summary>
    public static bool RegionFailed => Shared._failed;

    public void Run(ParallelJob job, int workers)
    {
        lock (_gate)
        {
            while (_wake.Count < workers - 1)
                StartHelper(_wake.Count);
            _job = job;
            _workerCount = workers;
            _failure = null;
            _failed = false;
            _remaining = workers - 1;
            _done.Reset();
            long released = PoolStats.Enabled ? PoolStats.Release() : 0;
            for (int i = 0; i < workers - 1; i++)
                _wake[i].Set();

            t_insideRegion = true;
            try
            {
                job.RunWorker(0, workers);
            }
            catch (Exception e)
            {
                Fail(e);
            }
            finally
            {
                t_insideRegion = false;
            }
            long finished = PoolStats.Enabled ? Stopwatch.GetTimestamp() : 0;
            _done.Wait();
            if (PoolStats.Enabled)
                PoolStats.Join(job, workers, released, finished);
            _job = null;
            _failed = false;
            if (_failure is not null)
                throw new AggregateException("A NanoNet kernel failed on a worker thread.", _failure);
        }
    }

    /// <summary>Records the region's first failure (later ones, e.g. a released barrier's, are dropped) and releases waiting workers.</summary>
    private void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        _failed = true;
    }

    private void StartHelper(int index)
    {
        var wake = new ManualResetEventSlim(false, spinCount: 2000);
        _wake.Add(wake);
        var thread = new Thread(() => HelperLoop(index, wake))
        {
            IsBackground = true,
            Name = $"NanoNet worker {index + 1}",
        };
        thread.Start();
    }

    private void HelperLoop(int index, ManualResetEventSlim wake)
    {
        t_insideRegion = true;
        while (true)
        {
            wake.Wait();
            wake.Reset();
            ParallelJob job = _job!;
            // Helpers beyond this region's worker count have nothing to do.
            if (index + 1 < _workerCount)
            {
                long entered = PoolStats.Enabled ? PoolStats.Enter() : 0;
                try
                {
                    job.RunWorker(index + 1, _workerCount);
                }
                catch (Exception e)
                {
                    Fail(e);
                }
                if (PoolStats.Enabled)
                    PoolStats.Leave(entered);
            }
            if (Interlocked.Decrement(ref _remaining) == 0)
                _done.Set();
        }
    }
}

/// <summary>
/// A reusable barrier for the workers of one parallel region: they spin (yielding, never sleeping)
/// until all have arrived. Used between the phases of a kernel that share a buffer.
/// </summary>
/// <remarks>
/// If another worker of the region throws, it will never arrive: waiting workers then give up with
/// <see cref="OperationCanceledException"/> (the pool reports the original exception to the caller,
/// not this one), and the barrier resets itself for the job's next region.
/// </remarks>
internal sealed class SpinBarrier
{
    private int _arrived;
    private volatile int _generation;

    /// <summary>Waits until <paramref name="participants"/> workers (this one included) have called it.</summary>
    /// <exception cref="OperationCanceledException">Another worker of the region failed.</exception>
    public void SignalAndWait(int participants)
    {
        int generation = _generation;
        if (Interlocked.Increment(ref _arrived) == participants)
        {
            _arrived = 0;
            _generation = generation + 1; // releases the others (volatile write after the reset)
            return;
        }
        var spinner = new SpinWait();
        while (_generation == generation)
        {
            if (WorkerPool.RegionFailed)
            {
                // Nobody else will complete this phase: leave it, and leave the barrier clean for the
                // next region of this job (every worker that gets here resets the same way).
                Interlocked.Exchange(ref _arrived, 0);
                throw new OperationCanceledException("Another worker of this parallel region failed.");
            }
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
