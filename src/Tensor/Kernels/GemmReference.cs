namespace NanoNet.Kernels;

/// <summary>
/// The plain triple-loop matrix multiply that the fast <see cref="Gemm"/> is tested against.
/// </summary>
/// <remarks>
/// Shape legend: C is M×N, op(A) is M×K, op(B) is K×N, all row-major with leading dimensions
/// lda, ldb, ldc. op(X) is X, or Xᵀ when the matching transpose flag is set (the stored matrix is
/// then K×M or N×K). Sums are accumulated in double so the reference is more accurate than the kernel.
/// </remarks>
public static class GemmReference
{
    /// <summary>C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/> is set.</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int p = 0; p < k; p++)
                {
                    float aip = transA ? a[p * lda + i] : a[i * lda + p];
                    float bpj = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += (double)aip * bpj;
                }
                c[i * ldc + j] = accumulate ? (float)(c[i * ldc + j] + sum) : (float)sum;
            }
        }
    }
}
