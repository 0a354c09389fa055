using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

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
                        if (Vector256.IsHardwareAccelerated)
                        {
                            Vector256.Store(Vector256.Load(src), d);
                        }
                        else // ARM64 and x86 without AVX: Vector256 would be emulated in software there
                        {
                            Vector128.Store(Vector128.Load(src), d);
                            Vector128.Store(Vector128.Load(src + 4), d + 4);
                        }
                        continue;
                    }
                    if (rows == 6 && mr == 6 && Sse2.IsSupported) // the AVX2 kernel's strips: four floats and a pair
                    {
                        Vector128.Store(Vector128.Load(src), d);
                        *(long*)(d + 4) = *(long*)(src + 4);
                        continue;
                    }
                    int i = 0;
                    for (; i < rows; i++) d[i] = src[i];
                    for (; i < mr; i++) d[i] = 0f;
                }
            }
            else if (rows == 8 && mr == 8 && Avx.IsSupported)
            {
                // Stored M×K: eight rows, transposed 8×8 at a time into the panel.
                float* src = a + (long)(ic + ir) * lda + pc;
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                    Transpose8x8(src + p, lda, panel + p * 8, 8);
                for (; p < kc; p++)
                    for (int i = 0; i < 8; i++)
                        panel[p * 8 + i] = src[(long)i * lda + p];
            }
            else if (rows == 6 && mr == 6 && Avx.IsSupported)
            {
                // Stored M×K, the AVX2 kernel's 6-row strips: 6 rows × 8 depths transposed in registers at a time.
                float* src = a + (long)(ic + ir) * lda + pc;
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                    Transpose6x8(src + p, lda, panel + p * 6);
                for (; p < kc; p++)
                    for (int i = 0; i < 6; i++)
                        panel[p * 6 + i] = src[(long)i * lda + p];
            }
            else if (rows == mr && mr % 4 == 0 && CanTranspose4x4)
            {
                // Stored M×K, no AVX (ARM64's 8-row strips): 4×4 transposes in 128-bit registers.
                float* src = a + (long)(ic + ir) * lda + pc;
                int p = 0;
                for (; p + 4 <= kc; p += 4)
                    for (int i = 0; i < mr; i += 4)
                        Transpose4x4(src + (long)i * lda + p, lda, panel + p * mr + i, mr);
                for (; p < kc; p++)
                    for (int i = 0; i < mr; i++)
                        panel[p * mr + i] = src[(long)i * lda + p];
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
            if (transB && cols == nr && nr % 8 == 0 && Avx.IsSupported)
            {
                // Stored N×K: blocks of 8 columns × 8 depths, transposed in registers.
                float* src = b + (long)(jc + jr) * ldb + pc;
                int p = 0;
                for (; p + 8 <= kc; p += 8)
                    for (int j = 0; j < nr; j += 8)
                        Transpose8x8(src + (long)j * ldb + p, ldb, panel + p * nr + j, nr);
                for (; p < kc; p++)
                    for (int j = 0; j < nr; j++)
                        panel[p * nr + j] = src[(long)j * ldb + p];
            }
            else if (transB && cols == nr && nr % 4 == 0 && CanTranspose4x4)
            {
                // Stored N×K, no AVX (the 128-bit kernels): blocks of 4 columns × 4 depths.
                float* src = b + (long)(jc + jr) * ldb + pc;
                int p = 0;
                for (; p + 4 <= kc; p += 4)
                    for (int j = 0; j < nr; j += 4)
                        Transpose4x4(src + (long)j * ldb + p, ldb, panel + p * nr + j, nr);
                for (; p < kc; p++)
                    for (int j = 0; j < nr; j++)
                        panel[p * nr + j] = src[(long)j * ldb + p];
            }
            else if (transB)
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

    /// <summary>Whether <see cref="Transpose4x4"/> has an instruction sequence here (SSE or AdvSimd).</summary>
    private static bool CanTranspose4x4 => Sse2.IsSupported || AdvSimd.Arm64.IsSupported;

    /// <summary>
    /// dst[k·dstStride + i] = src[i·srcStride + k] for i, k in 0..3: a 4×4 transpose in 128-bit registers.
    /// Interleave 32-bit lanes of row pairs (r0 r1 → a0 b0 a1 b1 and a2 b2 a3 b3), then 64-bit halves of
    /// those pairs (unpcklps/unpckhps + unpcklpd/unpckhpd on x86, zip1/zip2 on ARM64).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x4(float* src, long srcStride, float* dst, int dstStride)
    {
        Vector128<float> r0 = Vector128.Load(src), r1 = Vector128.Load(src + srcStride);
        Vector128<float> r2 = Vector128.Load(src + 2 * srcStride), r3 = Vector128.Load(src + 3 * srcStride);
        Vector128<float> t0, t1, t2, t3;
        Vector128<double> o0, o1, o2, o3;
        if (Sse2.IsSupported)
        {
            t0 = Sse.UnpackLow(r0, r1); t1 = Sse.UnpackHigh(r0, r1);
            t2 = Sse.UnpackLow(r2, r3); t3 = Sse.UnpackHigh(r2, r3);
            o0 = Sse2.UnpackLow(t0.AsDouble(), t2.AsDouble()); o1 = Sse2.UnpackHigh(t0.AsDouble(), t2.AsDouble());
            o2 = Sse2.UnpackLow(t1.AsDouble(), t3.AsDouble()); o3 = Sse2.UnpackHigh(t1.AsDouble(), t3.AsDouble());
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            t0 = AdvSimd.Arm64.ZipLow(r0, r1); t1 = AdvSimd.Arm64.ZipHigh(r0, r1);
            t2 = AdvSimd.Arm64.ZipLow(r2, r3); t3 = AdvSimd.Arm64.ZipHigh(r2, r3);
            o0 = AdvSimd.Arm64.ZipLow(t0.AsDouble(), t2.AsDouble()); o1 = AdvSimd.Arm64.ZipHigh(t0.AsDouble(), t2.AsDouble());
            o2 = AdvSimd.Arm64.ZipLow(t1.AsDouble(), t3.AsDouble()); o3 = AdvSimd.Arm64.ZipHigh(t1.AsDouble(), t3.AsDouble());
        }
        else
        {
            throw new PlatformNotSupportedException(); // callers check CanTranspose4x4
        }
        o0.AsSingle().Store(dst);
        o1.AsSingle().Store(dst + dstStride);
        o2.AsSingle().Store(dst + 2 * dstStride);
        o3.AsSingle().Store(dst + 3 * dstStride);
    }

    /// <summary>
    /// Six rows of 8 floats (<paramref name="srcStride"/> apart) into 8 columns of 6, one after the other at
    /// <paramref name="dst"/> (48 floats: the 6×16 kernel's packed A for 8 depths). <see cref="Transpose8x8"/>'s unpacks and
    /// shuffles for rows 0–3; rows 4 and 5 are interleaved pairwise, each pair stored beside its column's first four values.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose6x8(float* src, long srcStride, float* dst)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        // t4 = (r4[0] r5[0] r4[1] r5[1] | r4[4] r5[4] r4[5] r5[5]), t5 the same for depths 2, 3 | 6, 7.
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        // u0 = rows 0–3 of depths 0 | 4, u1 of 1 | 5, u2 of 2 | 6, u3 of 3 | 7.
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        StoreColumn(dst, u0.GetLower(), t4.GetLower(), high: false);
        StoreColumn(dst + 6, u1.GetLower(), t4.GetLower(), high: true);
        StoreColumn(dst + 12, u2.GetLower(), t5.GetLower(), high: false);
        StoreColumn(dst + 18, u3.GetLower(), t5.GetLower(), high: true);
        StoreColumn(dst + 24, u0.GetUpper(), t4.GetUpper(), high: false);
        StoreColumn(dst + 30, u1.GetUpper(), t4.GetUpper(), high: true);
        StoreColumn(dst + 36, u2.GetUpper(), t5.GetUpper(), high: false);
        StoreColumn(dst + 42, u3.GetUpper(), t5.GetUpper(), high: true);

        // A column of 6: its four first rows, then rows 4 and 5 (the low or the high pair of the interleaved vector).
        static void StoreColumn(float* d, Vector128<float> firstFour, Vector128<float> pairs, bool high)
        {
            firstFour.Store(d);
            *(long*)(d + 4) = pairs.AsInt64().GetElement(high ? 1 : 0);
        }
    }

    /// <summary>
    /// dst[k·dstStride + i] = src[i·srcStride + k] for i, k in 0..7: an 8×8 transpose in AVX registers
    /// (unpack pairs, shuffle quads, swap 128-bit halves), instead of 64 scalar strided moves.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, long srcStride, float* dst, int dstStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride);
        Vector256<float> r2 = Avx.LoadVector256(src + 2 * srcStride), r3 = Avx.LoadVector256(src + 3 * srcStride);
        Vector256<float> r4 = Avx.LoadVector256(src + 4 * srcStride), r5 = Avx.LoadVector256(src + 5 * srcStride);
        Vector256<float> r6 = Avx.LoadVector256(src + 6 * srcStride), r7 = Avx.LoadVector256(src + 7 * srcStride);
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }
}
