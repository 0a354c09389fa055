namespace NanoNet.Kernels;

/// <summary>
/// The weight gradients the LSTM adds after each chunk of its backward steps — dW += X̃ᵀ·dZ, dR += H_prevᵀ·dZ and
/// db += Σ rows of dZ over the chunk's rows — run side by side, each worker on its own products, instead of one after another with
/// every worker inside each GEMM. The GRU's and the simple RNN's dW and dR too (<see cref="RecurrentChunkProducts"/>;
/// the GRU's dR takes its own dZ, dĤ).
/// </summary>
/// <remarks>
/// <para>Shape legend: dZ is rows×G (G = the gate columns, 4U for the LSTM; rows = a chunk's steps × N, 512 at the
/// IMDB seed shape on a 1 MB L2, see <see cref="RecurrentStepJob.ChunkSteps(int, int, long)"/>); X is rows×D and dW D×G;
/// H_prev is the last <c>rowsH</c> rows' hidden states, rowsH×U (rowsH ≤ rows: without an initial state step 0's
/// h₋₁ = 0 is left out), against the last rowsH rows of dZ, and dR is U×G; db is G.</para>
/// <para>Why: M = D or U (128) is small next to K = the rows. Split over two workers, one such GEMM cuts its
/// 512 output columns into column tiles, and every tile packs all of Aᵀ (the whole rows×128 X or H_prev) again:
/// on the IMDB seed model, with all T·N = 6,400 rows in one product, each of dW and dR ran at 1.48× its one-thread
/// speed on two threads. Given one whole
/// product each, the workers pack A once per product, as one thread does, and run at one thread's efficiency.</para>
/// <para>The split, by cost: lay the columns of dW then those of dR on one line, each column weighted by its product's
/// K (rows·D for dW, rowsH·U for dR), and cut the line into P equal pieces (P = the workers) at whole micro-kernel
/// panels; worker w runs its piece, at most a tail of dW and a head of dR. For the plain LSTM with D = U and many
/// steps, on two workers, the products weigh about the same and the cut falls between them (one whole product each, as
/// above); with D ≠ U or few steps it falls inside the heavier one, so the worker with the lighter product also takes
/// columns of the other. db's columns are cut into P ranges of whole 64-byte lines, one per worker. With fewer than two
/// workers, or fewer than two pieces of work (the products, and the sums below), the calls run one after another.</para>
/// <para>On embedded ids the LSTM also sums the chunk's dZ per distinct id (<see cref="GroupedRowSums"/>): that runs
/// at the head of the line, on the first worker, weighed as <see cref="GroupedFloatCost"/> FMAs of a product column per
/// float of dZ, and the other workers start on the columns meanwhile. Run as a region of its own, split by ids, the
/// sums took as long on two workers as on one (every worker reads every row of the chunk).</para>
/// <para>Determinism: every element of C is one K-sum over the same KC slabs in the same order whichever column
/// range computes it (see <see cref="Gemm"/>), and db sums each column over the rows in order (as
/// <see cref="ColumnSums"/>), so the results are bitwise those of the sequential calls at any thread count.</para>
/// </remarks>
internal static unsafe class SideBySideWeightGradients
{
    /// <summary>
    /// dW += Xᵀ·dZ, dR += H_prevᵀ·dZ[rows − rowsH ..], db += Σ rows of dZ; an empty gradient is skipped.
    /// </summary>
    /// <param name="dz">dZ, rows×<paramref name="g"/>.</param>
    /// <param name="rows">Rows of dZ and X.</param>
    /// <param name="g">Columns of dZ (and of dW, dR, db).</param>
    /// <param name="x">X, rows×<paramref name="d"/>.</param>
    /// <param name="d">Columns of X (rows of dW).</param>
    /// <param name="h">H_prev, <paramref name="rowsH"/>×<paramref name="u"/>.</param>
    /// <param name="u">Columns of H_prev (rows of dR).</param>
    /// <param name="rowsH">Rows of H_prev: it meets the last rowsH rows of dZ.</param>
    /// <param name="dW">D×G, accumulated, or empty.</param>
    /// <param name="dR">U×G, accumulated, or empty.</param>
    /// <param name="dBias">G, accumulated, or empty.</param>
    /// <param name="groupOfRow">Empty, or each row's group for <see cref="GroupedRowSums"/> (−1: none): then dZ's rows
    /// are also summed per group into <paramref name="groupSums"/> (<paramref name="groups"/>×G), onto what the earlier
    /// pieces of the pass left (<see cref="GroupedRowSums.SumOntoTouched"/>).</param>
    /// <param name="groups">The number of groups.</param>
    /// <param name="groupSums">Groups×G (with <paramref name="groupOfRow"/>): never cleared; a group's first row of the pass is stored.</param>
    /// <param name="groupScratch">Groups ints of scratch for <see cref="GroupedRowSums"/>.</param>
    /// <param name="groupTouched">Groups flags (with <paramref name="groupOfRow"/>): which groups have a row so far, zero before the pass.</param>
    /// <param name="lastGroupSums">This is the pass's last piece: the sums no row reached are then zeroed.</param>
    /// <param name="dzRecurrent">Empty, or the dZ of dR's product, rows×G, when it differs from dW's (the GRU's dĤ,
    /// whose candidate columns carry the reset gate): dR += H_prevᵀ·dzRecurrent[rows − rowsH ..].</param>
    public static void Accumulate(ReadOnlySpan<float> dz, int rows, int g, ReadOnlySpan<float> x, int d,
        ReadOnlySpan<float> h, int u, int rowsH, Span<float> dW, Span<float> dR, Span<float> dBias,
        ReadOnlySpan<int> groupOfRow = default, int groups = 0, Span<float> groupSums = default, Span<int> groupScratch = default,
        Span<int> groupTouched = default, bool lastGroupSums = false, ReadOnlySpan<float> dzRecurrent = default)
    {
        if (dzRecurrent.IsEmpty)
            dzRecurrent = dz;
        int workers = Parallelism.CurrentMaxThreads;
        bool hasW = !dW.IsEmpty && rows > 0, hasR = !dR.IsEmpty && rowsH > 0, hasGroups = !groupOfRow.IsEmpty;
        // Side by side when two pieces of work at least are there to share out: both products, or one and the sums.
        int pieces = (hasW ? 1 : 0) + (hasR ? 1 : 0) + (hasGroups ? 1 : 0);
        if (workers < 2 || pieces < 2 || WorkerPool.IsInsideRegion)
        {
            Sequential(dz, dzRecurrent, rows, g, x, d, h, u, rowsH, dW, dR, dBias, groupOfRow, groups, groupSums, groupScratch, groupTouched, lastGroupSums);
            return;
        }
        if (dz.Length < (long)rows * g || dzRecurrent.Length < (long)rows * g || (hasW && x.Length < (long)rows * d) || (hasR && h.Length < (long)rowsH * u) || rowsH > rows
            || (hasW && dW.Length < d * g) || (hasR && dR.Length < u * g) || (!dBias.IsEmpty && dBias.Length != g)
            || (hasGroups && (groupOfRow.Length != rows || groupSums.Length < (long)groups * g || groupScratch.Length < groups
                || groupTouched.Length < groups)))
            throw new ArgumentException("Weight gradients: a buffer has the wrong length.");
        int nr = GemmMicroKernels.TileSize(Gemm.BestKernel).Nr;
        workers = Math.Min(workers, 2 * ((g + nr - 1) / nr)); // no more pieces than panels
        fixed (float* pdz = dz, pdzR = dzRecurrent, px = x, ph = h, pdw = dW, pdr = dR, pdb = dBias, pSums = groupSums)
        fixed (int* pGroups = groupOfRow, pScratch = groupScratch, pTouched = groupTouched)
        {
            Job job = t_job ??= new Job();
            // A product that is not there weighs nothing on the line (no columns of it are handed out).
            job.Line = new Work
            {
                DZ = pdz, DZR = pdzR == pdz ? null : pdzR, X = px, H = ph, DW = pdw, DR = pdr, DBias = dBias.IsEmpty ? null : pdb,
                Rows = rows, G = g, D = hasW ? d : 0, U = hasR ? u : 0, RowsH = hasR ? rowsH : 0, Tasks = workers, Nr = nr,
                GroupOf = hasGroups ? pGroups : null, GroupSums = pSums, GroupScratch = pScratch, Groups = groups,
                GroupTouched = pTouched, LastGroupSums = lastGroupSums,
            };
            Parallelism.Run(job, workers);
            job.Line = default;
        }
    }

