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
/// <para>How: the groups are split over the workers in index ranges of about equal row counts; each worker clears its
/// groups' sums (in <see cref="SumOntoTouched"/>, the LSTM's chunks summed onto the previous chunks', a group's first row
/// is stored instead), then walks the rows in increasing order (one forward stream through the matrix) and adds each
/// row of its groups into that group's sum.
/// A group's sum is one fixed sequence of additions whichever worker makes it, so the result is the same at
/// any thread count. (A counting sort of the rows by group, then each group's rows added in turn, read the matrix in
/// scattered 2 KB rows and took 2.0–2.2 ms against 1.0–1.3 ms on 6,400 rows of 512 floats, 1,564 groups.)</para>
/// </remarks>
internal static unsafe class GroupedRowSums
{
    /// <summary>
    /// sums (G×W, overwritten) = per group, the sum of its rows of <paramref name="rows"/> (R×W, R = the length of
    /// <paramref name="groupOfRow"/>) in increasing row order, from zero. <paramref name="rowsInGroup"/> (G ints, any
    /// contents) is scratch for the split over the workers.
    /// </summary>
    public static void Sum(ReadOnlySpan<float> rows, int width, ReadOnlySpan<int> groupOfRow, int groups, Span<float> sums,
        Span<int> rowsInGroup) =>
        SumFrom(rows, width, groupOfRow, groups, sums, rowsInGroup, Start.Zero, default);

    /// <summary>
    /// One piece of a matrix summed per group in pieces (the LSTM's chunks, last chunk first) onto sums that were never
    /// cleared: a group's first row in the whole pass is stored as 0 + row, the bits adding it to a cleared sum gives,
    /// and its later rows are added; <paramref name="touched"/> (G ints, all zero before the pass's first piece) records
    /// which groups have a row. After the <paramref name="last"/> piece the sums of the groups no row reached are
    /// zeroed: sums ends as a clear and then every piece's rows added in the pieces' order would leave it, bit for bit,
    /// without the clear's pass over sums (3.2 MB at the IMDB seed shape).
    /// With <paramref name="columnSums"/> (W floats) every row, a group's or not, is also added into it in row order: the
    /// bits of <see cref="ColumnSums.AddRows(ReadOnlySpan{float}, int, int, Span{float})"/> (an LSTM's bias gradient) without
    /// a second pass over the rows (13 MB of dZ a backward at the IMDB seed shape).
    /// </summary>
    public static void SumOntoTouched(ReadOnlySpan<float> rows, int width, ReadOnlySpan<int> groupOfRow, int groups, Span<float> sums,
        Span<int> rowsInGroup, Span<int> touched, bool last, Span<float> columnSums = default)
    {
        if (touched.Length < groups)
            throw new ArgumentException($"GroupedRowSums: {groups} groups need {groups} flags, got {touched.Length}.");
        if (!columnSums.IsEmpty && columnSums.Length != width)
            throw new ArgumentException($"GroupedRowSums: column sums of {width} floats, got {columnSums.Length}.");
        SumFrom(rows, width, groupOfRow, groups, sums, rowsInGroup, last ? Start.FirstTouchLast : Start.FirstTouch, touched, columnSums);
    }

    /// <summary>What a sum starts from: zero, or (first touch) the group's first row of the pass.</summary>
    private enum Start { Zero, FirstTouch, FirstTouchLast }

