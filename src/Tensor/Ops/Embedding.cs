using NanoNet.Memory;
using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Looks up a row of <paramref name="table"/> (V, D) for every token id in <paramref name="ids"/>
    /// (any shape, e.g. (N, T), integer ids stored as floats): the result has shape ids.Shape + (D).
    /// </summary>
    /// <remarks>
    /// <para>Backward scatters dY into only the rows of the ids that occur (sparse accumulation, in
    /// position order: correct and deterministic when a token repeats), and records them in the table's
    /// <see cref="Tensor.TouchedGradientRows"/>, so plain SGD updates only those rows. The ids get no gradient.</para>
    /// <para>With <paramref name="maskZero"/>, id 0 is padding: its row still comes out in the forward pass
    /// (as Keras does), but it receives no gradient, so it stays as initialised. Pair it with
    /// <see cref="PaddingMask"/> and the mask argument of <see cref="Lstm"/> so the LSTM skips those steps.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">An id is not an integer in [0, V); the message names the id and V.</exception>
    public static Tensor Embedding(Tensor ids, Tensor table, bool maskZero = false)
    {
        long started = Profiler.Start();
        if (table.Rank != 2)
            throw new ArgumentException($"Embedding table must be (vocabulary size, width), got {Shapes.Format(table.Shape)}.");
        if (ids.Rank == 0)
            throw new ArgumentException("Embedding ids must have at least one dimension, got a scalar.");
        int vocabulary = table.Dim(0), dim = table.Dim(1);
        int[] idBuffer = StepMemory.NewInts(ids.Length);
        Span<int> idValues = idBuffer.AsSpan(0, ids.Length);
        EmbeddingKernels.ReadIds(ids.Span, idValues, vocabulary, ids.Rank >= 2 ? ids.Dim(-1) : 0);
        Tensor y = ids.Rank == 2 ? Tensor.Empty(ids.Dim(0), ids.Dim(1), dim) : Tensor.Empty([.. ids.Shape, dim]);
        EmbeddingKernels.Gather(idValues, table.Span, y.Span, dim);
        if (Tape.ShouldRecord(table))
            Tape.Record(EmbeddingEntry.Rent(y, table, idBuffer, ids.Length, maskZero ? 0 : -1), table);
        // Read the ids (as floats) and write them as ints, read a table row and write a y row per position.
        Profiler.Stop("Embedding", started, bytes: 2.0 * sizeof(float) * ids.Length * (1 + dim));
        return y;
    }

    private sealed class EmbeddingEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor table = null!;
        private int[] ids = null!;
        private int count;
        private int maskedId;

        public static EmbeddingEntry Rent(Tensor y, Tensor table, int[] ids, int count, int maskedId)
        {
            EmbeddingEntry entry = Rent<EmbeddingEntry>(y);
            entry.table = table;
            entry.ids = ids;
            entry.count = count;
            entry.maskedId = maskedId;
            return entry;
        }

        /// <summary>Per position (masked ones included): read its id and dY row, read and write its gradient row.</summary>
        public override double BackwardBytes => sizeof(float) * (double)count * (1 + 3.0 * table.Dim(1));

        public override void Backward(Tensor dY)
        {
            Tensor gradient = table.EnsureGradForRows(ids.AsSpan(0, count), maskedId);
            EmbeddingKernels.ScatterAdd(ids.AsSpan(0, count), dY.Span, gradient.Span, table.Dim(1), maskedId, table.TouchedGradientRows);
        }
    }

    /// <summary>
    /// A mask of the same shape as <paramref name="ids"/>: 1 where the id differs from
    /// <paramref name="paddingId"/>, 0 where it is padding (Keras' <c>mask_zero</c> mask). Not differentiable.
    /// </summary>
    public static Tensor PaddingMask(Tensor ids, int paddingId = 0)
    {
        Tensor mask = Tensor.EmptyLike(ids);
        ReadOnlySpan<float> source = ids.Span;
        Span<float> m = mask.Span;
        for (int i = 0; i < source.Length; i++)
            m[i] = source[i] == paddingId ? 0f : 1f;
        return mask;
    }
}