    /// <summary>
    /// What summing one float of dZ into its group costs, in FMAs of a product column (a read of the row and a
    /// read-modify-write of the group's sum, from beyond L2): on the Zen 5 VM of the twentieth sitting the sums of
    /// 6,400×512 floats took 0.6 ms and dR's 6,400×128×512 FMAs 4.6 ms, about 16 to 1.
    /// </summary>
    internal const double GroupedFloatCost = 16;

    /// <summary>The calls one after another, each on all workers (one worker, or a single piece of work).</summary>
    private static void Sequential(ReadOnlySpan<float> dz, ReadOnlySpan<float> dzRecurrent, int rows, int g, ReadOnlySpan<float> x, int d,
        ReadOnlySpan<float> h, int u, int rowsH, Span<float> dW, Span<float> dR, Span<float> dBias,
        ReadOnlySpan<int> groupOfRow, int groups, Span<float> groupSums, Span<int> groupScratch, Span<int> groupTouched, bool lastGroupSums)
    {
        if (!groupOfRow.IsEmpty) // db in the same walk over dZ's rows
            GroupedRowSums.SumOntoTouched(dz[..(rows * g)], g, groupOfRow, groups, groupSums, groupScratch, groupTouched, lastGroupSums, dBias);
        else if (!dBias.IsEmpty)
            ColumnSums.AddRows(dz, rows, g, dBias);
        if (!dW.IsEmpty && rows > 0)
            Gemm.Multiply(true, false, d, g, rows, x, d, dz, g, dW, g, accumulate: true);
        if (!dR.IsEmpty && rowsH > 0)
            Gemm.Multiply(true, false, u, g, rowsH, h, u, dzRecurrent.Slice((rows - rowsH) * g), g, dR, g, accumulate: true);
    }