    private static void SumFrom(ReadOnlySpan<float> rows, int width, ReadOnlySpan<int> groupOfRow, int groups, Span<float> sums,
        Span<int> rowsInGroup, Start start, Span<int> touched, Span<float> columnSums = default)
    {
        int count = groupOfRow.Length;
        if (width < 1 || rows.Length < (long)count * width || sums.Length < (long)groups * width || rowsInGroup.Length < groups)
            throw new ArgumentException($"GroupedRowSums: {count} rows of {width} into {groups} groups need {(long)count * width} row floats, " +
                $"{(long)groups * width} sum floats and {groups} scratch ints, got {rows.Length}, {sums.Length} and {rowsInGroup.Length}.");
        // One piece inside a parallel region (the LSTM runs the sums on one worker beside its products): a split there
        // would only walk the rows once per piece on the same thread.
        int workers = Parallelism.WorkersFor(Math.Max(1, groups / 64));
        if (!columnSums.IsEmpty && workers > 1) // split by groups, no piece walks every row: the column sums on their own
        {
            ColumnSums.AddRows(rows[..(count * width)], count, width, columnSums);
            columnSums = default;
        }
        rowsInGroup = rowsInGroup[..groups];
        Span<int> firstGroup = stackalloc int[workers + 1];
        rowsInGroup.Clear();
        int summed = 0;
        foreach (int group in groupOfRow)
        {
            if (group >= groups || group < -1)
                throw new ArgumentOutOfRangeException(nameof(groupOfRow), group, $"A row's group is outside [−1, {groups}).");
            if (group >= 0)
            {
                rowsInGroup[group]++;
                summed++;
            }
        }
        // Worker w owns groups firstGroup[w] .. firstGroup[w+1]−1, about summed/workers rows each (frequent ids take the
        // first slots, so an even split of the groups would give the first worker most of the rows).
        firstGroup[0] = 0;
        for (int g = 0, w = 1, seen = 0; w <= workers; w++)
        {
            long target = (long)summed * w / workers;
            while (g < groups && (w == workers || seen + rowsInGroup[g] <= target))
                seen += rowsInGroup[g++];
            firstGroup[w] = g;
        }

        fixed (float* pRows = rows, pSums = sums, pColumns = columnSums)
        fixed (int* pGroups = groupOfRow, pFirst = firstGroup, pTouched = touched)
        {
            Job job = t_job ??= new Job();
            job.Matrix = pRows; job.Sums = pSums; job.GroupOf = pGroups; job.FirstGroup = pFirst; job.Touched = pTouched;
            job.ColumnSums = columnSums.IsEmpty ? null : pColumns;
            (job.Width, job.Rows, job.Pieces, job.Start) = (width, count, workers, start);
            Parallelism.Run(job, workers);
            job.Matrix = job.Sums = job.ColumnSums = null;
            job.GroupOf = job.FirstGroup = job.Touched = null;
        }
    }

    [ThreadStatic] private static Job? t_job;

    private sealed class Job : ParallelJob
    {
        public float* Matrix, Sums;
        /// <summary>Null, or W floats every row is added into (only with one piece: it walks every row).</summary>
        public float* ColumnSums;
        public int* GroupOf, FirstGroup, Touched;
        public int Width, Rows, Pieces;
        public Start Start;

        public override void RunWorker(int worker, int workerCount)
        {
            // A pool smaller than asked for (never today: at most CurrentMaxThreads are asked for) still covers every piece.
            for (int piece = worker; piece < Pieces; piece += workerCount)
                SumPiece(FirstGroup[piece], FirstGroup[piece + 1]);
        }

        private void SumPiece(int first, int end)
        {
            int width = Width;
            bool firstTouch = Start >= Start.FirstTouch;
            if (Start == Start.Zero)
                new Span<float>(Sums + (long)first * width, (end - first) * width).Clear();
            // The rows in increasing order (a forward stream through the matrix), each added into its group's sum.
            var columnSums = new Span<float>(ColumnSums, ColumnSums == null ? 0 : width);
            for (int r = 0; r < Rows; r++)
            {
                int g = GroupOf[r];
                var row = new ReadOnlySpan<float>(Matrix + (long)r * width, width);
                if (!columnSums.IsEmpty) // while the row is in L1 (a row of no group too: ColumnSums adds every row)
                    TensorPrimitives.Add(columnSums, row, columnSums);
                if (g < first || g >= end)
                    continue;
                var sum = new Span<float>(Sums + (long)g * width, width);
                if (firstTouch && Touched[g] == 0)
                {
                    TensorPrimitives.Add(row, 0f, sum); // row + 0: the bits of 0 + row (addition commutes exactly)
                    Touched[g] = 1;
                }
                else
                    TensorPrimitives.Add(sum, row, sum);
            }
            if (Start == Start.FirstTouchLast) // the groups no row of the pass reached: zero, as a cleared sum would be
                for (int g = first; g < end; g++)
                    if (Touched[g] == 0)
                        new Span<float>(Sums + (long)g * width, width).Clear();
        }
    }
}
