namespace NanoNet.Tests;

/// <summary>The worker pool: a failing worker never leaves the others spinning; per-thread thread limits.</summary>
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
}
