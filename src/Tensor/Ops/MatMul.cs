using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Y = op(A)·op(B) for rank-2 tensors, where op(X) = Xᵀ when the flag is set (never materialised).
    /// </summary>
    /// <remarks>
    /// Shapes: op(A) is M×K, op(B) is K×N, Y is M×N.
    /// Backward: d op(A) = dY·op(B)ᵀ and d op(B) = op(A)ᵀ·dY, each one GEMM with the transposes folded
    /// into the flags, accumulated straight into the gradients.
    /// </remarks>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        if (a.Rank != 2 || b.Rank != 2)
            throw new ArgumentException($"MatMul needs two matrices, got shapes {Shapes.Format(a.Shape)} and {Shapes.Format(b.Shape)}.");
        int m = transposeA ? a.Dim(1) : a.Dim(0), k = transposeA ? a.Dim(0) : a.Dim(1);
        int kb = transposeB ? b.Dim(1) : b.Dim(0), n = transposeB ? b.Dim(0) : b.Dim(1);
        if (k != kb)
            throw new ArgumentException($"MatMul: inner dimensions differ: op(A) is {m}x{k}, op(B) is {kb}x{n} (A {Shapes.Format(a.Shape)}, B {Shapes.Format(b.Shape)}).");

        long started = Profiler.Start();
        var y = Tensor.Empty(m, n);
        Gemm.Multiply(transposeA, transposeB, m, n, k, a.Span, a.Dim(1), b.Span, b.Dim(1), y.Span, n);
        if (Tape.ShouldRecord(a, b))
            Tape.Record(new MatMulEntry(y, a, b, transposeA, transposeB), a, b);
        Profiler.Stop("MatMul", started, 2.0 * m * n * k);
        return y;
    }

    private sealed class MatMulEntry(Tensor y, Tensor a, Tensor b, bool transA, bool transB) : TapeEntry(y)
    {
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
}
