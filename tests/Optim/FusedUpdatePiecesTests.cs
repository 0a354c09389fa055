using NanoNet.Optim.Kernels;

namespace NanoNet.Tests.Optim;

/// <summary>
/// The fused update on several workers (<see cref="FusedUpdate"/> above its parallel threshold): the ranges laid end to
/// end are cut into one contiguous piece per worker (by cost: elements, plus a fixed cost per range), on 64-element
/// boundaries. Every element of the ranges must be
/// updated exactly once, nothing outside them touched, the bits those of one thread, and a NaN found in the first
/// worker's piece as in the last's.
/// </summary>
public class FusedUpdatePiecesTests
{
    /// <summary>θ ← θ − g/2 and s ← s + 1: an element updated twice, or not at all, shows in both.</summary>
    private readonly struct HalfStepCounting : IUpdateRule
    {
        public void Apply<T>(ref T weight, T gradient, ref T state0, ref T state1, ref T state2) where T : struct, NanoNet.Kernels.ILanes<T>
        {
            weight -= gradient * T.Create(0.5f);
            state0 += T.Create(1f);
        }
    }

    private const int Width = 128, Rows = 12_000;

    // Touched rows: every third row (or every `apart`-th) and the last, in no sorted order (an embedding's rows come in the
    // order ids were first seen); 4,001 rows × 128 = 512,128 elements, above the parallel threshold of one range; every
    // twelfth row: 1,001 rows, 128,128 elements, below it but above the threshold of scattered ranges.
    private static ElementRange[] TouchedRows(int apart = 3)
    {
        var rows = Enumerable.Range(0, Rows / apart).Select(i => apart * i).Append(Rows - 1).ToArray();
        new Random(5).Shuffle(rows);
        return [.. rows.Select(r => new ElementRange(r * Width, Width))];
    }

    // An IMDB-like layout: the frequent ids' rows one long run at the table's head, then every fifth row (rare ids).
    private static ElementRange[] HeadAndScatteredRows() =>
        [new ElementRange(0, 2_000 * Width), .. Enumerable.Range(0, 1_000).Select(i => new ElementRange((2_001 + 5 * i) * Width, Width))];

    [TestCase(2, 3)]
    [TestCase(3, 3)]
    [TestCase(2, 12)]
    [TestCase(2, 0)]
    [TestCase(3, 0)]
    public void EveryElementOfTheRangesOnceNothingElseAndOneThreadsBits(int threads, int apart)
    {
        ElementRange[] ranges = apart == 0 ? HeadAndScatteredRows() : TouchedRows(apart);
        Assert.That(FusedUpdate.SplitsOverWorkers(ranges.Sum(r => (long)r.Length), scattered: true), Is.True, "the parallel path runs");
        var random = new Random(6);
        float[] start = [.. Enumerable.Range(0, Rows * Width).Select(_ => random.NextSingle() * 2 - 1)];
        float[] gradient = [.. Enumerable.Range(0, Rows * Width).Select(_ => random.NextSingle() * 2 - 1)];
        (float[] one, float[] oneCounts) = Update(start, gradient, ranges, 1);
        (float[] many, float[] counts) = Update(start, gradient, ranges, threads);
        var inRanges = new bool[Rows * Width];
        foreach (ElementRange range in ranges)
            Array.Fill(inRanges, true, range.Start, range.Length);
        for (int i = 0; i < start.Length; i++)
        {
            float expected = inRanges[i] ? start[i] - gradient[i] * 0.5f : start[i];
            if (BitConverter.SingleToInt32Bits(many[i]) != BitConverter.SingleToInt32Bits(expected)
                || BitConverter.SingleToInt32Bits(many[i]) != BitConverter.SingleToInt32Bits(one[i]))
                Assert.Fail($"{threads} threads, element {i} (in a range: {inRanges[i]}): {many[i]}, expected {expected}, one thread {one[i]}");
            if (counts[i] != (inRanges[i] ? 1f : 0f) || oneCounts[i] != counts[i])
                Assert.Fail($"{threads} threads, element {i} updated {counts[i]} times (in a range: {inRanges[i]}; one thread {oneCounts[i]})");
        }
    }

