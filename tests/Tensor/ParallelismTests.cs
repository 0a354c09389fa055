namespace NanoNet.Tests;

/// <summary>
/// The worker pool: a failing worker never leaves the others spinning; per-thread thread limits; every region runs
/// each worker exactly once however late its helpers start, from however many threads regions are started.
/// </summary>
public class ParallelismTests
{
    /// <summary>Two phases separated by a barrier; one worker throws before reaching it.</summary>
    private sealed class FailingJob(int failingWorker) : ParallelJob
    {
        private readonly SpinBarrier _barrier = new();

        public override void RunWorker(int worker, int workerCount)
        {
            if (worker == failingWorker)
                throw new InvalidOperationException($"injected failure in worker {worker}");
            _barrier.SignalAndWait(workerCount);
        }
    }

    private sealed class CountingJob : ParallelJob
    {
        public int Ran;
        public override void RunWorker(int worker, int workerCount) => Interlocked.Increment(ref Ran);
    }

    [TestCase(1)] // a helper fails: the caller waits at the barrier
    [TestCase(0)] // the caller fails: a helper waits at the barrier
    public void AWorkerThatThrowsReleasesTheOthersAndTheExceptionReachesTheCaller(int failingWorker)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 2;
        try
        {
            var run = Task.Run(() => Parallelism.Run(new FailingJob(failingWorker), 2));
            // A hang (the bug) fails here instead of blocking the test run; no timing is asserted.
            Assert.That(run.Wait(TimeSpan.FromSeconds(60)) || run.IsFaulted, Is.True, "a worker was left spinning at the barrier");
        }
        catch (AggregateException e)
        {
            Exception inner = e.Flatten().InnerExceptions.Single(x => x is not AggregateException);
            Assert.That(inner, Is.TypeOf<InvalidOperationException>());
            Assert.That(inner.Message, Does.Contain($"injected failure in worker {failingWorker}"));
            // The pool still works afterwards, on both workers.
            var next = new CountingJob();
            Parallelism.Run(next, 2);
            Assert.That(next.Ran, Is.EqualTo(2));
            return;
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
        Assert.Fail("the injected exception did not reach the caller");
    }