    [ThreadStatic] private static Job? t_job;

    private sealed class Job : ParallelJob
    {
        public Work Line;

        public override void RunWorker(int worker, int workerCount)
        {
            // A pool smaller than asked for (never today: the caller asks for at most CurrentMaxThreads) still covers every task.
            for (int task = worker; task < Line.Tasks; task += workerCount)
                Line.RunTask(task);
        }
    }

    /// <summary>
    /// One chunk's products and sums as raw operands, laid on one line and cut into <see cref="Tasks"/> pieces (see the
    /// remarks above); a worker runs a piece with <see cref="RunTask"/>, its calls on that worker alone. Also the unit
    /// of work of <see cref="RecurrentBackwardPipeline"/>, whose workers take one chunk's piece of a lane at a time
    /// (the cuts then fixed by <see cref="CutRows"/>).
    /// </summary>
    internal struct Work
    {
        /// <summary>dZ (Rows×G), X (Rows×D), H_prev (RowsH×U: the last RowsH rows of dZ), dW, dR, db (null: none),
        /// and with <see cref="GroupOf"/> the per-group sums (Groups×G).</summary>
        public float* DZ, X, H, DW, DR, DBias, GroupSums;
        /// <summary>The dZ of dR's product when it is not <see cref="DZ"/> (the GRU's dĤ), Rows×G; null: DZ.</summary>
        public float* DZR;
        /// <summary>Each row's group (null: no sums), <see cref="Groups"/> ints of scratch for <see cref="GroupedRowSums"/>, and
        /// its <see cref="GroupedRowSums.SumOntoTouched"/> flags.</summary>
        public int* GroupOf, GroupScratch, GroupTouched;
        /// <summary>These are the pass's last rows (the sums no row reached are then zeroed).</summary>
        public bool LastGroupSums;
        /// <summary>D = 0 leaves dW out, U = 0 leaves dR out; Nr is the micro-kernel's panel width the cuts fall on.</summary>
        public int Rows, G, D, U, RowsH, Tasks, Nr, Groups;
        /// <summary>0: the line is cut by this chunk's own weights (Rows, RowsH). Else the rows of dW's and dR's products
        /// that fix the cuts, the same for every chunk (<see cref="RecurrentBackwardPipeline"/>'s lanes: a column must stay
        /// in one piece from chunk to chunk, whatever the chunk's rows).</summary>
        public int CutRows, CutRowsH;

