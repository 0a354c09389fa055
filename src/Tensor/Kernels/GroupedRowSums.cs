using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Rows of a matrix summed per group: sums[g] = Σ rows[r] over the rows r whose group is g, in increasing r. What a
/// lookup followed by a linear map needs backward: the gradient reaching an embedding row (and the weight gradient
/// of the map) is a sum over the positions of its id, so it is summed first and multiplied once per distinct id.
/// </summary>
/// <remarks>
/// <para>Shape legend: R = rows, W = width (columns per row), G = groups. group[r] ∈ [0, G), or −1 for a row that
/// belongs to no group (a masked step: its row is zero and is not read).</para>
/// <para>How: one counting sort of the row indices by group (stable, so each group's rows stay in increasing order),
/// then each group's rows are added in that order into its sum. The groups are split over the workers by index;
/// a group's sum is one fixed sequence of additions whichever worker makes it, so the result is the same at any
/// thread count.</para>
/// </remarks>
internal static unsafe class GroupedRowSums
{
    /// <summary>Ints of scratch <see cref="Sum"/> needs: G + 1 group starts and R row indices.</summary>
    public static int ScratchLength(int rows, int groups) => groups + 1 + rows;

    /// <summary>
    /// sums (G×W, overwritten) = per group, the sum of its rows of <paramref name="rows"/> (R×W) in increasing row order.
    /// </summary>
    public static void Sum(ReadOnlySpan<float> rows, int width, ReadOnlySpan<int> groupOfRow, int groups, Span<float> sums, Span<int> scratch)
    {
        int count = groupOfRow.Length;
        if (width < 1 || rows.Length < (long)count * width || sums.Length < (long)groups * width
            || scratch.Length < ScratchLength(count, groups))
            throw new ArgumentException($"GroupedRowSums: {count} rows of {width} into {groups} groups need {(long)count * width} row floats, " +
                $"{(long)groups * width} sum floats and {ScratchLength(count, groups)} scratch ints.");
        Span<int> start = scratch[..(groups + 1)], order = scratch.Slice(groups + 1, count);
        start.Clear();
        foreach (int group in groupOfRow)
        {
            if (group >= groups || group < -1)
                throw new ArgumentOutOfRangeException(nameof(groupOfRow), group, $"A row's group is outside [−1, {groups}).");
            if (group >= 0)
                start[group + 1]++;
        }
        for (int g = 0; g < groups; g++)
            start[g + 1] += start[g];
        // Stable placement: start[g] walks forward while group g's rows are placed, then is moved back.
        for (int r = 0; r < count; r++)
            if (groupOfRow[r] >= 0)
                order[start[groupOfRow[r]]++] = r;
        for (int g = groups; g > 0; g--)
            start[g] = start[g - 1];
        start[0] = 0;

        fixed (float* pRows = rows, pSums = sums)
        fixed (int* pStart = start, pOrder = order)
        {
            Job job = t_job ??= new Job();
            job.Rows = pRows; job.Sums = pSums; job.Start = pStart; job.Order = pOrder;
            (job.Width, job.Groups) = (width, groups);
            int workers = Math.Max(1, Math.Min(Parallelism.CurrentMaxThreads, groups / 64));
            Parallelism.Run(job, workers);
            job.Rows = job.Sums = null;
        }
    }

    [ThreadStatic] private static Job? t_job;

    private sealed class Job : ParallelJob
    {
        public float* Rows, Sums;
        public int* Start, Order;
        public int Width, Groups;

        public override void RunWorker(int worker, int workerCount)
        {
            int first = (int)((long)Groups * worker / workerCount), end = (int)((long)Groups * (worker + 1) / workerCount);
            int width = Width;
            for (int g = first; g < end; g++)
            {
                var sum = new Span<float>(Sums + (long)g * width, width);
                int from = Start[g], to = Start[g + 1];
                if (from == to)
                {
                    sum.Clear();
                    continue;
                }
                new ReadOnlySpan<float>(Rows + (long)Order[from] * width, width).CopyTo(sum);
                for (int i = from + 1; i < to; i++)
                    TensorPrimitives.Add(sum, new ReadOnlySpan<float>(Rows + (long)Order[i] * width, width), sum);
            }
        }
    }
}
