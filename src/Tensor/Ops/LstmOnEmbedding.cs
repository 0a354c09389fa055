using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// <c>Lstm(Embedding(ids, table))</c> in one op: an embedding followed by a linear map is a lookup in a projected
    /// table, so the LSTM's input product x·W is computed once per distinct id of the batch instead of once per
    /// position, and the embedded sequence itself is never written. Keras semantics, <paramref name="maskZero"/> as
    /// <see cref="Embedding"/>'s (id 0 marks a step to skip).
    /// </summary>
    /// <remarks>
    /// <para>At inference (nothing recorded, 8 rows or more: <see cref="LstmInference.AppliesOnEmbedding"/>) it
    /// streams, bit for bit the two ops. When recording (training) the forward keeps what backward needs and is the
    /// same bits as the two ops on AVX-512 (the fused step); backward sums dZ over each distinct id's positions
    /// first (<see cref="LstmKernels.BackwardOnEmbedding"/>), so the table rows' and W's gradients are products over
    /// the distinct ids rather than all N·T positions: equal to the two ops' within rounding (the sums run in another
    /// order), the same at any thread count. Like <see cref="Embedding"/>, backward touches only the rows of the ids
    /// that occur (and records them for sparse updates); with <paramref name="maskZero"/> row 0 gets no gradient.
    /// Otherwise (ids not (N, T), inference below 8 rows, training on a batch whose ids are more than
    /// <see cref="TrainingDistinctShare"/> distinct) it is exactly <see cref="Embedding"/> then
    /// <see cref="Lstm(Tensor, Tensor, Tensor, Tensor, bool, Tensor?, LstmState?, bool, Tensor?, Tensor?)"/>.</para>
    /// <para>What it saves on the IMDB seed model (T = 200, D = U = 128, vocabulary 20,000): half of the LSTM's
    /// forward FMAs are the input product, and so are dX and dW backward. A batch of 256 sequences × 200 positions holds at most
    /// 20,000 distinct ids (about 18,400 when ids are uniform, about 5,600 in real IMDB test reviews); a training
    /// batch of 32 reviews holds about 5,500 distinct ids in 6,400 positions when ids are uniform, far fewer in real text.</para>
    /// </remarks>
    /// <param name="ids">Token ids (N, T), integers in [0, V).</param>
    /// <param name="table">The embedding table (V, D).</param>
    /// <param name="kernel">W, (D, 4U).</param>
    /// <param name="recurrentKernel">R, (U, 4U).</param>
    /// <param name="bias">b, (4U).</param>
    /// <param name="returnSequences">Return h for every step rather than the last one.</param>
    /// <param name="maskZero">Skip the steps whose id is 0 (Keras' <c>mask_zero</c>).</param>
    /// <param name="goBackwards">Read the steps last to first.</param>
    public static Tensor LstmOnEmbedding(Tensor ids, Tensor table, Tensor kernel, Tensor recurrentKernel, Tensor bias,
        bool returnSequences = false, bool maskZero = false, bool goBackwards = false)
    {
        bool recording = Tape.ShouldRecord(table, kernel) || Tape.IsRecording && (recurrentKernel.RequiresGrad || bias.RequiresGrad);
        if (ids.Rank != 2 || table.Rank != 2 || ids.Dim(0) == 0 || (!recording && !LstmInference.AppliesOnEmbedding(ids.Dim(0))))
        {
            Tensor x = Embedding(ids, table, maskZero);
            return Lstm(x, kernel, recurrentKernel, bias, returnSequences, maskZero && ids.Rank == 2 ? PaddingMask(ids) : null,
                goBackwards: goBackwards);
        }

        long started = Profiler.Start();
        int n = ids.Dim(0), t = ids.Dim(1), vocabulary = table.Dim(0), d = table.Dim(1);
        if (kernel.Rank != 2 || kernel.Dim(0) != d || kernel.Dim(1) % 4 != 0 || kernel.Dim(1) == 0)
            throw new ArgumentException($"Lstm kernel must be ({d}, 4·units) for an embedding of width {d}, got {Shapes.Format(kernel.Shape)}.");
        int u = kernel.Dim(1) / 4;
        if (recurrentKernel.Rank != 2 || recurrentKernel.Dim(0) != u || recurrentKernel.Dim(1) != 4 * u)
            throw new ArgumentException($"Lstm recurrent kernel must be ({u}, {4 * u}), got {Shapes.Format(recurrentKernel.Shape)}.");
        if (bias.Rank != 1 || bias.Length != 4 * u)
            throw new ArgumentException($"Lstm bias must be ({4 * u}), got {Shapes.Format(bias.Shape)}.");
        if (t < 1)
            throw new ArgumentException($"Lstm needs at least one time step, got ids {Shapes.Format(ids.Shape)}.");

        // Number the batch's distinct ids (ReadIds names any id outside the vocabulary, with its row and position).
        int positions = n * t, distinctCapacity = Math.Min(positions, vocabulary);
        Span<int> idValues = StepMemory.NewInts(positions).AsSpan(0, positions);
        EmbeddingKernels.ReadIds(ids.Span, idValues, vocabulary, t);
        int[] slots = StepMemory.NewInts(positions), distinct = StepMemory.NewInts(distinctCapacity);
        int count = DistinctIds.Number(idValues, StepMemory.NewInts(vocabulary).AsSpan(0, vocabulary), slots.AsSpan(0, positions),
            distinct.AsSpan(0, distinctCapacity));

        var shape = new LstmShape(n, t, d, u) { GoBackwards = goBackwards };
        shape.Validate(); // before any buffer is sized by it

        Tensor? mask = maskZero ? PaddingMask(ids) : null;
        if (recording && count > TrainingDistinctShare * positions)
        {
            // Few repeated ids: little to share, and the sums and the projected rows cost more than they save.
            return Lstm(Embedding(ids, table, maskZero), kernel, recurrentKernel, bias, returnSequences, mask, goBackwards: goBackwards);
        }
        if (recording)
            return LstmOnEmbeddingRecorded(shape, table, kernel, recurrentKernel, bias, returnSequences, mask, distinct, slots, count, started);
        Tensor output = returnSequences ? Tensor.Empty(n, t, u) : Tensor.Empty(n, u);
        Tensor lastHidden = Tensor.Empty(n, u), lastCell = Tensor.Empty(n, u);
        Tensor projected = Tensor.Empty(checked((int)LstmInference.ProjectedLength(shape, count)));
        Tensor scratch = Tensor.Empty(LstmInference.ScratchLength(shape));
        LstmInference.ForwardOnEmbedding(shape, table.Span, distinct.AsSpan(0, count), slots.AsSpan(0, positions), kernel.Span, recurrentKernel.Span, bias.Span,
            SpanOf(mask), default, default, output.Span, returnSequences, lastHidden.Span, lastCell.Span, projected.Span, scratch.Span);
        Profiler.Stop("Lstm", started, LstmOnEmbeddingFlops(shape, count));
        return output;
    }

    /// <summary>
    /// The largest share of distinct ids among a batch's positions for which training runs on the embedded ids; above
    /// it, <see cref="LstmOnEmbedding"/> records the two ops. On the IMDB seed model, uniform random ids (86% distinct
    /// at batch 32) trained no faster on the embedded ids (65.2 against 68.2 ms median of 4 alternated runs at 1
    /// thread), real reviews (24%) 1.38x faster (medians of 4 alternated runs, 67.5 against 49.0 ms).
    /// </summary>
    internal const double TrainingDistinctShare = 0.75;

    /// <summary>
    /// The training forward of <see cref="LstmOnEmbedding"/>: the distinct ids' rows gathered once (kept, with the
    /// slots, for backward), the LSTM run from their projections, and the tape entry recorded.
    /// </summary>
    private static Tensor LstmOnEmbeddingRecorded(in LstmShape shape, Tensor table, Tensor kernel, Tensor recurrentKernel, Tensor bias,
        bool returnSequences, Tensor? mask, int[] distinct, int[] slots, int count, long started)
    {
        int n = shape.Batch, t = shape.Steps, d = shape.Inputs, u = shape.Units;
        Tensor rows = Tensor.Empty(count * d);
        EmbeddingKernels.Gather(distinct.AsSpan(0, count), table.Span, rows.Span, d);
        Tensor projected = Tensor.Empty(checked((int)LstmKernels.ProjectedLength(shape, count)));
        Tensor gates = Tensor.Empty(shape.GatesLength), hidden = Tensor.Empty(shape.HistoryLength), cell = Tensor.Empty(shape.HistoryLength),
            tanhCell = Tensor.Empty(shape.TanhLength);
        Tensor y = returnSequences ? Tensor.Empty(n, t, u) : Tensor.Empty(n, u);
        LstmKernels.ForwardOnEmbedding(shape, rows.Span, slots.AsSpan(0, shape.Rows), projected.Span, kernel.Span, recurrentKernel.Span,
            bias.Span, SpanOf(mask), y.Span, returnSequences,
            new LstmBuffers { Gates = gates.Span, Hidden = hidden.Span, Cell = cell.Span, TanhCell = tanhCell.Span });
        var entry = LstmOnEmbeddingEntry.Rent(y, shape, returnSequences, mask, rows, distinct, slots, count,
            new LstmSaved(Tensor.Empty(0), gates, hidden, cell, tanhCell, Tensor.Empty(0)));
        Tape.Record(entry, table, kernel, recurrentKernel, bias);
        Profiler.Stop("Lstm", started, LstmOnEmbeddingFlops(shape, count));
        return y;
    }

    /// <summary>Forward FMAs ×2 as run on embedded ids: x·W once per distinct id, h·R at every position.</summary>
    private static double LstmOnEmbeddingFlops(in LstmShape s, int distinct) =>
        2.0 * s.GateWidth * ((double)distinct * s.Inputs + (double)s.Rows * s.Units);

    // table, kernel, recurrentKernel and bias are the recorded inputs 0–3; the ids are not differentiated.
    private sealed class LstmOnEmbeddingEntry : TapeEntry
    {
        // The call's arguments and saved buffers: set again each time the entry is rented (see TapeEntry.Rent).
        private LstmShape shape;
        private bool returnSequences;
        private Tensor? mask;
        private Tensor rows = null!;
        private int[] distinct = null!, slots = null!;
        private int count;
        private LstmSaved saved;

        public static LstmOnEmbeddingEntry Rent(Tensor y, LstmShape shape, bool returnSequences, Tensor? mask, Tensor rows,
            int[] distinct, int[] slots, int count, LstmSaved saved)
        {
            LstmOnEmbeddingEntry entry = Rent<LstmOnEmbeddingEntry>(y);
            (entry.shape, entry.returnSequences, entry.mask, entry.rows) = (shape, returnSequences, mask, rows);
            (entry.distinct, entry.slots, entry.count, entry.saved) = (distinct, slots, count, saved);
            return entry;
        }

        // The profiler's row: the LSTM's, as the forward records it.
        public override string OpName => "Lstm";

        // Per step dh_{t−1} = dZ·Rᵀ, and dR over every position; dW and the rows' gradient over the distinct ids, each
        // only when its input (the kernel, the table) takes a gradient.
        public override double BackwardFlops => 2.0 * shape.GateWidth * (2.0 * shape.Rows * shape.Units
            + (double)count * shape.Inputs * ((GetInput(0).RequiresGrad ? 1 : 0) + (GetInput(1).RequiresGrad ? 1 : 0)));

        public override void Backward(Tensor dY)
        {
            Tensor table = GetInput(0), kernel = GetInput(1), recurrentKernel = GetInput(2), bias = GetInput(3);
            int d = shape.Inputs;
            // dZ over the saved gates when no pass comes through again (as Lstm does).
            Span<float> dGates = Tape.ConsumingGraph ? saved.Gates.Span : Tensor.Empty(shape.GatesLength).Span;
            Tensor scratch = Tensor.Empty(shape.BackwardScratchLength(false));
            Tensor rowSums = Tensor.Empty(count * shape.GateWidth);
            Tensor? dRows = table.RequiresGrad ? Tensor.Empty(count * d) : null;
            int[] groupScratch = StepMemory.NewInts(LstmKernels.GroupScratchLength(shape, count));
            LstmKernels.BackwardOnEmbedding(shape, returnSequences, kernel.Span, recurrentKernel.Span, SpanOf(mask), saved.Buffers(),
                dY.Span, dGates, scratch.Span, rows.Span, slots.AsSpan(0, shape.Rows), rowSums.Span,
                groupScratch.AsSpan(0, LstmKernels.GroupScratchLength(shape, count)), dRows is null ? default : dRows.Span,
                kernel.RequiresGrad ? kernel.EnsureGrad().Span : default,
                recurrentKernel.RequiresGrad ? recurrentKernel.EnsureGrad().Span : default,
                bias.RequiresGrad ? bias.EnsureGrad().Span : default);
            if (dRows is null)
                return;
            // Each distinct id's row gradient into the table's gradient (only those rows are touched); a masked id
            // (maskZero: id 0, whose steps are all skipped) gets none, as in Embedding.
            ReadOnlySpan<int> ids = distinct.AsSpan(0, count);
            int maskedId = mask is null ? -1 : 0;
            Tensor gradient = table.EnsureGradForRows(ids, maskedId);
            EmbeddingKernels.ScatterAdd(ids, dRows.Span, gradient.Span, d, maskedId, table.TouchedGradientRows);
        }
    }
}