    /// <summary>The pieces split the cost, each range weighing its elements plus <see cref="FusedUpdate.RangeCost"/>: on
    /// a long run then many single rows the first worker gets more elements and fewer ranges; pieces are contiguous,
    /// on 64-element boundaries, and cover every element.</summary>
    [TestCase(2)]
    [TestCase(3)]
    public void PiecesShareTheCostNotTheElements(int workers)
    {
        ElementRange[] ranges = HeadAndScatteredRows();
        long total = ranges.Sum(r => (long)r.Length);
        long[] cuts = [.. Enumerable.Range(0, workers + 1).Select(w => FusedUpdate.SplitPoint(ranges, total, w, workers))];
        Assert.That(cuts[0], Is.EqualTo(0));
        Assert.That(cuts[^1], Is.EqualTo(total));
        double[] costs = new double[workers];
        for (int w = 0; w < workers; w++)
        {
            Assert.That(cuts[w + 1], Is.GreaterThanOrEqualTo(cuts[w]), $"piece {w}");
            Assert.That(cuts[w] % 64, Is.EqualTo(0), $"piece {w} starts on a 64-element boundary");
            long offset = 0;
            foreach (ElementRange range in ranges) // the cost of the elements of [cuts[w], cuts[w+1]) and of the ranges begun in it
            {
                long from = Math.Max(offset, cuts[w]), to = Math.Min(offset + range.Length, cuts[w + 1]);
                if (from < to)
                    costs[w] += (to - from) + (from == offset ? FusedUpdate.RangeCost : 0);
                offset += range.Length;
            }
        }
        double share = costs.Sum() / workers;
        foreach (double cost in costs)
            Assert.That(cost, Is.EqualTo(share).Within(FusedUpdate.RangeCost + 64), $"costs {string.Join(", ", costs)}");
        Assert.That(cuts[1], Is.GreaterThan(total / workers + 64), "the first piece, mostly the long run, has more elements than an even share");
    }

    [TestCase(2, true)]
    [TestCase(2, false)]
    [TestCase(3, true)]
    [TestCase(3, false)]
    public void ANonFiniteGradientIsFoundInAnyPiece(int threads, bool inTheFirstRange)
    {
        ElementRange[] ranges = TouchedRows();
        float[] weights = new float[Rows * Width], gradient = new float[Rows * Width];
        ElementRange where = inTheFirstRange ? ranges[0] : ranges[^1];
        gradient[where.Start + (inTheFirstRange ? 0 : where.Length - 1)] = float.NaN;
        using (Parallelism.LimitThreads(threads))
        {
            FusedUpdate.ResetCheck();
            FusedUpdate.Run(new HalfStepCounting(), default, ranges, weights, gradient, new float[Rows * Width]);
            Assert.That(FusedUpdate.NonFiniteGradientSeen, Is.True, inTheFirstRange ? "a NaN in the first range" : "a NaN in the last range");
            FusedUpdate.ResetCheck();
            gradient.AsSpan().Clear();
            FusedUpdate.Run(new HalfStepCounting(), default, ranges, weights, gradient, new float[Rows * Width]);
            Assert.That(FusedUpdate.NonFiniteGradientSeen, Is.False, "all finite");
        }
    }

    private static (float[] Weights, float[] Counts) Update(float[] start, float[] gradient, ElementRange[] ranges, int threads)
    {
        float[] weights = [.. start], counts = new float[start.Length];
        using (Parallelism.LimitThreads(threads))
            FusedUpdate.Run(new HalfStepCounting(), default, ranges, weights, gradient, counts);
        return (weights, counts);
    }
}
