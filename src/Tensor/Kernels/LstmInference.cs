namespace NanoNet.Kernels;

/// <summary>
/// The LSTM forward pass when nothing will be back-propagated (inference, <c>Predict</c>): the same arithmetic as
/// <see cref="LstmKernels.Forward"/>, bit for bit, but streaming, with only the running state in memory.
/// </summary>
/// <remarks>
/// <para>Shape legend: N = batch, T = time steps, D = input features, U = units, 4U = the gates i, f, g, o.
/// x is (N, T, D) batch-major; W is D×4U and R is U×4U, both packed once per call; y is (N, U) or (N, T, U).
/// Scratch: Z (N×4U, one step's gates), h and c (N×U, the running state, updated in place), and N×U for tanh(c_t).</para>
/// <para>What training's forward keeps and this one does not: the time-major copy of x, the gates of every step
/// (T·N×4U: 105 MB at N = 256, T = 200, U = 128), and the h, c and tanh c histories. Each step of a band of rows
/// instead computes z = x_t·W straight from batch-major x (rows of step t are T·D floats apart, so x_t is one strided
/// matrix), adds h_{t−1}·R, and runs the cell on z while it is still in cache; on AVX-512 both happen in one pass of
/// <see cref="LstmFusedStep"/>, reading a copy of the band's h_{t−1} (the scratch's gate block is free for it).</para>
/// <para>In place is safe: the step's GEMM reads h_{t−1} of the band before the cell writes h_t, and the cell reads
/// c_{t−1}[j] just before it writes c_t[j]. A skipped (masked) step leaves its row's h and c as they are.</para>
/// <para>Same bits as <see cref="LstmKernels.Forward"/>: each z row is the same two GEMM rows (the projection from
/// zero over the D inputs, then the recurrent product added to it) and the same cell call, and the batch rows are split
/// into bands once per call (<see cref="RecurrentStepJob"/>), so the result is also the same at any thread count.</para>
/// </remarks>
public static unsafe class LstmInference
{
    [ThreadStatic] private static PackedMatrix? t_packedW, t_packedR;
    [ThreadStatic] private static float[]? t_fusedWeights, t_fusedBias;
    [ThreadStatic] private static int t_onEmbeddingRuns;

    /// <summary>Diagnostics for tests: how many <see cref="ForwardOnEmbedding"/> calls ran on this thread.</summary>
    internal static int OnEmbeddingRuns => t_onEmbeddingRuns;

    /// <summary>
    /// Whether streaming pays for a batch of <paramref name="batch"/> sequences: from 8 rows (one AVX-512 micro-tile)
    /// up. Below that every per-step product is a matrix-vector product (<see cref="GemmRows"/>) that streams its whole
    /// weight matrix, and x_t·W per step read W once per step: at batch 1 (text-predict1) the one projection GEMM over
    /// all steps of <see cref="LstmKernels.Forward"/> was 1.4x faster (0.95 against 1.35 ms).
    /// </summary>
    public static bool Applies(int batch) => batch >= 8;

    /// <summary>Scratch floats <see cref="Forward"/> needs: N×4U for one step's gates, and three N×U blocks (h, c, tanh c).</summary>
    public static int ScratchLength(in LstmShape s) => s.Batch * s.GateWidth + 3 * s.StateLength;

    /// <summary>
    /// Runs the LSTM over the whole sequence without keeping anything for backward; leaves the final h and c in
    /// <paramref name="finalHidden"/> and <paramref name="finalCell"/>.
    /// </summary>
    /// <param name="s">The dimensions.</param>
    /// <param name="x">Input, (N, T, D).</param>
    /// <param name="w">Kernel W, D×4U.</param>
    /// <param name="r">Recurrent kernel R, U×4U.</param>
    /// <param name="bias">Bias, 4U.</param>
    /// <param name="mask">Empty, or N×T with 0 where a step is skipped.</param>
    /// <param name="initialHidden">Empty (zero state) or N×U.</param>
    /// <param name="initialCell">Empty (zero state) or N×U.</param>
    /// <param name="y">Output: (N, T, U) with <paramref name="returnSequences"/>, else (N, U) = h_{T−1}.</param>
    /// <param name="returnSequences">Whether every step's h is returned.</param>
    /// <param name="finalHidden">N×U: receives h after the last step.</param>
    /// <param name="finalCell">N×U: receives c after the last step.</param>
    /// <param name="scratch">Workspace of <see cref="ScratchLength"/> floats.</param>
    public static void Forward(in LstmShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Span<float> y, bool returnSequences, Span<float> finalHidden, Span<float> finalCell, Span<float> scratch)
    {
        s.Validate();
        int n = s.Batch, d = s.Inputs, u = s.Units, g4 = s.GateWidth, block = s.StateLength;
        if (x.Length != s.InputLength || w.Length != d * g4 || r.Length != u * g4 || bias.Length != g4
            || (mask.Length != 0 && mask.Length != s.Rows) || initialHidden.Length != initialCell.Length
            || (initialHidden.Length != 0 && initialHidden.Length != block))
            throw new ArgumentException($"LSTM spans do not match N={n}, T={s.Steps}, D={d}, U={u}.");
        if (y.Length != s.OutputLength(returnSequences) || finalHidden.Length != block || finalCell.Length != block
            || scratch.Length < ScratchLength(s))
            throw new ArgumentException("LSTM inference: an output or the scratch has the wrong length.");
        if (n == 0)
            return;

        Stream(s, x, w, r, bias, mask, initialHidden, initialCell, y, returnSequences, finalHidden, finalCell, scratch,
            default, default, default, default);
    }

