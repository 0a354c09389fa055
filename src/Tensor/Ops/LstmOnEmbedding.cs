using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// <c>Lstm(Embedding(ids, table))</c> in one op, for inference: an embedding followed by a linear map is a lookup
    /// in a projected table, so the LSTM's input product x·W is computed once per distinct id of the batch instead of
    /// once per position, and the embedded sequence itself is never written. Bit for bit the two ops (Keras semantics,
    /// <paramref name="maskZero"/> as <see cref="Embedding"/>'s: id 0 marks a step to skip).
    /// </summary>
    /// <remarks>
    /// <para>Runs the projected path when nothing is recorded and the batch takes the streamed LSTM forward
    /// (<see cref="LstmInference.AppliesOnEmbedding"/>: 8 rows or more); otherwise it is exactly
    /// <see cref="Embedding"/> then <see cref="Lstm(Tensor, Tensor, Tensor, Tensor, bool, Tensor?, LstmState?, bool, Tensor?, Tensor?)"/>
    /// (gradients included).</para>
    /// <para>What it saves at the IMDB seed model's inference (batch 256, T = 200, D = U = 128, vocabulary 20,000):
    /// half of the LSTM's FMAs are the input product, and a batch's 51,200 positions hold at most 20,000 distinct ids
    /// (about 18,400 when ids are uniform; about 5,600 in batches of real IMDB test reviews).</para>
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
        if (recording || ids.Rank != 2 || table.Rank != 2 || !LstmInference.AppliesOnEmbedding(ids.Dim(0)))
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
        Span<int> slots = StepMemory.NewInts(positions).AsSpan(0, positions);
        Span<int> distinct = StepMemory.NewInts(distinctCapacity).AsSpan(0, distinctCapacity);
        int count = DistinctIds.Number(idValues, StepMemory.NewInts(vocabulary).AsSpan(0, vocabulary), slots, distinct);

        var shape = new LstmShape(n, t, d, u) { GoBackwards = goBackwards };
        Tensor? mask = maskZero ? PaddingMask(ids) : null;
        Tensor output = returnSequences ? Tensor.Empty(n, t, u) : Tensor.Empty(n, u);
        Tensor lastHidden = Tensor.Empty(n, u), lastCell = Tensor.Empty(n, u);
        Tensor projected = Tensor.Empty(checked((int)LstmInference.ProjectedLength(shape, count)));
        Tensor scratch = Tensor.Empty(LstmInference.ScratchLength(shape));
        LstmInference.ForwardOnEmbedding(shape, table.Span, distinct[..count], slots, kernel.Span, recurrentKernel.Span, bias.Span,
            SpanOf(mask), default, default, output.Span, returnSequences, lastHidden.Span, lastCell.Span, projected.Span, scratch.Span);
        // The FMAs run: x·W once per distinct id, h·R at every position.
        Profiler.Stop("Lstm", started, 2.0 * shape.GateWidth * ((double)count * d + (double)shape.Rows * u));
        return output;
    }
}
