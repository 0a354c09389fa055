using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="HomeRanges"/>: every item handed out exactly once, each worker's own contiguous range first, in order,
/// and the leftovers of a slow worker's range taken by the others.
/// </summary>
public class HomeRangesTests
{
    [TestCase(0, 2)]
    [TestCase(1, 2)]
    [TestCase(7, 3)]
    [TestCase(32, 2)]
    [TestCase(33, 5)]
    [TestCase(5, 8)]
    public void OneWorkerAloneTakesEveryItemOnceStartingWithItsHome(int count, int workers)
    {
        var ranges = new HomeRanges();
        ranges.Reset(count, workers);
        int worker = workers - 1, range = ranges.HomeOf(worker), item;
        var taken = new List<int>();
        while ((item = ranges.Take(ref range)) >= 0)
            taken.Add(item);
        // Its home range is the last part, then the others from the first: every item, once.
        int homeStart = count * worker / workers;
        Assert.That(taken, Is.EqualTo(Enumerable.Range(homeStart, count - homeStart).Concat(Enumerable.Range(0, homeStart))).AsCollection);
    }

    [Test]
    public void WorkersTakeTheirOwnPartFirstThenShareTheRest()
    {
        var ranges = new HomeRanges();
        ranges.Reset(10, 2); // homes: 0..4 and 5..9
        int home0 = ranges.HomeOf(0), home1 = ranges.HomeOf(1);
        Assert.That(ranges.Take(ref home0), Is.EqualTo(0));
        Assert.That(ranges.Take(ref home1), Is.EqualTo(5));
        Assert.That(ranges.Take(ref home1), Is.EqualTo(6));
        // Worker 1 is fast: it finishes its range, then takes worker 0's leftovers from the front of what is left.
        for (int expected = 7; expected <= 9; expected++)
            Assert.That(ranges.Take(ref home1), Is.EqualTo(expected));
        Assert.That(ranges.Take(ref home1), Is.EqualTo(1));
        Assert.That(ranges.Take(ref home0), Is.EqualTo(2));
        Assert.That(ranges.Take(ref home1), Is.EqualTo(3));
        Assert.That(ranges.Take(ref home0), Is.EqualTo(4));
        Assert.That(ranges.Take(ref home0), Is.EqualTo(-1));
        Assert.That(ranges.Take(ref home1), Is.EqualTo(-1));
    }

    [Test]
    public void ConcurrentWorkersTakeEveryItemExactlyOnce()
    {
        const int Count = 20000, Workers = 4;
        var ranges = new HomeRanges();
        ranges.Reset(Count, Workers);
        var hits = new int[Count];
        Parallel.For(0, Workers, new ParallelOptions { MaxDegreeOfParallelism = Workers }, worker =>
        {
            int range = ranges.HomeOf(worker), item;
            while ((item = ranges.Take(ref range)) >= 0)
                Interlocked.Increment(ref hits[item]);
        });
        Assert.That(hits, Is.All.EqualTo(1));
    }

    [Test]
    public void ResetServesALargerWorkerCountAndAgain()
    {
        var ranges = new HomeRanges();
        foreach (int workers in new[] { 2, 9, 3 })
        {
            ranges.Reset(50, workers);
            var seen = new HashSet<int>();
            for (int w = 0; w < workers; w++)
            {
                int range = ranges.HomeOf(w), item;
                while ((item = ranges.Take(ref range)) >= 0)
                    Assert.That(seen.Add(item), $"item {item} handed out twice at {workers} workers");
            }
            Assert.That(seen, Has.Count.EqualTo(50));
        }
    }
}
