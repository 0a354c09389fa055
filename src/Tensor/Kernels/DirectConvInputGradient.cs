using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Kernels;

/// <summary>
/// The convolution's input gradient with col2im fused into the product's epilogue: dX += col2im(dZ·wᵀ), where each
/// register tile of dcol = dZ·wᵀ is added straight onto the input pixels it belongs to instead of being stored as a
/// dcol block and scattered afterwards.
/// </summary>
/// <remarks>
/// <para>Shape legend: dZ is a chunk's rows × F (rows = images·OH·OW output pixels, NHWC); w is (KH, KW, C, F) = P×F,
/// P = KH·KW·C; dcol = dZ·wᵀ is rows × P, never stored; dX is images×H×W×C. The packed panels of wᵀ
/// (<see cref="PackPanels"/>) are P/32 panels of F×32: panel j, row f holds w[32j..32j+32, f].</para>
/// <para>Why it fits: with C a multiple of 32, the 32 dcol columns 32j..32j+32 are 32 channels of one tap (kh, kw), and
/// for output pixel (oh, ow) they go to the 32 contiguous floats of dX at input pixel (oh·sh − padTop + kh·dh,
/// ow·sw − padLeft + kw·dw). So an 8-pixel × 32-column tile of dcol (the GEMM's 8×32 micro-kernel: 16 Vector512
/// accumulators, K = F) ends as 8 two-vector additions into dX, each at its own pixel, while it is still in registers.
/// The unfused path wrote a ~190 KB dcol block to L2, read it back and added it run by run (<see cref="Im2Col.Backward"/>),
/// and packed wᵀ again for every block.</para>
/// <para>Same bits as that path: each dcol element is the same chain of fused multiply-adds over f from zero (F ≤ KC:
/// the GEMM's single K slab), and each dX element receives its additions in the same order: col2im adds them in output
/// pixel order. For a fixed input pixel, the tap (kh, kw) determines the output pixel, and the output pixel's (oh, ow)
/// falls as (kh, kw) rises; so within a block of pixels the taps run from the last to the first, and the blocks
/// themselves in pixel order. (Two pixels of one tile never meet at the same input pixel through the same tap.)</para>
/// <para>Loop order: blocks of <see cref="BlockRows"/> pixels (their dZ rows, ≤ 16 KB, stay in L1), then the panels, last
/// tap first (each 4–8 KB panel is reused by the block's 8 tiles), then the tiles.</para>
/// </remarks>
internal static unsafe class DirectConvInputGradient
{
    /// <summary>Output pixels per block: 8 tiles of 8, whose dZ rows (64·F floats) stay in L1 across all the panels.</summary>
    private const int BlockRows = 64;

    /// <summary>
    /// Whether this kernel takes the input gradient: 512-bit vectors, C a multiple of 32 (a 32-column panel is 32
    /// channels of one tap), and F within one GEMM K slab (so each dcol element is the unfused path's single chain).
    /// </summary>
    public static bool Applies(in ConvGeometry g, int filters) =>
        DirectConv.Enabled && Vector512.IsHardwareAccelerated && g.Channels % 32 == 0 && filters > 0 && filters <= Gemm.KC;

    /// <summary>Packs wᵀ (w is P×F, row-major) into P/32 panels of F×32 floats: panels[(j·F + f)·32 + q] = w[(32j + q)·F + f].</summary>
    public static void PackPanels(float* w, int patch, int filters, float* panels)
    {
        for (int j = 0; j < patch / 32; j++)
            for (int f = 0; f < filters; f++)
            {
                float* target = panels + ((long)j * filters + f) * 32;
                float* source = w + (long)j * 32 * filters + f;
                for (int q = 0; q < 32; q++)
                    target[q] = source[(long)q * filters];
            }
    }

    /// <summary>
    /// dX[images×H×W×C] += col2im(dZ·wᵀ) for a chunk of <paramref name="images"/> images whose output gradient dZ
    /// (images·OH·OW rows × F) and input gradient dX start at the given pointers (<see cref="Applies"/> must hold).
    /// </summary>
    public static void Compute(float* dZ, int images, in ConvGeometry g, float* panels, int filters, float* dX)
    {
        int rows = images * g.OutputPixels, c = g.Channels, panelsPerTap = c / 32, taps = g.KernelHeight * g.KernelWidth;
        int panelSize = filters * 32;
        bool inside = !DirectConv.NeedsPadding(g);
        // Per block row: the input pixel tap (0, 0) reads (ih0, iw0), and its offset in the chunk's dX (may lie in the padding).
        int* firstRow = stackalloc int[BlockRows+8], firstColumn = stackalloc int[BlockRows+8];
        long* offset = stackalloc long[BlockRows+8];
        float* tailRows = stackalloc float[8 * filters]; // a last tile of fewer than 8 rows reads its dZ rows from here
        for (int block = 0; block < rows; block += BlockRows)
        {
            int count = Math.Min(BlockRows, rows - block);
            for (int r = 0; r < BlockRows; r++)
            {
                if (r >= count) // past the chunk: never inside the image, so never added
                {
                    (firstRow[r], firstColumn[r], offset[r]) = (int.MinValue / 2, int.MinValue / 2, 0);
                    continue;
                }
                int row = block + r, image = row / g.OutputPixels, pixel = row % g.OutputPixels;
                int ih = pixel / g.OutputWidth * g.StrideHeight - g.PadTop, iw = pixel % g.OutputWidth * g.StrideWidth - g.PadLeft;
                (firstRow[r], firstColumn[r]) = (ih, iw);
                offset[r] = (long)image * g.InputImageSize + ((long)ih * g.Width + iw) * c;
            }
            for (int tap = taps - 1; tap >= 0; tap--) // the last tap first: each dX element's additions in output-pixel order
            {
                int kh = tap / g.KernelWidth, kw = tap % g.KernelWidth;
                var target = new TileTarget(dX, g.Height, g.Width, kh * g.DilationHeight, kw * g.DilationWidth,
                    ((long)kh * g.DilationHeight * g.Width + (long)kw * g.DilationWidth) * c);
                for (int half = 0; half < panelsPerTap; half++)
                {
                    float* panel = panels + (long)(tap * panelsPerTap + half) * panelSize;
                    for (int r = 0; r < count; r += 8)
                    {
                        float* a = dZ + (long)(block + r) * filters;
                        if (count - r < 8) // the chunk's last rows: copy them so the tile reads no row past dZ's end
                        {
                            new ReadOnlySpan<float>(a, (count - r) * filters).CopyTo(new Span<float>(tailRows, 8 * filters));
                            a = tailRows;
                        }
                        if (inside && count - r >= 8) // no tap of a 'valid' convolution leaves the image: no checks
                            Tile<Inside>(a, filters, panel, target, firstRow + r, firstColumn + r, offset + r, half * 32);
                        else
                            Tile<Checked>(a, filters, panel, target, firstRow + r, firstColumn + r, offset + r, half * 32);
                    }
                }
            }
        }
    }

