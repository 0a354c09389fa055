using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// <see cref="RowRunClear"/> zeroes exactly the touched rows of an embedding's gradient, on one worker and split over
/// several by rank (<see cref="GradientRows.RowOfRank"/>), with runs of rows that straddle the workers' boundary.
/// </summary>
public class RowRunClearTests
{
    [Test]
    public void RowOfRankIsTheRankthTouchedRow()
    {
        var rng = new Random(5);
        var rows = new GradientRows(1000);
        var touched = new SortedSet<int>();
        for (int i = 0; i < 300; i++)
        {
            int row = rng.Next(1000);
            rows.Add(row);
            touched.Add(row);
        }
        rows.Add(999); // the last bit of the last word
        touched.Add(999);
        int[] expected = [.. touched];
        for (int rank = 0; rank < expected.Length; rank++)
            Assert.That(rows.RowOfRank(rank), Is.EqualTo(expected[rank]), $"rank {rank}");
        Assert.That(rows.RowOfRank(expected.Length), Is.EqualTo(1000), "past the last touched row: RowCount");
        Assert.That(new GradientRows(70).RowOfRank(0), Is.EqualTo(70), "nothing touched");
    }

    [Test]
    public void SplitsAtTheSizeTheOptimizerSplitsTouchedRows() =>
        Assert.That(RowRunClear.ParallelThreshold, Is.EqualTo(NanoNet.Optim.Kernels.FusedUpdate.ScatteredParallelThreshold),
            "each worker clears the rows its fused update read only if both split at the same size");

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
