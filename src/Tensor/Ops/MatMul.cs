using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Y = op(A)·op(B), where op(X) = Xᵀ (of the last two axes) when the flag is set (never materialised).
    /// Rank 2: one matrix product. Rank ≥ 3 (either operand): a batch of them, see below.
    /// </summary>
    /// <remarks>
    /// <para>Shapes: op(A) is M×K, op(B) is K×N, Y is M×N.
    /// Backward: d op(A) = dY·op(B)ᵀ and d op(B) = op(A)ᵀ·dY, each one GEMM with the transposes folded
    /// into the flags, accumulated straight into the gradients.</para>
    /// <para>Batched: A is (..., M, K) and B is (..., K, N) (last two axes as above, transposes applying to
    /// them); the leading batch axes broadcast NumPy-style (aligned from the right, size 1 or missing axes
    /// stretch), so (B, M, K)·(K, N) and (B, 1, M, K)·(H, K, N) work, giving (batch..., M, N). Each batch
    /// item is one GEMM; backward computes dA and dB per item and sums them over the batch axes an operand
    /// was broadcast along.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">A rank below 2, inner dimensions that differ, or batch axes that do not broadcast (the message names both shapes).</exception>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        if (a.Rank != 2 || b.Rank != 2)
            return BatchedMatMul(a, b, transposeA, transposeB);
        int m = transposeA ? a.Dim(1) : a.Dim(0), k = transposeA ? a.Dim(0) : a.Dim(1);
        int kb = transposeB ? b.Dim(1) : b.Dim(0), n = transposeB ? b.Dim(0) : b.Dim(1);
        if (k != kb)
            throw new ArgumentException($"MatMul: inner dimensions differ: op(A) is {m}x{k}, op(B) is {kb}x{n} (A {Shapes.Format(a.Shape)}, B {Shapes.Format(b.Shape)}).");

        long started = Profiler.Start();
        var y = Tensor.Empty(m, n);
        Gemm.Multiply(transposeA, transposeB, m, n, k, a.Span, a.Dim(1), b.Span, b.Dim(1), y.Span, n);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(MatMulEntry.Rent(y, a, b, transposeA, transposeB), a, b);
        Profiler.Stop("MatMul", started, 2.0 * m * n * k);
        return y;
    }

    private sealed class MatMulEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor a = null!;
        private Tensor b = null!;
        private bool transA;
        private bool transB;

        public static MatMulEntry Rent(Tensor y, Tensor a, Tensor b, bool transA, bool transB)
        {
            MatMulEntry entry = Rent<MatMulEntry>(y);
            (entry.a, entry.b, entry.transA, entry.transB) = (a, b, transA, transB);
            return entry;
        }

        public override double BackwardFlops => 2.0 * Output.Length * (transA ? a.Dim(0) : a.Dim(1)) * ((a.RequiresGrad ? 1 : 0) + (b.RequiresGrad ? 1 : 0));

        public override void Backward(Tensor dY)
        {
            int m = dY.Dim(0), n = dY.Dim(1);
            int k = transA ? a.Dim(0) : a.Dim(1);
            if (a.RequiresGrad)
            {
                Tensor dA = a.EnsureGrad();
                if (!transA) // dA (M×K) += dY·op(B)ᵀ
                    Gemm.Multiply(false, !transB, m, k, n, dY.Span, n, b.Span, b.Dim(1), dA.Span, k, accumulate: true);
                else         // dA (K×M) += op(B)·dYᵀ
                    Gemm.Multiply(transB, true, k, m, n, b.Span, b.Dim(1), dY.Span, n, dA.Span, m, accumulate: true);
            }
            if (b.RequiresGrad)
            {
                Tensor dB = b.EnsureGrad();
                if (!transB) // dB (K×N) += op(A)ᵀ·dY
                    Gemm.Multiply(!transA, false, k, n, m, a.Span, a.Dim(1), dY.Span, n, dB.Span, n, accumulate: true);
                else         // dB (N×K) += dYᵀ·op(A)
                    Gemm.Multiply(true, transA, n, k, m, dY.Span, n, a.Span, a.Dim(1), dB.Span, k, accumulate: true);
            }
        }
    }

    /// <summary>MatMul with a rank ≥ 3 operand: one GEMM per batch item (see <see cref="MatMul"/>).</summary>
    private static Tensor BatchedMatMul(Tensor a, Tensor b, bool transA, bool transB)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"MatMul needs operands of rank 2 or more, got shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)}.");
        int m = transA ? a.Dim(-1) : a.Dim(-2), k = transA ? a.Dim(-2) : a.Dim(-1);
        int kb = transB ? b.Dim(-1) : b.Dim(-2), n = transB ? b.Dim(-2) : b.Dim(-1);
        if (k != kb)
            throw new ArgumentException($"MatMul: inner dimensions differ: op(A) is {m}x{k}, op(B) is {kb}x{n} (A {Shapes.Format(a.Shape)}, B {Shapes.Format(b.Shape)}).");
        ReadOnlySpan<int> batchA = a.Shape[..^2], batchB = b.Shape[..^2];
        // The output shape on the stack, then interned: a steady step allocates no shape arrays.
        int outputRank = Math.Max(batchA.Length, batchB.Length) + 2;
        Span<int> output = outputRank <= 8 ? stackalloc int[outputRank] : new int[outputRank];
        if (!BatchedGemm.TryBroadcastShape(batchA, batchB, output[..^2]))
            throw new ArgumentException($"MatMul: batch axes {Shapes.Format(batchA)} and {Shapes.Format(batchB)} do not broadcast (A {Shapes.Format(a.Shape)}, B {Shapes.Format(b.Shape)}).");
        output[^2] = m;
        output[^1] = n;
        int[] outputShape = Shapes.Interned(output);
        ReadOnlySpan<int> batch = outputShape.AsSpan(0, outputRank - 2);

        // (..., M, K)·(K, N): the batch folds into M, one rank-2 product of (items·M, K) by (K, N) whose
        // reshapes share storage and gradients, so the rank-2 op records everything.
        if (b.Rank == 2 && !transA)
            return Reshape(MatMul(Reshape(a, -1, k), b, false, transB), outputShape);

        long started = Profiler.Start();
        int items = Shapes.Product(batch);
        // Step memory: a steady training step allocates no item maps (they live until the entry's backward ran).
        int[] aItem = StepMemory.NewInts(items), bItem = StepMemory.NewInts(items), yItem = StepMemory.NewInts(items);
        BatchedGemm.ItemMap(batchA, batch, aItem);
        BatchedGemm.ItemMap(batchB, batch, bItem);
        for (int i = 0; i < items; i++)
            yItem[i] = i;
        var y = Tensor.Empty(outputShape);
        BatchedGemm.MultiplyItems(transA, transB, m, n, k, a.Span, aItem, b.Span, bItem, y.Span, yItem, accumulate: false);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(BatchedMatMulEntry.Rent(y, transA, transB, m, n, k, aItem, bItem, yItem), a, b);
        Profiler.Stop("MatMul", started, 2.0 * items * m * n * k);
        return y;
    }

    /// <summary>
    /// Per item i: d op(A)ᵢ = dYᵢ·op(Bᵢ)ᵀ and d op(B)ᵢ = op(Aᵢ)ᵀ·dYᵢ (the rank-2 formulas), each added into the
    /// item of the gradient that item i read, so broadcast items sum their contributions.
    /// </summary>
    private sealed class BatchedMatMulEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private bool transA;
        private bool transB;
        private int m;
        private int n;
        private int k;
        private int[] aItem = null!;
        private int[] bItem = null!;
        private int[] yItem = null!;

        public static BatchedMatMulEntry Rent(Tensor y, bool transA, bool transB, int m, int n, int k, int[] aItem, int[] bItem, int[] yItem)
        {
            BatchedMatMulEntry entry = Rent<BatchedMatMulEntry>(y);
            entry.transA = transA;
            entry.transB = transB;
            entry.m = m;
            entry.n = n;
            entry.k = k;
            entry.aItem = aItem;
            entry.bItem = bItem;
            entry.yItem = yItem;
            return entry;
        }

        public override string OpName => "MatMul";

        public override double BackwardFlops => 2.0 * Output.Length * k * ((GetInput(0).RequiresGrad ? 1 : 0) + (GetInput(1).RequiresGrad ? 1 : 0));

        public override void Backward(Tensor dY)
        {
            Tensor a = GetInput(0), b = GetInput(1); // read back from the entry rather than captured twice
            if (a.RequiresGrad)
            {
                Span<float> dA = a.EnsureGrad().Span;
                if (!transA) // dA (M×K) += dY·op(B)ᵀ
                    BatchedGemm.MultiplyItems(false, !transB, m, k, n, dY.Span, yItem, b.Span, bItem, dA, aItem, accumulate: true);
                else         // dA (K×M) += op(B)·dYᵀ
                    BatchedGemm.MultiplyItems(transB, true, k, m, n, b.Span, bItem, dY.Span, yItem, dA, aItem, accumulate: true);
            }
            if (b.RequiresGrad)
            {
                Span<float> dB = b.EnsureGrad().Span;
                if (!transB) // dB (K×N) += op(A)ᵀ·dY
                    BatchedGemm.MultiplyItems(!transA, false, k, n, m, a.Span, aItem, dY.Span, yItem, dB, bItem, accumulate: true);
                else         // dB (N×K) += dYᵀ·op(A)
                    BatchedGemm.MultiplyItems(true, transA, n, k, m, dY.Span, yItem, a.Span, aItem, dB, bItem, accumulate: true);
            }
        }
    }
}
