using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The register-blocked inner loops of <see cref="Gemm"/>: C[MR×NR] (+)= Apanel[MR×kc] · Bpanel[kc×NR].
/// </summary>
/// <remarks>
/// Each step p loads one row of the B panel (NR floats = two vectors), broadcasts MR values of the A
/// panel one at a time, and issues 2·MR fused multiply-adds into MR·2 accumulators that live in
/// registers for the whole loop. With 16 (AVX-512) or 12 (AVX2) independent accumulators there are
/// enough FMA chains in flight to hide the FMA latency on both FMA pipes. The 128-bit tiles are sized by
/// each architecture's register count (16 on x86 without AVX, 32 on ARM64): see their own comments.
/// </remarks>
internal static unsafe class GemmMicroKernels
{
    public const int MaxTileElements = 8 * 32;

    public static (int Mr, int Nr) TileSize(GemmKernelKind kind) => kind switch
    {
        GemmKernelKind.Vector512 => (8, 32),
        GemmKernelKind.Vector256 => (6, 16),
        GemmKernelKind.Vector128 => (6, 8),
        GemmKernelKind.Vector128Arm64 => (8, 8),
        _ => (4, 4),
    };

    /// <summary>The <paramref name="kind"/> kernel on packed panels. Only the 8×32 kernel asks for a prefetch run along its
    /// K loop (<see cref="Kernel8x32Strided{TRead}"/>); the callers hand the others none and issue their share before the tile
    /// (<see cref="GemmPrefetch.Step"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run(GemmKernelKind kind, int kc, float* a, float* b, float* c, int ldc, bool add,
        byte* prefetch = null, int prefetchLines = 0)
    {
        switch (kind)
        {
            case GemmKernelKind.Vector512: Kernel8x32(kc, a, b, c, ldc, add, prefetch, prefetchLines); break;
            case GemmKernelKind.Vector256: Kernel6x16(kc, a, b, c, ldc, add, prefetch, prefetchLines); break;
            case GemmKernelKind.Vector128: Kernel6x8(kc, a, b, c, ldc, add); break;
            case GemmKernelKind.Vector128Arm64: Kernel8x8(kc, a, b, c, ldc, add); break;
            default: Kernel4x4Scalar(kc, a, b, c, ldc, add); break;
        }
    }

    /// <summary>8 rows × 32 columns (2 × Vector512) in 16 accumulators, from packed panels: <see cref="Kernel8x32Strided{TRead}"/>
    /// with A stepping 8 floats (one micro-panel column) and B 32 (one micro-panel row) per K step.</summary>
    public static void Kernel8x32(int kc, float* a, float* b, float* c, int ldc, bool add, byte* prefetch = null, int prefetchLines = 0) =>
        Kernel8x32Strided<PackedPanel>(kc, a, 8, b, 32, c, ldc, add, prefetch, prefetchLines);

    /// <summary>K steps between two of a tile's prefetches: its K loop cut into one piece per line of its run
    /// (<see cref="GemmPrefetch.TakeRun"/>), or one piece, the whole loop, when there is nothing to ask for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int PrefetchStride(int kc, int lines) => lines > 0 ? Math.Max(1, kc / lines) : Math.Max(1, kc);

    /// <summary>Asks for the run's next line into L2 (<c>prefetcht1</c>) while any is left; returns the line after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte* PrefetchNext(byte* line, byte* end)
    {
        if (Sse.IsSupported && line < end)
        {
            Sse.Prefetch1(line);
            line += 64;
        }
        return line;
    }

    /// <summary>Asks for what is left of the run after the K loop (more lines than pieces), so the plan keeps its pace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRest(byte* line, byte* end)
    {
        for (; Sse.IsSupported && line < end; line += 64)
            Sse.Prefetch1(line);
    }

    /// <summary>How many K steps ahead <see cref="Kernel8x32Strided{TRead}"/> asks for its B rows when B is read in place
    /// (<see cref="InPlacePanel"/>): ~100 cycles at a K step's 8 cycles of FMAs, about an L3 hit's latency on Emerald
    /// Rapids. Inside the Keras step its Dense forward ran 2–4% faster at 12 than at 6 (the CIFAR-10 seed's within 1%), 16
    /// as at 6, 24 slower (benchmarks/README.md, §8, thirty-seventh sitting).</summary>
    public const int RowsAhead = 12;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> lo, Vector512<float> hi, bool add)
    {
        if (add)
        {
            lo += Vector512.Load(c);
            hi += Vector512.Load(c + 16);
        }
        lo.Store(c);
        hi.Store(c + 16);
    }

    /// <summary>
    /// 8×32 like <see cref="Kernel8x32"/>, but reading A straight from row-major memory (row i of the
    /// panel at a + i·lda) instead of a packed panel. Used when every A element is needed by a single
    /// B panel (N ≤ 32): packing would then copy A once for one use, and cost as much as the FMAs
    /// when K is small (a convolution's im2col rows are only KH·KW·C + 1 long).
    /// </summary>
    public static void Kernel8x32DirectA(int kc, float* a, int lda, float* b, float* c, int ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda;
        float* a4 = a + 4 * lda, a5 = a + 5 * lda, a6 = a + 6 * lda, a7 = a + 7 * lda;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a0[p]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a1[p]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a2[p]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a3[p]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a4[p]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a5[p]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a6[p]);
            c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a7[p]);
            c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
            b += 32;
        }
        Store512(c, c00, c01, add); c += ldc;
        Store512(c, c10, c11, add); c += ldc;
        Store512(c, c20, c21, add); c += ldc;
        Store512(c, c30, c31, add); c += ldc;
        Store512(c, c40, c41, add); c += ldc;
        Store512(c, c50, c51, add); c += ldc;
        Store512(c, c60, c61, add); c += ldc;
        Store512(c, c70, c71, add);
    }

    /// <summary>
    /// 8 rows × 32 columns (2 × Vector512) in 16 accumulators, with each operand's step between K steps given: a packed panel (A 8, B 32),
    /// or the operand read where it lies. B stored K×N steps by ldb (its 32 columns of step p are contiguous) and A
    /// stored K×M (transposed) steps by lda (its 8 rows of step p are contiguous). Used for a skinny product's big
    /// operand, which each micro-panel would otherwise copy once to read M/8 times (see docs/gemm.md, "Reading the big
    /// operand in place").
    /// <para>Prefetching (<paramref name="prefetchLines"/> &gt; 0): the lines from <paramref name="prefetch"/> on, the
    /// tile's share of the GEMM's plan for its next block (<see cref="GemmPrefetch"/>), are asked for one at a time,
    /// evenly over the K loop (one every ⌊kc / lines⌋ steps; any left over after the loop). Issued in a burst before the
    /// tile instead, a hundred or more misses to L3 or memory took every fill buffer and the tile's own loads of B
    /// waited behind them: on Emerald Rapids the Keras Dense forward (32×512×2304, B in place) ran ~25% faster spread
    /// (benchmarks/README.md, thirty-fifth sitting). A prefetch changes no value: the same FMAs in the same order.</para>
    /// <para>B read in place (<typeparamref name="TRead"/> = <see cref="InPlacePanel"/>): each K step also asks for its B row
    /// <see cref="RowsAhead"/> steps ahead into L1 (<c>prefetcht0</c>). A packed B panel is 32 contiguous floats a step,
    /// which the hardware prefetchers follow; B in place is one 128-byte run every ldb floats (2 KB apart in the Keras
    /// Dense forward, 2304×512), which they did not bring in time: the first row tile of each panel waited on L2 at every
    /// step (~2.5x the cost of each later one; Emerald Rapids). The way is a type argument, as TensorPrimitives' operator
    /// structs are, so a packed tile (<see cref="PackedPanel"/>) runs the loop without it and pays nothing.</para>
    /// </summary>
    public static void Kernel8x32Strided<TRead>(int kc, float* a, int aStep, float* b, int bStep, float* c, int ldc, bool add,
        byte* prefetch = null, int prefetchLines = 0)
        where TRead : struct, IBPanelRead
    {
        long rowsAhead = (long)RowsAhead * bStep;
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        byte* prefetchEnd = prefetch + (long)prefetchLines * 64;
        int stride = PrefetchStride(kc, prefetchLines);
        for (int p0 = 0; p0 < kc; p0 += stride)
        {
            prefetch = PrefetchNext(prefetch, prefetchEnd);
            int pEnd = Math.Min(kc, p0 + stride);
            for (int p = p0; p < pEnd; p++)
            {
                if (TRead.AsksRowsAhead && Sse.IsSupported) // a type argument: the JIT drops the test and, for packed tiles, the body
                {
                    Sse.Prefetch0(b + rowsAhead);
                    Sse.Prefetch0(b + rowsAhead + 16);
                }
                Vector512<float> b0 = Vector512.Load(b);
                Vector512<float> b1 = Vector512.Load(b + 16);
                Vector512<float> ai = Vector512.Create(a[0]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(a[1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(a[2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(a[3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(a[4]);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(a[5]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(a[6]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(a[7]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                a += aStep;
                b += bStep;
            }
        }
        PrefetchRest(prefetch, prefetchEnd);
        Store512(c, c00, c01, add); c += ldc;
        Store512(c, c10, c11, add); c += ldc;
        Store512(c, c20, c21, add); c += ldc;
        Store512(c, c30, c31, add); c += ldc;
        Store512(c, c40, c41, add); c += ldc;
        Store512(c, c50, c51, add); c += ldc;
        Store512(c, c60, c61, add); c += ldc;
        Store512(c, c70, c71, add);
    }

    /// <summary>6 rows × 16 columns (2 × Vector256) in 12 accumulators, from packed panels: <see cref="Kernel6x16Strided{TRead}"/>
    /// with A stepping 6 floats and B 16 per K step.</summary>
    private static void Kernel6x16(int kc, float* a, float* b, float* c, int ldc, bool add, byte* prefetch = null, int prefetchLines = 0) =>
        Kernel6x16Strided<PackedPanel>(kc, a, 6, b, 16, c, ldc, add, prefetch, prefetchLines);

    /// <summary>
    /// 6 rows × 16 columns (2 × Vector256) in 12 accumulators, the AVX2 twin of <see cref="Kernel8x32Strided{TRead}"/>: each
    /// operand's step between K steps given, a packed panel (A 6, B 16) or the operand read where it lies (B stored K×N
    /// stepping ldb, its 16 columns of step p one cache line when aligned; A stored K×M stepping lda). 12 accumulators,
    /// 2 B vectors and a broadcast fill 15 of the 16 YMM registers. B read in place asks for its row
    /// <see cref="RowsAhead"/> steps ahead, as the 8×32 tile does, and a whole tile takes its share of the GEMM's prefetch
    /// plan along its K loop (<paramref name="prefetch"/>, <paramref name="prefetchLines"/>: <see cref="GemmPrefetch.TakeRun"/>),
    /// one line every kc / lines steps. On a Zen 3 core that was a burst before each tile until the forty-seventh sitting:
    /// spread, the CIFAR-10 seed's step ran 2–2.5% faster at 1 and 2 threads, its Dense forward 64×128×7200 ~5% and an LSTM
    /// input projection 6400×512×128 ~6% with cold caches (benchmarks/README.md, §8).
    /// </summary>
    public static void Kernel6x16Strided<TRead>(int kc, float* a, int aStep, float* b, int bStep, float* c, int ldc, bool add,
        byte* prefetch = null, int prefetchLines = 0)
        where TRead : struct, IBPanelRead
    {
        long rowsAhead = (long)RowsAhead * bStep;
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        byte* prefetchEnd = prefetch + (long)prefetchLines * 64;
        int stride = PrefetchStride(kc, prefetchLines);
        for (int p0 = 0; p0 < kc; p0 += stride)
        {
            prefetch = PrefetchNext(prefetch, prefetchEnd);
            int pEnd = Math.Min(kc, p0 + stride);
            for (int p = p0; p < pEnd; p++)
            {
                if (TRead.AsksRowsAhead && Sse.IsSupported) // a type argument: for packed tiles the JIT drops the body
                    Sse.Prefetch0(b + rowsAhead);
                Vector256<float> b0 = Vector256.Load(b);
                Vector256<float> b1 = Vector256.Load(b + 8);
                Vector256<float> ai = Vector256.Create(a[0]);
                c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector256.Create(a[1]);
                c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector256.Create(a[2]);
                c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector256.Create(a[3]);
                c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector256.Create(a[4]);
                c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector256.Create(a[5]);
                c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
                a += aStep;
                b += bStep;
            }
        }
        PrefetchRest(prefetch, prefetchEnd);
        Store256(c, c00, c01, add); c += ldc;
        Store256(c, c10, c11, add); c += ldc;
        Store256(c, c20, c21, add); c += ldc;
        Store256(c, c30, c31, add); c += ldc;
        Store256(c, c40, c41, add); c += ldc;
        Store256(c, c50, c51, add);
    }

    /// <summary>
    /// 6 rows × 16 columns in 12 accumulators, A's rows read where they lie (row i at a + i·<paramref name="lda"/>, its
    /// K steps contiguous) against a packed B panel (16 floats a step): the AVX2 twin of <see cref="Kernel8x32DirectA"/>.
    /// Each element is the packed tile's chain (the same products in the same order), so the same bits.
    /// </summary>
    /// <remarks>For products of at most <see cref="Gemm.DirectAColumns256"/> columns (a convolution's im2col rows against
    /// 32 filters: each A element feeds two tiles, and packing it costs about a cycle a float). On a Zen 3 core the im2col
    /// product 57600×32×28 ran 1.64–1.77 → 1.13–1.19 ms (benchmarks/README.md, forty-third sitting).</remarks>
    public static void Kernel6x16DirectA(int kc, float* a, int lda, float* b, float* c, int ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        float* a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda, a4 = a + 4 * lda, a5 = a + 5 * lda;
        for (nint p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai = Vector256.Create(a0[p]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a1[p]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a2[p]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a3[p]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a4[p]);
            c40 = Vector256.FusedMultiplyAdd(ai, b0, c40); c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a5[p]);
            c50 = Vector256.FusedMultiplyAdd(ai, b0, c50); c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
            b += 16;
        }
        Store256(c, c00, c01, add); c += ldc;
        Store256(c, c10, c11, add); c += ldc;
        Store256(c, c20, c21, add); c += ldc;
        Store256(c, c30, c31, add); c += ldc;
        Store256(c, c40, c41, add); c += ldc;
        Store256(c, c50, c51, add);
    }

    /// <summary>
    /// 4 rows × 16 columns in 8 accumulators, A's element (row i, step p) at a + i·<paramref name="rowStride"/> +
    /// p·<paramref name="stepStride"/> and B stepping <paramref name="bStep"/>; the first <paramref name="rows"/> rows stored
    /// (or added) straight into C. Two uses:
    /// <list type="bullet">
    /// <item>the 6×16 kernel's edge strip of 1 to 4 rows (a packed panel: rowStride 1, stepStride 6; or A read in place):
    /// each row the same chain of FMAs as in the 6-row tile, so the same bits, and 8 independent chains still fill both
    /// FMA pipes at a 4-cycle latency, where the 6-row tile spent a third or more of its multiply-adds on zero padding (a
    /// batch of 32 is five 6-row strips and a 2-row edge, a band of 16 rows two strips and a 4-row edge);</item>
    /// <item>the AVX2 Winograd forward's products, a quarter of a block's 8 tiles × 32 filters per call, A's rows read in
    /// place (rowStride C, stepStride 1; <see cref="WinogradConv"/>).</item>
    /// </list>
    /// </summary>
    public static void Kernel4x16(int kc, float* a, int rowStride, int stepStride, float* b, int bStep, float* c, int ldc, bool add, int rows)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride;
        nint step = stepStride;
        for (nint p = 0, at = 0; p < kc; p++, at += step)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai = Vector256.Create(a0[at]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00); c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a1[at]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10); c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a2[at]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20); c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a3[at]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30); c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            b += bStep;
        }
        Store256(c, c00, c01, add);
        if (rows > 1) Store256(c + ldc, c10, c11, add);
        if (rows > 2) Store256(c + 2 * ldc, c20, c21, add);
        if (rows > 3) Store256(c + 3 * ldc, c30, c31, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> lo, Vector256<float> hi, bool add)
    {
        if (add)
        {
            lo += Vector256.Load(c);
            hi += Vector256.Load(c + 8);
        }
        lo.Store(c);
        hi.Store(c + 8);
    }

    /// <summary>
    /// 6 rows × 8 columns (2 × Vector128) in 12 accumulators: the tile for x86 without AVX (SSE).
    /// </summary>
    /// <remarks>
    /// <para>Shape legend: a = packed A panel, 6 floats per step p (column p of six rows); b = packed B
    /// panel, 8 floats per step (row p of eight columns); c = 6×8 block of C, row stride ldc.</para>
    /// <para>Register budget (x86-64 has 16 XMM registers): 12 accumulators + 2 B vectors + 1 A
    /// broadcast + 1 temporary = 16. The temporary is there because SSE has no fused multiply-add
    /// (FMA3 needs the VEX encoding that comes with AVX) and its two-operand <c>mulps</c> overwrites a
    /// source: a·b goes into a scratch register, then <c>addps</c> into the accumulator. An 8-row tile
    /// would need 16 accumulators + 4 and spill every step; a 4-row one (8 accumulators) leaves the
    /// multiply and add pipes half idle. Six rows also keep MC = 96 a whole number of strips.</para>
    /// <para><see cref="Vector128.MultiplyAddEstimate(Vector128{float}, Vector128{float}, Vector128{float})"/>
    /// is a fused multiply-add where the hardware has one and a multiply then an add otherwise;
    /// <c>Vector128.FusedMultiplyAdd</c> would fall back to a per-lane software fused multiply-add
    /// without FMA hardware, dozens of times slower.</para>
    /// </remarks>
    private static void Kernel6x8(int kc, float* a, float* b, float* c, int ldc, bool add)
    {
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector128<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector128<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<float> b0 = Vector128.Load(b);
            Vector128<float> b1 = Vector128.Load(b + 4);
            Vector128<float> ai = Vector128.Create(a[0]);
            c00 = Vector128.MultiplyAddEstimate(ai, b0, c00); c01 = Vector128.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector128.Create(a[1]);
            c10 = Vector128.MultiplyAddEstimate(ai, b0, c10); c11 = Vector128.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector128.Create(a[2]);
            c20 = Vector128.MultiplyAddEstimate(ai, b0, c20); c21 = Vector128.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector128.Create(a[3]);
            c30 = Vector128.MultiplyAddEstimate(ai, b0, c30); c31 = Vector128.MultiplyAddEstimate(ai, b1, c31);
            ai = Vector128.Create(a[4]);
            c40 = Vector128.MultiplyAddEstimate(ai, b0, c40); c41 = Vector128.MultiplyAddEstimate(ai, b1, c41);
            ai = Vector128.Create(a[5]);
            c50 = Vector128.MultiplyAddEstimate(ai, b0, c50); c51 = Vector128.MultiplyAddEstimate(ai, b1, c51);
            a += 6;
            b += 8;
        }
        Store128(c, c00, c01, add); c += ldc;
        Store128(c, c10, c11, add); c += ldc;
        Store128(c, c20, c21, add); c += ldc;
        Store128(c, c30, c31, add); c += ldc;
        Store128(c, c40, c41, add); c += ldc;
        Store128(c, c50, c51, add);
    }

    /// <summary>
    /// 8 rows × 8 columns (2 × Vector128) in 16 accumulators: the tile for ARM64 (AdvSimd / NEON).
    /// </summary>
    /// <remarks>
    /// <para>Shape legend: a = packed A panel, 8 floats per step p; b = packed B panel, 8 floats per
    /// step; c = 8×8 block of C, row stride ldc.</para>
    /// <para>Register budget (ARM64 has 32 vector registers, and a three-operand fused multiply-add,
    /// <c>fmla</c>): 16 accumulators + 2 B vectors + up to 8 A broadcasts (<c>ld1r</c>) in flight = 26,
    /// leaving room for the JIT's own temporaries, so nothing spills. 16 independent accumulator chains
    /// cover two FMA pipes × a 4-cycle latency twice over, and each step does 16 FMAs for 10 loads
    /// (the 6×8 x86 tile: 12 for 8). Wider tiles (8×12, 24 accumulators) would fit too, but NR = 12 is
    /// not a divisor of the blocking sizes shared with the other kernels, and the gain in load ratio is
    /// small. MR = 8 reuses the 8-row packing paths of the AVX-512 kernel.</para>
    /// <para>Runs wherever Vector128 does: the tests force it on x86 as well.</para>
    /// </remarks>
    private static void Kernel8x8(int kc, float* a, float* b, float* c, int ldc, bool add)
    {
        Vector128<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector128<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector128<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector128<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector128<float> b0 = Vector128.Load(b);
            Vector128<float> b1 = Vector128.Load(b + 4);
            Vector128<float> ai = Vector128.Create(a[0]);
            c00 = Vector128.MultiplyAddEstimate(ai, b0, c00); c01 = Vector128.MultiplyAddEstimate(ai, b1, c01);
            ai = Vector128.Create(a[1]);
            c10 = Vector128.MultiplyAddEstimate(ai, b0, c10); c11 = Vector128.MultiplyAddEstimate(ai, b1, c11);
            ai = Vector128.Create(a[2]);
            c20 = Vector128.MultiplyAddEstimate(ai, b0, c20); c21 = Vector128.MultiplyAddEstimate(ai, b1, c21);
            ai = Vector128.Create(a[3]);
            c30 = Vector128.MultiplyAddEstimate(ai, b0, c30); c31 = Vector128.MultiplyAddEstimate(ai, b1, c31);
            ai = Vector128.Create(a[4]);
            c40 = Vector128.MultiplyAddEstimate(ai, b0, c40); c41 = Vector128.MultiplyAddEstimate(ai, b1, c41);
            ai = Vector128.Create(a[5]);
            c50 = Vector128.MultiplyAddEstimate(ai, b0, c50); c51 = Vector128.MultiplyAddEstimate(ai, b1, c51);
            ai = Vector128.Create(a[6]);
            c60 = Vector128.MultiplyAddEstimate(ai, b0, c60); c61 = Vector128.MultiplyAddEstimate(ai, b1, c61);
            ai = Vector128.Create(a[7]);
            c70 = Vector128.MultiplyAddEstimate(ai, b0, c70); c71 = Vector128.MultiplyAddEstimate(ai, b1, c71);
            a += 8;
            b += 8;
        }
        Store128(c, c00, c01, add); c += ldc;
        Store128(c, c10, c11, add); c += ldc;
        Store128(c, c20, c21, add); c += ldc;
        Store128(c, c30, c31, add); c += ldc;
        Store128(c, c40, c41, add); c += ldc;
        Store128(c, c50, c51, add); c += ldc;
        Store128(c, c60, c61, add); c += ldc;
        Store128(c, c70, c71, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store128(float* c, Vector128<float> lo, Vector128<float> hi, bool add)
    {
        if (add)
        {
            lo += Vector128.Load(c);
            hi += Vector128.Load(c + 4);
        }
        lo.Store(c);
        hi.Store(c + 4);
    }

    /// <summary>4×4 scalar tile: the portable fallback.</summary>
    private static void Kernel4x4Scalar(int kc, float* a, float* b, float* c, int ldc, bool add)
    {
        float* acc = stackalloc float[16];
        for (int t = 0; t < 16; t++) acc[t] = 0f;
        for (int p = 0; p < kc; p++)
        {
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    acc[i * 4 + j] = MathF.FusedMultiplyAdd(a[i], b[j], acc[i * 4 + j]);
            a += 4;
            b += 4;
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                c[i * ldc + j] = add ? c[i * ldc + j] + acc[i * 4 + j] : acc[i * 4 + j];
    }
}

/// <summary>How <see cref="GemmMicroKernels.Kernel8x32Strided{TRead}"/> reads its B panel: a type argument, so each way
/// compiles to its own loop and a packed tile runs none of the others' instructions.</summary>
internal interface IBPanelRead
{
    /// <summary>Each K step asks for its B row <see cref="GemmMicroKernels.RowsAhead"/> steps ahead (<c>prefetcht0</c>).</summary>
    static abstract bool AsksRowsAhead { get; }
}

/// <summary>A packed panel (32 contiguous floats a step): the hardware prefetchers follow it.</summary>
internal readonly struct PackedPanel : IBPanelRead
{
    public static bool AsksRowsAhead => false;
}

/// <summary>B read in place (its rows ldb floats apart): each step asks for its row <see cref="GemmMicroKernels.RowsAhead"/> steps ahead.</summary>
internal readonly struct InPlacePanel : IBPanelRead
{
    public static bool AsksRowsAhead => true;
}
