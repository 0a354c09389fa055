using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="RowRunClear"/> zeroes exactly the touched rows of an embedding's gradient, on one worker and split over
/// several by cost (<see cref="GradientRows.RowAtCost"/>), with runs of rows that straddle the workers' boundary.
/// </summary>
public class RowRunClearTests
{
    /// <summary>
    /// Each worker's share of the touched rows starts where the optimizer's fused update starts its share of the same
    /// runs (<c>FusedUpdate.SplitPoint</c> over the runs laid end to end as elements): the row that holds its split point.
    /// Scattered single rows, a long run at the head (IMDB's frequent ids), runs across 64-row words, the last row.
    /// </summary>
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(5)]
    public void StartsEachShareAtTheRowTheFusedUpdateStartsAt(int workers)
    {
        const int Rows = 3000, Width = 128;
        var rng = new Random(5);
        var rows = new GradientRows(Rows);
        for (int row = 0; row < 400; row++) // one long run at the head
            rows.Add(row);
        for (int row = 60; row < 70; row++) // a run across the word boundary at row 64 (inside the long one: merged)
            rows.Add(row);
        for (int row = 1020; row < 1030; row++) // a run across the boundary at row 1024
            rows.Add(row);
        for (int i = 0; i < 300; i++)
            rows.Add(400 + rng.Next(Rows - 400));
        rows.Add(Rows - 1);
        var ranges = new List<NanoNet.Optim.Kernels.ElementRange>();
        var touched = new List<int>();
        for (int row = 0; rows.NextRun(row, out int start, out int length); row = start + length)
        {
            ranges.Add(new(start * Width, length * Width));
            touched.AddRange(Enumerable.Range(start, length));
        }
        long total = (long)touched.Count * Width;
        long cost = rows.Cost(Width, RowRunClear.RunCost);
        Assert.That(cost, Is.EqualTo(total + (long)RowRunClear.RunCost * ranges.Count), "elements plus the runs' cost");
        for (int worker = 1; worker < workers; worker++)
        {
            long split = NanoNet.Optim.Kernels.FusedUpdate.SplitPoint(ranges.ToArray(), total, worker, workers);
            int expected = touched[(int)(split / Width)];
            Assert.That(rows.RowAtCost((double)cost * worker / workers, Width, RowRunClear.RunCost), Is.EqualTo(expected),
                $"worker {worker} of {workers}");
        }
        Assert.That(rows.RowAtCost(cost, Width, RowRunClear.RunCost), Is.EqualTo(Rows), "at the whole cost: past the end");
        Assert.That(new GradientRows(70).RowAtCost(0, Width, RowRunClear.RunCost), Is.EqualTo(70), "nothing touched");
    }

    // Rows 0–9 as one run of width 128 cost 1,024 + 1,280: half of it, 1,152, ends row 0 exactly, so the second share
    // starts at row 1, as the fused update's split at element 128 does.
    [Test]
    public void ACostThatEndsARowExactlyStartsTheNextShareAtTheNextRow()
    {
        var rows = new GradientRows(100);
        for (int row = 0; row < 10; row++)
            rows.Add(row);
        Assert.That(NanoNet.Optim.Kernels.FusedUpdate.SplitPoint([new(0, 1280)], 1280, 1, 2), Is.EqualTo(128));
        Assert.That(rows.RowAtCost(rows.Cost(128, RowRunClear.RunCost) / 2.0, 128, RowRunClear.RunCost), Is.EqualTo(1));
    }

    [Test]
    public void SplitsAtTheSizeAndCostsTheOptimizerSplitsTouchedRows()
    {
        Assert.That(RowRunClear.ParallelThreshold, Is.EqualTo(NanoNet.Optim.Kernels.FusedUpdate.ScatteredParallelThreshold),
            "each worker clears the rows its fused update read only if both split at the same size");
        Assert.That(RowRunClear.RunCost, Is.EqualTo(NanoNet.Optim.Kernels.FusedUpdate.RangeCost), "and weigh a run the same");
    }

    // Scattered rows; one long run across the middle (the 2-worker boundary falls inside it); every row.
    [TestCase(1, "scattered")]
    [TestCase(2, "scattered")]
    [TestCase(2, "run across the boundary")]
    [TestCase(2, "every row")]
    [TestCase(3, "scattered")]
    public void ClearsTheTouchedRowsAndNothingElse(int threads, string pattern)
    {
        const int Rows = 4000, Width = 96; // 96 floats: runs do not start on cache lines
        var rows = new GradientRows(Rows);
        var rng = new Random(11);
        switch (pattern)
        {
            case "scattered":
                for (int i = 0; i < 1500; i++)
                    rows.Add(rng.Next(Rows));
                break;
            case "run across the boundary":
                for (int row = 1200; row < 2900; row++)
                    rows.Add(row);
                rows.Add(7);
                break;
            default:
                for (int row = 0; row < Rows; row++)
                    rows.Add(row);
                break;
        }
        Assert.That((long)rows.Count * Width, Is.GreaterThanOrEqualTo(1 << 16), "enough rows for the split path");
        var gradient = new float[Rows * Width];
        for (int i = 0; i < gradient.Length; i++)
            gradient[i] = 1f + i % 7;

        int saved = Parallelism.MaxThreads;
        try
        {
            Parallelism.MaxThreads = threads;
            RowRunClear.Clear(gradient, rows, Width);
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }

        for (int row = 0; row < Rows; row++)
            for (int j = 0; j < Width; j++)
            {
                float expected = rows.Contains(row) ? 0f : 1f + (row * Width + j) % 7;
                if (gradient[row * Width + j] != expected)
                    Assert.Fail($"{pattern}, {threads} thread(s): row {row} (touched: {rows.Contains(row)}), column {j} is {gradient[row * Width + j]}, expected {expected}");
            }
    }
}