        /// <summary>Where task <paramref name="task"/>'s piece of the line starts: a column of dW (0..G) or G + a column of dR
        /// (the grouped sums, when there are any, come first on the line and belong to task 0).</summary>
        private readonly int LineStart(int task)
        {
            if (task >= Tasks)
                return 2 * G;
            (int rows, int rowsH) = CutRows > 0 ? (CutRows, CutRowsH) : (Rows, RowsH);
            double perColumnW = (double)rows * D, perColumnR = (double)rowsH * U;
            double sums = GroupOf == null ? 0 : GroupedFloatCost * rows * G;
            double at = (sums + (perColumnW + perColumnR) * G) * task / Tasks - sums, wholeW = perColumnW * G;
            if (at <= 0)
                return perColumnW > 0 ? 0 : G;
            if (at < wholeW)
                return Math.Min(G, (int)Math.Round(at / perColumnW / Nr) * Nr);
            return G + Math.Min(G, (int)Math.Round((at - wholeW) / perColumnR / Nr) * Nr);
        }

        /// <summary>dZ's rows summed into their groups' sums (<see cref="GroupedRowSums.SumOntoTouched"/>), on the calling worker;
        /// with <paramref name="andBias"/> into db too, in the same walk over the rows (the line's pieces then leave db out).</summary>
        public readonly void SumGroups(bool andBias) =>
            GroupedRowSums.SumOntoTouched(new ReadOnlySpan<float>(DZ, Rows * G), G, new ReadOnlySpan<int>(GroupOf, Rows), Groups,
                new Span<float>(GroupSums, Groups * G), new Span<int>(GroupScratch, Groups), new Span<int>(GroupTouched, Groups), LastGroupSums,
                new Span<float>(DBias, andBias && DBias != null ? G : 0));

        /// <summary>Runs piece <paramref name="task"/> of <see cref="Tasks"/> on the calling worker.</summary>
        public readonly void RunTask(int task)
        {
            int start = LineStart(task), end = LineStart(task + 1);
            if (task == 0 && GroupOf != null) // the head of the line: dZ's rows into their groups' sums and db (this worker alone)
                SumGroups(andBias: true);
            // The calls below run on this worker alone (a GEMM started inside a parallel region does).
            int fromW = Math.Min(start, G), toW = Math.Min(end, G);
            if (toW > fromW) // dW[:, from..to) += Xᵀ·dZ[:, from..to) (every chunk has rows)
            {
                int columns = toW - fromW;
                Gemm.Multiply(true, false, D, columns, Rows, new ReadOnlySpan<float>(X, Rows * D), D,
                    new ReadOnlySpan<float>(DZ + fromW, (int)((long)(Rows - 1) * G + columns)), G,
                    new Span<float>(DW + fromW, (D - 1) * G + columns), G, accumulate: true);
            }
            int fromR = Math.Max(start, G) - G, toR = Math.Max(end, G) - G;
            if (toR > fromR && RowsH > 0) // dR[:, from..to) += H_prevᵀ·dZ[rows − rowsH.., from..to)
            {
                int columns = toR - fromR;
                float* dzR = DZR != null ? DZR : DZ;
                Gemm.Multiply(true, false, U, columns, RowsH, new ReadOnlySpan<float>(H, RowsH * U), U,
                    new ReadOnlySpan<float>(dzR + (long)(Rows - RowsH) * G + fromR, (int)((long)(RowsH - 1) * G + columns)), G,
                    new Span<float>(DR + fromR, (U - 1) * G + columns), G, accumulate: true);
            }
            // db over this task's range of whole 16-float lines, every column summed over the rows in order (with sums, task
            // 0 added all of it in their walk over the rows)
            if (DBias != null && GroupOf == null)
            {
                int lines = (G + 15) / 16;
                int first = Math.Min(G, lines * task / Tasks * 16), last = Math.Min(G, lines * (task + 1) / Tasks * 16);
                if (first < last)
                    ColumnSums.AddBand(DZ, Rows, G, DBias, first, last);
            }
        }
    }
}