    /// <summary>Whether <see cref="ForwardOnEmbedding"/> runs for a batch of <paramref name="batch"/>: whenever the streamed forward does.</summary>
    public static bool AppliesOnEmbedding(int batch) => Applies(batch);

    /// <summary>
    /// Floats <see cref="ForwardOnEmbedding"/>'s projection workspace needs for <paramref name="distinct"/> ids: per id,
    /// its projected row in the fused step's panel order; on the two-pass step, its 4U-float row and its gathered
    /// D-float embedding row (the GEMM's A).
    /// </summary>
    public static long ProjectedLength(in LstmShape s, int distinct) =>
        LstmKernels.ProjectedLength(s, distinct) + (LstmFusedStep.Applies(s.Batch) ? 0 : (long)distinct * s.Inputs);

    /// <summary>
    /// <see cref="Forward"/> for an input that is an embedding lookup, x[n, t] = table[id of (n, t)], without x: an
    /// embedding followed by a linear map is a lookup in a projected table, so each distinct id of the batch is
    /// projected once (E[id]·W, <see cref="LstmFusedStep.Project"/>) and every step starts its chains from its rows'
    /// projections, running the K = U recurrent part only. Bit for bit <see cref="Forward"/> on the gathered x (the
    /// projection is that chain's own value after its x part), at any thread count. Needs <see cref="AppliesOnEmbedding"/>.
    /// </summary>
    /// <remarks>
    /// What it saves: the x·W FMAs of every position whose id already occurred in the batch (a batch of 256 IMDB
    /// reviews of 200 ids over a 20,000-word vocabulary holds at most 20,000 distinct ids of 51,200 positions) and the
    /// gathered x itself (N·T·D floats). What it reads instead: a 4U-float projected row per position and step.
    /// </remarks>
    /// <param name="s">The dimensions (D = the embedding width).</param>
    /// <param name="table">The embedding table, V×D.</param>
    /// <param name="distinctIds">The batch's distinct ids (each in [0, V)), in any order: row j of the projection is distinctIds[j]'s.</param>
    /// <param name="slots">N×T: for position (n, t), the index in <paramref name="distinctIds"/> of its id.</param>
    /// <param name="projected">Workspace of <see cref="ProjectedLength"/> floats for the projected rows.</param>
    /// <param name="w">Kernel W, D×4U.</param>
    /// <param name="r">Recurrent kernel R, U×4U.</param>
    /// <param name="bias">Bias, 4U.</param>
    /// <param name="mask">Empty, or N×T with 0 where a step is skipped.</param>
    /// <param name="initialHidden">Empty (zero state) or N×U.</param>
    /// <param name="initialCell">Empty (zero state) or N×U.</param>
    /// <param name="y">Output: (N, T, U) with <paramref name="returnSequences"/>, else (N, U) = h_{T−1}.</param>
    /// <param name="returnSequences">Whether every step's h is returned.</param>
    /// <param name="finalHidden">N×U: receives h after the last step.</param>
    /// <param name="finalCell">N×U: receives c after the last step.</param>
    /// <param name="scratch">Workspace of <see cref="ScratchLength"/> floats.</param>
    public static void ForwardOnEmbedding(in LstmShape s, ReadOnlySpan<float> table, ReadOnlySpan<int> distinctIds, ReadOnlySpan<int> slots,
        ReadOnlySpan<float> w, ReadOnlySpan<float> r, ReadOnlySpan<float> bias, ReadOnlySpan<float> mask,
        ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Span<float> y, bool returnSequences, Span<float> finalHidden, Span<float> finalCell, Span<float> projected, Span<float> scratch)
    {
        s.Validate();
        int n = s.Batch, d = s.Inputs, u = s.Units, g4 = s.GateWidth, block = s.StateLength;
        if (!AppliesOnEmbedding(n))
            throw new InvalidOperationException($"LSTM inference on embedded ids needs at least 8 rows (N={n}); see AppliesOnEmbedding.");
        if (table.Length % d != 0 || slots.Length != s.Rows || w.Length != d * g4 || r.Length != u * g4 || bias.Length != g4
            || (mask.Length != 0 && mask.Length != s.Rows) || initialHidden.Length != initialCell.Length
            || (initialHidden.Length != 0 && initialHidden.Length != block))
            throw new ArgumentException($"LSTM spans do not match N={n}, T={s.Steps}, D={d}, U={u}.");
        if (y.Length != s.OutputLength(returnSequences) || finalHidden.Length != block || finalCell.Length != block
            || scratch.Length < ScratchLength(s) || projected.Length < ProjectedLength(s, distinctIds.Length))
            throw new ArgumentException("LSTM inference: an output, the projection or the scratch has the wrong length.");
        int vocabulary = table.Length / d;
        foreach (int id in distinctIds)
            if ((uint)id >= (uint)vocabulary)
                throw new ArgumentOutOfRangeException(nameof(distinctIds), id, $"An id is outside the embedding table's {vocabulary} rows.");
        foreach (int slot in slots)
            if ((uint)slot >= (uint)distinctIds.Length)
                throw new ArgumentOutOfRangeException(nameof(slots), slot, $"A slot is outside the {distinctIds.Length} distinct ids.");
        if (n == 0)
            return;
        t_onEmbeddingRuns++;
        Stream(s, default, w, r, bias, mask, initialHidden, initialCell, y, returnSequences, finalHidden, finalCell, scratch,
            table, distinctIds, slots, projected);
    }

