using NanoNet.Kernels;

namespace NanoNet.Docs.Samples;

/// <summary>Samples of docs/gemm.md.</summary>
public static class GemmSamples
{
    /// <summary>Largest |fast − reference| over C for one product with a transposed B, and for a pre-packed B.</summary>
    public static (float Unpacked, float Packed) CompareWithReference(int m = 100, int n = 70, int k = 300)
    {
        #region gemm-call
        // C (M×N) = A (M×K) · Bᵀ, with B stored N×K: the transpose is never materialised,
        // the packing routine reads B in transposed order.
        float[] a = Tensor.RandomNormal([m, k], seed: 1).ToArray();
        float[] b = Tensor.RandomNormal([n, k], seed: 2).ToArray();
        var c = new float[m * n];
        var expected = new float[m * n];
        Gemm.Multiply(transA: false, transB: true, m, n, k, a, lda: k, b, ldb: k, c, ldc: n);
        GemmReference.Multiply(false, true, m, n, k, a, k, b, k, expected, n, accumulate: false);

        // A right-hand operand used by many calls (an LSTM's recurrent kernel) is packed once:
        PackedMatrix packedB = PackedMatrix.Pack(transB: true, k, n, b, ldb: k);
        var c2 = new float[m * n];
        Gemm.Multiply(transA: false, m, n, k, a, lda: k, packedB, c2, ldc: n);   // same bits as c
        #endregion
        float unpacked = 0f, packed = 0f;
        for (int i = 0; i < c.Length; i++)
        {
            unpacked = MathF.Max(unpacked, MathF.Abs(c[i] - expected[i]));
            packed = MathF.Max(packed, MathF.Abs(c2[i] - c[i]));
        }
        return (unpacked, packed);
    }
}