    /// <summary>Whether a tile checks that each row's input pixel lies inside the image (a compile-time constant per copy).</summary>
    private interface IBounds
    {
        static abstract bool Checks { get; }
    }

    /// <summary>'Same' or causal padding, or the chunk's last rows: a row whose tap falls outside is skipped.</summary>
    private readonly struct Checked : IBounds
    {
        public static bool Checks => true;
    }

    /// <summary>A full tile of a convolution without padding: every tap of every row lies inside the image.</summary>
    private readonly struct Inside : IBounds
    {
        public static bool Checks => false;
    }

    /// <summary>Where one tap's tile rows land: row i at dX + offset[i] + TapOffset + channel, when inside the image.</summary>
    private readonly struct TileTarget(float* dX, int height, int width, int tapRow, int tapColumn, long tapOffset)
    {
        public readonly float* DX = dX;
        public readonly int Height = height, Width = width, TapRow = tapRow, TapColumn = tapColumn;
        public readonly long TapOffset = tapOffset;
    }

    /// <summary>
    /// One 8-pixel × 32-column tile of dcol = dZ·wᵀ (rows a[0..8) of F floats each, one F×32 panel of wᵀ), added onto the
    /// 8 input pixels it belongs to, each when inside the image.
    /// </summary>
    private static void Tile<TBounds>(float* a, int filters, float* panel, in TileTarget t, int* firstRow, int* firstColumn, long* offset, int channel)
        where TBounds : struct, IBounds
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;  // pixels 0 and 1; halves 0 and 1
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        // Pointers walk f, the row offsets are native ints: each broadcast is one load with a base + index·4 address, no
        // integer arithmetic beside the FMAs (which on Intel would compete for their ports). The body repeats
        // DirectConvForward.Tile's on purpose: the 16 accumulators stay in registers only as one method's locals.
        nint s1 = filters, s2 = 2 * s1, s3 = 3 * s1;
        float* a0 = a, a1 = a + 4 * s1, end = a + s1, b = panel;
        for (; a0 < end; a0++, a1++, b += 32)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(*a0);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a0[s1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a0[s2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a0[s3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(*a1);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a1[s1]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            ai = Vector512.Create(a1[s2]);
            c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
            ai = Vector512.Create(a1[s3]);
            c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
        }
        AddRow<TBounds>(t, firstRow[0], firstColumn[0], offset[0], channel, c00, c01);
        AddRow<TBounds>(t, firstRow[1], firstColumn[1], offset[1], channel, c10, c11);
        AddRow<TBounds>(t, firstRow[2], firstColumn[2], offset[2], channel, c20, c21);
        AddRow<TBounds>(t, firstRow[3], firstColumn[3], offset[3], channel, c30, c31);
        AddRow<TBounds>(t, firstRow[4], firstColumn[4], offset[4], channel, c40, c41);
        AddRow<TBounds>(t, firstRow[5], firstColumn[5], offset[5], channel, c50, c51);
        AddRow<TBounds>(t, firstRow[6], firstColumn[6], offset[6], channel, c60, c61);
        AddRow<TBounds>(t, firstRow[7], firstColumn[7], offset[7], channel, c70, c71);
    }

    /// <summary>dX[pixel, channel..channel+32) += (v0, v1) when the tap's input pixel lies inside the image (else it is padding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow<TBounds>(in TileTarget t, int firstRow, int firstColumn, long offset, int channel, Vector512<float> v0, Vector512<float> v1)
        where TBounds : struct, IBounds
    {
        if (TBounds.Checks && ((uint)(firstRow + t.TapRow) >= (uint)t.Height || (uint)(firstColumn + t.TapColumn) >= (uint)t.Width))
            return;
        float* target = t.DX + offset + t.TapOffset + channel;
        Vector512.Store(Vector512.Load(target) + v0, target);
        Vector512.Store(Vector512.Load(target + 16) + v1, target + 16);
    }
}