    /// <summary>The streamed steps, from x or (when <paramref name="distinctIds"/> is given) from embedded ids.</summary>
    private static void Stream(in LstmShape s, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> r,
        ReadOnlySpan<float> bias, ReadOnlySpan<float> mask, ReadOnlySpan<float> initialHidden, ReadOnlySpan<float> initialCell,
        Span<float> y, bool returnSequences, Span<float> finalHidden, Span<float> finalCell, Span<float> scratch,
        ReadOnlySpan<float> table, ReadOnlySpan<int> distinctIds, ReadOnlySpan<int> slots, Span<float> projected)
    {
        int n = s.Batch, d = s.Inputs, u = s.Units, g4 = s.GateWidth;
        bool onEmbedding = !slots.IsEmpty;
        // The running state lives in the caller's final-state buffers: after the last step they hold h and c.
        RecurrentLayout.CopyOrClear(initialHidden, finalHidden);
        RecurrentLayout.CopyOrClear(initialCell, finalCell);
        // The same choice as the training forward (LstmKernels.Forward), so both take the same path and agree bit for bit.
        bool fused = LstmFusedStep.Applies(n);
        PackedMatrix? packedW = null, packedR = null;
        (int Weights, int Bias) fusedStart = default; // where the packed panels and bias start (on cache lines)
        if (fused)
            fusedStart = LstmFusedStep.Pack(w, r, bias, d, u, ref t_fusedWeights, ref t_fusedBias, panelsLater: onEmbedding);
        else
        {
            packedW = t_packedW = PackedMatrix.Pack(false, d, g4, w, g4, t_packedW);
            packedR = t_packedR = PackedMatrix.Pack(false, u, g4, r, g4, t_packedR);
        }
        fixed (float* pw = w, pr = r, px = x, pb = bias, pm = mask, py = y, h = finalHidden, c = finalCell, pScratch = scratch,
               fusedWeightsArray = fused ? t_fusedWeights : null, fusedBiasArray = fused ? t_fusedBias : null,
               pTable = table, pProjected = projected)
        fixed (int* pSlots = slots)
        {
            float* fusedWeights = fused ? fusedWeightsArray + fusedStart.Weights : null;
            float* fusedBias = fused ? fusedBiasArray + fusedStart.Bias : null;
            if (onEmbedding && fused)
                fixed (int* pIds = distinctIds)
                    LstmProjection.Run(fusedWeights, d, u, pTable, pIds, distinctIds.Length, pProjected, pw, pr); // packs the panels first
            else if (onEmbedding)
            {
                // Two-pass: the distinct ids' embedding rows gathered (after the projected rows), then one GEMM, whose
                // every row is the x_t·W row the step's GEMM would compute for that id (a row's sums do not depend on M).
                int count = distinctIds.Length;
                Span<float> gathered = projected.Slice(count * g4, count * d);
                EmbeddingKernels.Gather(distinctIds, table, gathered, d);
                Gemm.Multiply(false, count, g4, d, gathered, d, packedW!, projected[..(count * g4)], g4);
            }
            StreamJob job = StreamJob.Rent(s, packedR);
            job.Projected = onEmbedding ? pProjected : null;
            job.Slots = onEmbedding ? pSlots : null;
            job.PackedW = packedW;
            job.FusedWeights = fusedWeights; job.FusedBias = fusedBias;
            job.X = px; job.Bias = pb; job.Mask = pm; job.Y = py; job.Hidden = h; job.Cell = c;
            job.Gates = pScratch; job.TanhCell = pScratch + (long)n * g4;
            job.InitialState = !initialHidden.IsEmpty;
            job.ReturnSequences = returnSequences;
            job.RunForward();
        }
        if (!returnSequences)
            finalHidden.CopyTo(y);
    }