    [Test]
    public void ALimitOnOneThreadLeavesOtherThreadsAlone()
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = 2;
        try
        {
            using (Parallelism.LimitThreads(1))
            {
                Assert.That(Parallelism.CurrentMaxThreads, Is.EqualTo(1));
                Assert.That(Task.Run(() => Parallelism.CurrentMaxThreads).Result, Is.EqualTo(2), "another thread");
                var job = new CountingJob();
                Parallelism.ResetWidestRegion();
                Parallelism.Run(job, 2);
                Assert.That((job.Ran, Parallelism.WidestRegion), Is.EqualTo((1, 1)), "ran inline, outside the shared pool");
            }
            Assert.That(Parallelism.CurrentMaxThreads, Is.EqualTo(2), "the scope ended");
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    /// <summary>Counts, per worker index, how often this job's workers ran; checks the worker count it was given.</summary>
    private sealed class TallyJob(int maxWorkers) : ParallelJob
    {
        public readonly int[] Runs = new int[maxWorkers];
        public int ExpectedWorkers, WrongCounts;
        public int SlowWorker = -1;

        public override void RunWorker(int worker, int workerCount)
        {
            if (workerCount != ExpectedWorkers)
                Interlocked.Increment(ref WrongCounts);
            if (worker == SlowWorker)
                Thread.Sleep(1);
            Interlocked.Increment(ref Runs[worker]);
        }
    }

    /// <summary>Runs <paramref name="body"/> with <see cref="Parallelism.MaxThreads"/> set to <paramref name="threads"/>.</summary>
    private static void WithMaxThreads(int threads, Action body)
    {
        int saved = Parallelism.MaxThreads;
        Parallelism.MaxThreads = threads;
        try
        {
            body();
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void BackToBackRegionsOfChangingWidthRunEveryWorkerOncePerRegion()
    {
        // Regions of 3 and 2 workers alternate with no gap, so a helper may still be on its way out of one region
        // (or not yet in it: a late helper, here made late on purpose every 50th region) when the next starts.
        // A lost wake-up hangs, a helper that pairs one region's job with another's worker count or runs a region
        // twice shows in the tallies.
        WithMaxThreads(3, () =>
        {
            var wide = new TallyJob(3) { ExpectedWorkers = 3 };
            var narrow = new TallyJob(3) { ExpectedWorkers = 2 };
            const int Rounds = 2000;
            var run = Task.Run(() =>
            {
                for (int i = 0; i < Rounds; i++)
                {
                    wide.SlowWorker = i % 50 == 0 ? 2 : -1;
                    Parallelism.Run(wide, 3);
                    narrow.SlowWorker = i % 50 == 25 ? 1 : -1;
                    Parallelism.Run(narrow, 2);
                }
            });
            Assert.That(run.Wait(TimeSpan.FromSeconds(30)), Is.True, "a region never finished (a lost wake-up)");
            Assert.That(wide.Runs, Is.EqualTo(new[] { Rounds, Rounds, Rounds }));
            Assert.That(narrow.Runs, Is.EqualTo(new[] { Rounds, Rounds, 0 }), "the third worker has no share of a 2-worker region");
            Assert.That((wide.WrongCounts, narrow.WrongCounts), Is.EqualTo((0, 0)));
        });
    }

    [Test]
    public void RegionsStartedFromSeveralThreadsTakeTurnsAndEachRunsWhole()
    {
        WithMaxThreads(2, () =>
        {
            const int Threads = 4, Rounds = 500;
            var jobs = Enumerable.Range(0, Threads).Select(_ => new TallyJob(2) { ExpectedWorkers = 2 }).ToArray();
            var nested = new TallyJob(2) { ExpectedWorkers = 1 };
            Task[] runs = jobs.Select((job, t) => Task.Run(() =>
            {
                for (int i = 0; i < Rounds; i++)
                {
                    Parallelism.Run(job, 2);
                    if (t == 0 && i % 100 == 0)
                        Parallelism.Run(new NestingJob(nested), 2); // a region started inside a region runs inline
                }
            })).ToArray();
            Assert.That(Task.WaitAll(runs, TimeSpan.FromSeconds(30)), Is.True, "regions from several threads deadlocked");
            foreach (TallyJob job in jobs)
                Assert.That((job.Runs[0], job.Runs[1], job.WrongCounts), Is.EqualTo((Rounds, Rounds, 0)));
            Assert.That((nested.Runs[0], nested.Runs[1], nested.WrongCounts), Is.EqualTo((2 * Rounds / 100, 0, 0)),
                "each of the 2 outer workers ran the nested region alone, as worker 0 of 1");
        });
    }

    /// <summary>Each worker starts <paramref name="inner"/> as a region of its own.</summary>
    private sealed class NestingJob(ParallelJob inner) : ParallelJob
    {
        public override void RunWorker(int worker, int workerCount) => Parallelism.Run(inner, 2);
    }

    /// <summary>Worker 0 holds the region open until <see cref="Release"/> is set.</summary>
    private sealed class HoldingJob : ParallelJob
    {
        public readonly ManualResetEventSlim Entered = new(), Release = new();

        public override void RunWorker(int worker, int workerCount)
        {
            if (worker != 0)
                return;
            Entered.Set();
            Release.Wait(TimeSpan.FromSeconds(60));
        }
    }

    [Test]
    public void ARegionOfOneWorkerNeverWaitsForThePool()
    {
        // The pool is busy with another thread's region; a 1-thread caller's region must run at once, on its own
        // thread, instead of queueing behind it (two 1-thread trainings on two threads run truly in parallel).
        WithMaxThreads(2, () =>
        {
            var holding = new HoldingJob();
            var busy = Task.Run(() => Parallelism.Run(holding, 2));
            try
            {
                Assert.That(holding.Entered.Wait(TimeSpan.FromSeconds(60)), Is.True);
                var single = new TallyJob(2) { ExpectedWorkers = 1 };
                var alone = Task.Run(() =>
                {
                    using (Parallelism.LimitThreads(1))
                        Parallelism.Run(single, 2);
                    return Environment.CurrentManagedThreadId;
                });
                Assert.That(alone.Wait(TimeSpan.FromSeconds(60)), Is.True, "the 1-worker region waited for the busy pool");
                Assert.That((single.Runs[0], single.Runs[1], single.WrongCounts), Is.EqualTo((1, 0, 0)));
            }
            finally
            {
                holding.Release.Set();
                busy.Wait(TimeSpan.FromSeconds(60));
            }
        });
    }

    private sealed class ThrowingHelperJob : ParallelJob
    {
        public override void RunWorker(int worker, int workerCount)
        {
            if (worker == 1)
                throw new ArithmeticException("thrown on the helper");
        }
    }

    [Test]
    public void AHelpersExceptionReachesTheCallerEveryTimeAndThePoolCarriesOn()
    {
        WithMaxThreads(2, () =>
        {
            for (int i = 0; i < 3; i++)
            {
                var e = Assert.Throws<AggregateException>(() => Parallelism.Run(new ThrowingHelperJob(), 2));
                Assert.That(e!.InnerExceptions.Single(), Is.TypeOf<ArithmeticException>());
                var next = new TallyJob(2) { ExpectedWorkers = 2 };
                Parallelism.Run(next, 2);
                Assert.That((next.Runs[0], next.Runs[1]), Is.EqualTo((1, 1)), "the region after the failure ran whole");
            }
        });
    }

    [Test]
    public void AnIdlePoolStopsSpinning()
    {
        // Helpers spin a short while after a region (the next one usually follows within microseconds), then must
        // block: an idle process may not keep a core busy. A helper that spun on would burn a whole core in every
        // window watched here. The process's CPU time also counts the runtime's and the test host's own threads
        // (after many tests, background JIT recompilation ran ~600 ms in a 1 s window), which come in bursts: so the
        // quietest of four 250 ms windows is what must stay under half a core.
        WithMaxThreads(2, () =>
        {
            Parallelism.Run(new TallyJob(2) { ExpectedWorkers = 2 }, 2);
            Thread.Sleep(200); // longer than any spin
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            double quietest = double.MaxValue;
            for (int window = 0; window < 4; window++)
            {
                process.Refresh();
                TimeSpan before = process.TotalProcessorTime;
                Thread.Sleep(250);
                process.Refresh();
                quietest = Math.Min(quietest, (process.TotalProcessorTime - before).TotalMilliseconds);
            }
            Assert.That(quietest, Is.LessThan(125), "CPU time kept growing in an idle process (the quietest 250 ms window, in ms)");
        });
    }
}
