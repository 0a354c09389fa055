using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// Copies a KC-deep slab of op(A) or op(B) into the micro-panel order the GEMM micro-kernels stream.
/// </summary>
/// <remarks>
/// Packed A: for each strip of MR rows, kc groups of MR values (column p of the strip), so the kernel
/// reads A(i..i+MR, p) contiguously. Packed B: for each strip of NR columns, kc rows of NR values.
/// Rows or columns beyond the matrix edge are zero-filled, so the kernel always runs a full tile.
/// Transposed operands are read in transposed order here, which is why GEMM never materialises them.
/// </remarks>
internal static unsafe class GemmPacking
{
    /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc] into MR-row micro-panels.</summary>
    public static void PackA(bool transA, float* a, int lda, int ic, int mc, int pc, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* panel = dst + ir * kc;
            if (transA)
            {
                // Stored K×M: for a fixed p the MR rows of the strip are contiguous.
                for (int p = 0; p < kc; p++)
                {
                    float* src = a + (long)(pc + p) * lda + ic + ir;
                    float* d = panel + p * mr;
                    if (rows == 8 && mr == 8)
                    {
                        Vector256.Store(Vector256.Load(src), d);
                        continue;
                    }
                    int i = 0;
                    for (; i < rows; i++) d[i] = src[i];
                    for (; i < mr; i++) d[i] = 0f;
                }
            }
            else
            {
                // Stored M×K: walk each row contiguously, write with stride MR.
                for (int i = 0; i < rows; i++)
                {
                    float* src = a + (long)(ic + ir + i) * lda + pc;
                    for (int p = 0; p < kc; p++)
                        panel[p * mr + i] = src[p];
                }
                for (int i = rows; i < mr; i++)
                    for (int p = 0; p < kc; p++)
                        panel[p * mr + i] = 0f;
            }
        }
    }

    /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] into NR-column micro-panels.</summary>
    public static void PackB(bool transB, float* b, int ldb, int pc, int kc, int jc, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* panel = dst + jr * kc;
            if (transB)
            {
                // Stored N×K: each column j is a contiguous run over p.
                for (int j = 0; j < cols; j++)
                {
                    float* src = b + (long)(jc + jr + j) * ldb + pc;
                    for (int p = 0; p < kc; p++)
                        panel[p * nr + j] = src[p];
                }
                for (int j = cols; j < nr; j++)
                    for (int p = 0; p < kc; p++)
                        panel[p * nr + j] = 0f;
            }
            else
            {
                // Stored K×N: each row of the strip is NR contiguous values.
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)(pc + p) * ldb + jc + jr;
                    float* d = panel + p * nr;
                    if (cols == 32 && nr == 32)
                    {
                        Vector512.Store(Vector512.Load(src), d);
                        Vector512.Store(Vector512.Load(src + 16), d + 16);
                    }
                    else if (cols == nr)
                    {
                        new ReadOnlySpan<float>(src, nr).CopyTo(new Span<float>(d, nr));
                    }
                    else
                    {
                        int j = 0;
                        for (; j < cols; j++) d[j] = src[j];
                        for (; j < nr; j++) d[j] = 0f;
                    }
                }
            }
        }
    }
}