    /// <summary>One band of rows through every step: z = x_t·W + h_{t−1}·R, then the cell, in place.</summary>
    private sealed class StreamJob : RecurrentStepJob
    {
        [ThreadStatic] private static StreamJob? t_cached;

        public LstmShape Shape;
        public PackedMatrix? PackedW;
        public bool InitialState, ReturnSequences;
        public float* X, Bias, Y, Hidden, Cell, Gates, TanhCell;
        // W, R and the bias packed in panels for the fused step (LstmFusedStep), or null for the two-pass step.
        public float* FusedWeights, FusedBias;
        // Embedded ids (ForwardOnEmbedding): the projected rows and, per position, its row; else null.
        public float* Projected;
        public int* Slots;

        public static StreamJob Rent(in LstmShape s, PackedMatrix? recurrent)
        {
            StreamJob job = t_cached ??= new StreamJob();
            job.Prepare(s.Batch, s.Steps, s.GoBackwards, recurrent, backward: false);
            job.Shape = s;
            return job;
        }

        /// <summary>The fused step runs its rows one register tile at a time: chains of a tile cost nothing per row.</summary>
        protected override bool ForwardInChains => FusedWeights != null;

        protected override void ForwardRows(int step, int first, int end)
        {
            int t = Shape.Steps, d = Shape.Inputs, u = Shape.Units, g4 = Shape.GateWidth, rows = end - first;
            int inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
            float* z = Gates + (long)first * g4;
            // Row n of x_t is x[n, inputStep, :], T·D floats after row n − 1.
            long xStride = (long)t * d;
            if (FusedWeights != null)
            {
                // The fused step writes h_t in place while other panels of the same rows still read h_{t−1}: it reads
                // a copy of the band's h_{t−1}, in the band's part of the (otherwise unused) gate scratch.
                float* previous = Gates + (long)first * u;
                Buffer.MemoryCopy(Hidden + (long)first * u, previous, (long)rows * u * sizeof(float), (long)rows * u * sizeof(float));
                var outputs = new LstmFusedStep.Outputs
                {
                    CellIn = Cell + (long)first * u, CellOut = Cell + (long)first * u, Hidden = Hidden + (long)first * u,
                    Mask = Mask == null ? null : Mask + (long)first * t + inputStep, MaskStride = t,
                };
                if (Projected != null)
                    LstmFusedStep.StepProjected(FusedWeights, FusedBias, d, u, rows, Projected, Slots + (long)first * t + inputStep, t,
                        previous, u, outputs);
                else
                    LstmFusedStep.Step(FusedWeights, FusedBias, d, u, rows, X + first * xStride + (long)inputStep * d, xStride, previous, u, outputs);
                if (ReturnSequences)
                    for (int row = first; row < end; row++)
                        Buffer.MemoryCopy(Hidden + (long)row * u, Y + ((long)row * t + step) * u, u * sizeof(float), u * sizeof(float));
                return;
            }
            if (Projected != null) // z = x_t·W for these rows: their ids' projected rows
                for (int row = first; row < end; row++)
                    Buffer.MemoryCopy(Projected + (long)Slots[(long)row * t + inputStep] * g4, z + (long)(row - first) * g4,
                        g4 * sizeof(float), g4 * sizeof(float));
            else // z = x_t·W for these rows
                Gemm.Multiply(false, rows, g4, d, new ReadOnlySpan<float>(X + first * xStride + (long)inputStep * d, (int)((rows - 1) * xStride + d)),
                (int)xStride, PackedW!, new Span<float>(z, rows * g4), g4);
            if (step > 0 || InitialState) // z += h_{t−1}·R (h of these rows, read whole before the cell overwrites it)
                Gemm.Multiply(false, rows, g4, u, new ReadOnlySpan<float>(Hidden + (long)first * u, rows * u), u,
                    Recurrent, new Span<float>(z, rows * g4), g4, accumulate: true);
            for (int row = first; row < end; row++)
            {
                float* h = Hidden + (long)row * u;
                if (!Skipped(step, row)) // a skipped step carries h and c as they are
                {
                    float* c = Cell + (long)row * u;
                    LstmKernels.ForwardRow(z + (long)(row - first) * g4, Bias, c, c, TanhCell + (long)row * u, h, u);
                }
                if (ReturnSequences)
                    Buffer.MemoryCopy(h, Y + ((long)row * t + step) * u, u * sizeof(float), u * sizeof(float));
            }
        }

        /// <summary>A batch of one band (below 16 rows) on the fused step splits its units (panels) over the workers when R is
        /// big enough, U a multiple of 32 (RecurrentStepJob.UnitSplit.cs).</summary>
        protected override int SplittableUnits => SplittableIf(FusedWeights != null, Shape.Units, Shape.GateWidth);

        /// <summary>Split by units, every worker reads all of h_{t−1} while the others write their units of h_t: h goes back
        /// and forth between two copies in the gate scratch (step t reads copy t mod 2 and writes the other), starting from
        /// the initial state.</summary>
        protected override void BeforeUnitSplit()
        {
            long bytes = (long)Shape.StateLength * sizeof(float);
            Buffer.MemoryCopy(Hidden, Gates, bytes, bytes);
        }

        /// <summary>The fused step for the panels of units [<paramref name="firstUnit"/>, <paramref name="endUnit"/>) of every
        /// row, h_{t−1} from one copy and h_t into the other (<see cref="BeforeUnitSplit"/>), c in place; the last step also
        /// leaves these units of h in the final state.</summary>
        protected override void ForwardUnits(int step, int worker, int firstUnit, int endUnit)
        {
            int n = Shape.Batch, t = Shape.Steps, d = Shape.Inputs, u = Shape.Units, count = endUnit - firstUnit;
            int inputStep = RecurrentLayout.InputStep(step, t, GoBackwards);
            long xStride = (long)t * d, span = (long)count * sizeof(float);
            float* previous = Gates + (long)(step % 2) * Shape.StateLength, next = Gates + (long)((step + 1) % 2) * Shape.StateLength;
            var outputs = new LstmFusedStep.Outputs
            {
                CellIn = Cell, CellOut = Cell, Hidden = next,
                Mask = Mask == null ? null : Mask + inputStep, MaskStride = t,
            };
            int firstPanel = firstUnit / LstmFusedStep.Units, endPanel = endUnit / LstmFusedStep.Units;
            if (Projected != null)
                LstmFusedStep.StepProjected(FusedWeights, FusedBias, d, u, n, Projected, Slots + inputStep, t, previous, u, outputs,
                    firstPanel, endPanel);
            else
                LstmFusedStep.Step(FusedWeights, FusedBias, d, u, n, X + (long)inputStep * d, xStride, previous, u, outputs, firstPanel, endPanel);
            for (int row = 0; row < n; row++)
            {
                float* h = next + (long)row * u + firstUnit;
                if (Skipped(step, row)) // a skipped step carries h (and c, untouched in place)
                    Buffer.MemoryCopy(previous + (long)row * u + firstUnit, h, span, span);
                if (ReturnSequences)
                    Buffer.MemoryCopy(h, Y + ((long)row * t + step) * u + firstUnit, span, span);
                if (step == t - 1)
                    Buffer.MemoryCopy(h, Hidden + (long)row * u + firstUnit, span, span);
            }
        }

        protected override void BackwardRows(int step, int first, int end, float* hIn, float* hOut) =>
            throw new NotSupportedException("LSTM inference has no backward pass.");
    }
}
