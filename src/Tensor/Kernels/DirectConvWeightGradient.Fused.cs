using NanoNet.Memory;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The direct weight gradient of a 3×3 RGB stem with its output gradient made in registers as the tile walks: through a
/// fused 2×2 / 2 max pooling (the unpooling) or a fused ReLU (the mask), so the chunk's dZ is never written to memory.
/// </summary>
/// <remarks>
/// <para>Shape legend: as <see cref="DirectConvWeightGradient"/> (source images Hp×Wp×C, run = KW·C = 9, dZ images×OH×OW×F,
/// result [dW; db] (P + 1)×F). Pooled: dY and argmax are images×PH×PW×F, PH = ⌊OH/2⌋, PW = ⌊OW/2⌋, argmax holding each
/// window's winner as its position in the image's convolution output, oh·OW·F + ow·F + f, or
/// <see cref="Conv2DKernels.ZeroedWindow"/>. Masked: dY is images×OH×OW×F, the ReLU's bits images×OH×OW×F/32 ints
/// (<see cref="ReluBits"/>).</para>
/// <para>The values: pooled, output pixel (oh, ow) lies in window (oh/2, ow/2), and its dZ for filter f is 0 + dY[window, f]
/// where argmax names it and +0 elsewhere (also in an odd last row or column, which no window covers): exactly what
/// <see cref="MaxPoolKernels.Unpool2x2"/> writes (the 0 + turns −0 into +0, as there). Masked: dY where the bit of y &gt; 0
/// is set, else +0, as <see cref="ActivationKernels.ReluMask"/> over y. The tile then runs the same 9 rows × 32 filters of multiply-add chains as
/// <see cref="ConvWeightGradient.Tile{TLanes, TRows}"/> over those values, pixel by pixel in the same order, plus db (a
/// chain of 1·dZ) in kernel row 0's pass, as the separate 1-row tile over a constant 1 sums it. So the bits are those of
/// making dZ first, then running the tiles.</para>
/// <para>Why: making dZ first wrote it (7.4 MB per batch of 64 seed images, 4 MB per 32 Keras images) and read it back
/// four times; unpooling was a quarter of the seed pass, the mask a sixth of the Keras stem's (conv-time: 1.19–1.45 →
/// 1.04 ms and 0.68–0.79 → 0.59–0.64 ms, benchmarks/README.md, seventh sitting). Here each pixel costs four vector loads
/// (pooled) or two and an int (masked), two compares and two selects beside its 18 multiply-adds, and the pooled rows are a
/// quarter of dZ's size, the bits 1/32 of y's (which the mask read before: twenty-sixth sitting). Only kernel row 0's pass
/// makes dZ; rows 1 and 2 read it back from a band-sized block (<see cref="FusedTiles{TRule}"/>).</para>
/// </remarks>
internal static unsafe partial class DirectConvWeightGradient
{
    /// <summary>Whether the fused weight gradients take this convolution: a kernel row of 9 floats (3×3 RGB: one 9-row tile).</summary>
    public static bool FusesGradient(in ConvGeometry g) => g.KernelWidth * g.Channels == 9;

    /// <summary>Whether <see cref="ComputePooled"/> takes this convolution and pooling: <see cref="FusesGradient"/>, and a
    /// pooling <see cref="MaxPoolKernels.Unpool2x2"/> takes (2×2 windows, stride 2, no padding).</summary>
    public static bool TakesPooling(in ConvGeometry g, in ConvGeometry pool) => FusesGradient(g) && MaxPoolKernels.Unpools2x2(pool);

    /// <summary>
    /// result[(P+1)×F] = Σ over the chunk's pixels of [patch; 1]ᵀ · unpool(dY, argmax) (overwrites the result;
    /// <see cref="TakesPooling"/> must hold). <paramref name="dY"/> and <paramref name="argmax"/> point at the chunk's
    /// first image.
    /// </summary>
    public static void ComputePooled(DirectConv.Source x, int images, in ConvGeometry g, float* dY, int* argmax, int filters, float* result,
        in ConvGeometry pool)
    {
        var pooled = new Plane(dY, pool.OutputPixels * filters, pool.OutputWidth * filters, filterShift: 0);
        ComputeFused<Unpooling>(x, images, g, filters, result,
            new GradientSource(pooled, pooled.Over((float*)argmax), 2 * pool.OutputHeight, 2 * pool.OutputWidth));
    }

    /// <summary>
    /// result[(P+1)×F] = Σ over the chunk's pixels of [patch; 1]ᵀ · (dY ⊙ [y &gt; 0]) (overwrites the result;
    /// <see cref="FusesGradient"/> must hold), [y &gt; 0] read from the ReLU's bits (<see cref="ReluBits"/>).
    /// <paramref name="dY"/> and <paramref name="reluBits"/> point at the chunk's first image.
    /// </summary>
    public static void ComputeMasked(DirectConv.Source x, int images, in ConvGeometry g, float* dY, int* reluBits, int filters, float* result)
    {
        int groups = filters / 32;
        ComputeFused<ReluMasking>(x, images, g, filters, result, new GradientSource(
            new Plane(dY, g.OutputPixels * filters, g.OutputWidth * filters, filterShift: 0),
            new Plane((float*)reluBits, g.OutputPixels * groups, g.OutputWidth * groups, filterShift: 5),
            g.OutputHeight, g.OutputWidth));
    }

    private static void ComputeFused<TRule>(DirectConv.Source x, int images, in ConvGeometry g, int filters, float* result, in GradientSource source)
        where TRule : struct, IGradientRule
    {
        var walk = new ConvWeightGradient.Walk(images, g.OutputHeight, g.OutputWidth, x.ImageStride, (long)g.StrideHeight * x.RowStride,
            g.StrideWidth * g.Channels);
        for (int f = 0; f < filters; f += 32)
            FusedTiles<TRule>(walk, x.Images, x.RowStride, g.KernelHeight, source, f, filters, g.OutputWidth, result + f,
                result + (long)g.PatchSize * filters + f);
    }

    /// <summary>
    /// One array a tile reads (dY, argmax or the ReLU's bits), 4-byte elements: images ImageSize apart, rows RowSize apart,
    /// an element holding 2^FilterShift filters (1, or 32 bits). Where a pixel lies in a row is the rule's
    /// (<see cref="IGradientRule.OtherOffset"/>; dY's pixels are F apart).
    /// </summary>
    private readonly struct Plane(float* start, int imageSize, int rowSize, int filterShift)
    {
        /// <summary>This array from filter <paramref name="f"/> on (a multiple of 32).</summary>
        public Plane AtFilter(int f) => new(start + (f >> filterShift), imageSize, rowSize, filterShift);

        /// <summary>Where row <paramref name="row"/> of image <paramref name="image"/> starts.</summary>
        public float* Row(int image, int row) => start + (long)image * imageSize + (long)row * rowSize;

        /// <summary>Another array of this one's layout (argmax beside the pooled dY).</summary>
        public Plane Over(float* other) => new(other, imageSize, rowSize, filterShift);
    }

    /// <summary>
    /// Where a tile finds its dZ's makings: dY and a second array (argmax or the ReLU's bits); output rows and columns from
    /// CoveredHeight and CoveredWidth on get +0 (the odd edge no pooling window covers).
    /// </summary>
    private readonly struct GradientSource(Plane dY, Plane other, int coveredHeight, int coveredWidth)
    {
        public readonly Plane DY = dY, Other = other;
        public readonly int CoveredHeight = coveredHeight, CoveredWidth = coveredWidth;
    }

    /// <summary>How an output pixel's dZ is made from its dY and second values (<see cref="Unpooling"/>, <see cref="ReluMasking"/>).</summary>
    private interface IGradientRule
    {
        /// <summary>1 when one dY row and column cover two output rows and columns (the 2×2 pooling), 0 when dY is the pixel's own.</summary>
        static abstract int Shift { get; }

        /// <summary>Where dY column <paramref name="column"/>'s second values lie in their row, in 4-byte elements.</summary>
        static abstract int OtherOffset(int column, int filters);

        /// <summary>
        /// Asks (<c>prefetcht1</c>, into L2) for the lines pixel <paramref name="ow"/> of the next band will read: the first
        /// or the second half of them, so two passes share the asking (<paramref name="dYRow"/> and
        /// <paramref name="otherRow"/>: that band's row, from the tile's filter on).
        /// </summary>
        static abstract void AskFor(float* dYRow, float* otherRow, int ow, int filters, bool secondHalf);

        /// <summary>
        /// 32 filters' dZ (two vectors of 16) from their dY, their second values and the pixel's own positions in its image's
        /// output (filters f..f+16).
        /// </summary>
        static abstract void Make(float* dY, float* other, Vector512<int> position, out Vector512<float> low, out Vector512<float> high);
    }

    /// <summary>Through a 2×2 / 2 max pooling: the window's 0 + dY where its argmax names this position, else +0.</summary>
    private readonly struct Unpooling : IGradientRule
    {
        public static int Shift => 1;

        public static int OtherOffset(int column, int filters) => column * filters; // argmax has dY's layout

        /// <summary>An output pixel's share of its window's 32 dY and 32 argmax values (two lines each per two pixels): the
        /// first half asks for one dY line, the second half one argmax line.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AskFor(float* dYRow, float* argmaxRow, int ow, int filters, bool secondHalf) =>
            Sse.Prefetch1((secondHalf ? argmaxRow : dYRow) + (ow >> 1) * filters + (ow & 1) * 16);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Make(float* dY, float* argmax, Vector512<int> position, out Vector512<float> low, out Vector512<float> high)
        {
            low = Unpool(Vector512.Load(dY), Vector512.Load((int*)argmax), position);
            high = Unpool(Vector512.Load(dY + 16), Vector512.Load((int*)argmax + 16), position + Vector512.Create(16));
        }

        private static Vector512<float> Unpool(Vector512<float> dY, Vector512<int> argmax, Vector512<int> position) =>
            Vector512.ConditionalSelect(Vector512.Equals(argmax, position).AsSingle(), Vector512<float>.Zero + dY, Vector512<float>.Zero);
    }

    /// <summary>Through a ReLU: dY where the output y &gt; 0 (its bit set), else +0.</summary>
    private readonly struct ReluMasking : IGradientRule
    {
        public static int Shift => 0;

        public static int OtherOffset(int column, int filters) => column * (filters >> 5); // an int per 32 filters

        /// <summary>A pixel's 32 dY values span two lines: the first half asks for one, the second half for the other and the
        /// line holding the pixel's bits (shared by 16 pixels: asked for again, at the cost of a load slot).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AskFor(float* dYRow, float* bitsRow, int ow, int filters, bool secondHalf)
        {
            float* line = dYRow + ow * filters;
            if (!secondHalf)
            {
                Sse.Prefetch1(line);
                return;
            }
            Sse.Prefetch1(line + 16);
            Sse.Prefetch1(bitsRow + ow * (filters >> 5));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Make(float* dY, float* reluBits, Vector512<int> position, out Vector512<float> low, out Vector512<float> high) =>
            ReluBits.Mask(dY, *(int*)reluBits, out low, out high);
    }

    /// <summary>The L1d size the bands are cut for: this machine's; tests set others to check the bits do not depend on it.</summary>
    internal static long BandL1DataBytes = CpuCaches.OfThisMachine.L1Data;

    /// <summary>
    /// Output rows a band holds (<see cref="FusedTiles{TRule}"/>): as many as make a block of dZ (32 filters, 128 bytes a
    /// pixel) of at most a third of the L1 data cache, so the block, the image rows the passes read and the next band's
    /// asked-for lines share L1; 1 to 8. On a 48 KB L1d (Zen 5, Sapphire/Emerald Rapids), 4 rows of 32 or 30 pixels (15–16 KB).
    /// </summary>
    /// <remarks>Measured on Emerald Rapids (old and new alternated call by call): with 8 rows (32 KB of dZ, two thirds of
    /// L1d) the Keras stem's weight gradient took 0.350–0.353 ms warm, 0.384–0.385 cold; with 4, 0.338–0.340 and 0.368–0.370;
    /// with 2, 0.333 and 0.370; the CIFAR-10 seed's pooled one 0.520–0.526 / 0.532–0.533 ms at 8 rows, 0.516–0.524 /
    /// 0.528–0.530 at 4, 0.526–0.536 / 0.536–0.544 at 2 (benchmarks/README.md, §8, fortieth sitting).</remarks>
    internal static int BandRows(int pixels, long l1DataBytes) =>
        (int)Math.Clamp(l1DataBytes / 3 / ((long)pixels * 32 * sizeof(float)), 1, 8);

    /// <summary>
    /// For each kernel row kh (<paramref name="kernelHeight"/> of them): rows c[9·kh .. 9·kh + 9) × 32 filters = Σ over the
    /// walk's pixels of a[kh·rowStride + pixel + 0..9)ᵀ · dZ[pixel, f..f+32), and bias[0..32) = Σ dZ[pixel, f..f+32); rows
    /// of c are <paramref name="ldc"/> apart.
    /// </summary>
    /// <remarks>
    /// The walk's output rows (images × rows, in order) go by bands (<see cref="BandRows"/>): kernel row 0's chains over
    /// the band, reading its dY and second values from memory and making each pixel's dZ, which they also store into a
    /// band-sized block; then rows 1 and 2 over the same band, reading that dZ back from L1 and asking for the next band's
    /// lines (<c>prefetch</c>), so memory works while the FMAs do. Walking the whole chunk once per kernel row instead left
    /// the first walk, 256 bytes per 20 multiply-adds, waiting on memory (conv-time cold: the Keras stem 0.56 ms against
    /// 0.33 warm); row by row, the chains' loads and stores around 32-pixel walks cost a third more. Making dZ in every
    /// kernel row's pass (its mask or unpooling three times, on the ports the FMAs need) cost the Keras stem's weight
    /// gradient 16–18% more alone, the CIFAR-10 step 2–3% and the Keras step ~1% (benchmarks/README.md, §8,
    /// thirty-seventh sitting). Each chain still runs over the pixels in the same order on the same values: the same bits.
    /// </remarks>
    private static void FusedTiles<TRule>(in ConvWeightGradient.Walk walk, float* a, long rowStride, int kernelHeight, in GradientSource source,
        int f, int ldc, int outputWidth, float* c, float* bias)
        where TRule : struct, IGradientRule
    {
        const int ChainsPerTile = 18; // 9 patch rows × 2 vectors of 16 filters
        int chainCount = ChainsPerTile * kernelHeight + 2; // each kernel row's, then db's
        Vector512<float>* chains = stackalloc Vector512<float>[chainCount];
        for (int k = 0; k < chainCount; k++)
            chains[k] = default;
        Vector512<float>* biasChains = chains + ChainsPerTile * kernelHeight;
        int rows = walk.Images * walk.Rows;
        // The band's dZ, made by kernel row 0's pass and read back by the others (16 KB for 4 Keras rows of 32 pixels).
        int generation = ScratchBuffers.Generation;
        int bandRows = BandRows(walk.Pixels, BandL1DataBytes);
        float[] bandBuffer = ScratchBuffers.Rent(bandRows * walk.Pixels * 32 + 16);
        try
        {
            fixed (float* bandStart = bandBuffer)
            {
                var bandDZ = (Vector512<float>*)CacheLineAlignment.Align(bandStart);
                for (int band = 0; band < rows; band += bandRows)
                {
                    var rowsOfBand = new Band(band, Math.Min(band + bandRows, rows), Math.Min(band + 2 * bandRows, rows));
                    for (int kh = 0; kh < kernelHeight; kh++)
                    {
                        float* rowPatches = a + kh * rowStride;
                        Vector512<float>* rowChains = chains + ChainsPerTile * kh;
                        if (kh == 0)
                            FusedBand<TRule, MakingDZ>(walk, rowPatches, source, f, ldc, outputWidth, rowsOfBand, rowChains, biasChains, bandDZ);
                        else if (kh == 1)
                            FusedBand<TRule, ReadingDZAskingFirstHalf>(walk, rowPatches, source, f, ldc, outputWidth, rowsOfBand, rowChains, null, bandDZ);
                        else if (kh == 2)
                            FusedBand<TRule, ReadingDZAskingSecondHalf>(walk, rowPatches, source, f, ldc, outputWidth, rowsOfBand, rowChains, null, bandDZ);
                        else
                            FusedBand<TRule, ReadingDZ>(walk, rowPatches, source, f, ldc, outputWidth, rowsOfBand, rowChains, null, bandDZ);
                    }
                }
            }
        }
        finally
        {
            ScratchBuffers.Return(bandBuffer, generation);
        }
        for (int kh = 0; kh < kernelHeight; kh++)
            for (int r = 0; r < 9; r++)
            {
                float* cRow = c + (long)(kh * 9 + r) * ldc;
                chains[ChainsPerTile * kh + 2 * r].Store(cRow);
                chains[ChainsPerTile * kh + 2 * r + 1].Store(cRow + 16);
            }
        biasChains[0].Store(bias);
        biasChains[1].Store(bias + 16);
    }

    /// <summary>Output rows [Start, End) of the walk (images × rows laid end to end), and the next band's end.</summary>
    private readonly record struct Band(int Start, int End, int NextEnd);

    /// <summary>Which half of the next band's lines a pass asks for (<see cref="IGradientRule.AskFor"/>).</summary>
    private enum AskedHalf { None, First, Second }

    /// <summary>
    /// What one kernel row's pass over a band does beside its FMAs (<see cref="MakingDZ"/>, <see cref="ReadingDZ"/> and the
    /// two that ask for the next band's rows): type parameters, so each pass's pixel loop is compiled with only its own work.
    /// </summary>
    /// <remarks>With these as arguments tested per pixel, the JIT's loop ran ~50 instructions a pixel beside its 18 FMAs and
    /// 9 broadcasts (the tests, three taken jumps, scalars reloaded from the stack); now ~35, one taken jump. With the asking
    /// shared by two passes instead of one asking for all of dY, the Keras stem's weight gradient alone ran 1–5% faster and the
    /// CIFAR-10 seed's pooled one 5% (benchmarks/README.md, §8, thirty-ninth sitting).</remarks>
    private interface IBandPass
    {
        /// <summary>Kernel row 0: makes each pixel's dZ (<see cref="IGradientRule.Make"/>), keeps it in the band's block
        /// and sums db; the other rows read dZ back from the block.</summary>
        static abstract bool MakesDZ { get; }

        /// <summary>The half of the next band's lines this pass asks for.</summary>
        static abstract AskedHalf Asks { get; }
    }

    private readonly struct MakingDZ : IBandPass
    {
        public static bool MakesDZ => true;
        public static AskedHalf Asks => AskedHalf.None;
    }

    private readonly struct ReadingDZAskingFirstHalf : IBandPass
    {
        public static bool MakesDZ => false;
        public static AskedHalf Asks => AskedHalf.First;
    }

    private readonly struct ReadingDZAskingSecondHalf : IBandPass
    {
        public static bool MakesDZ => false;
        public static AskedHalf Asks => AskedHalf.Second;
    }

    private readonly struct ReadingDZ : IBandPass
    {
        public static bool MakesDZ => false;
        public static AskedHalf Asks => AskedHalf.None;
    }

    /// <summary>
    /// Continues one kernel row's 18 chains (9 patch rows × 32 filters, in <paramref name="chains"/>) over a band's pixels
    /// (<paramref name="a"/>: the patches of this kernel row). <see cref="MakingDZ"/> (kernel row 0) makes each pixel's dZ
    /// from dY, stores it in <paramref name="bandDZ"/> (two vectors a pixel, the band's rows one after another) and
    /// continues db's 2 chains (<paramref name="bias"/>); the other passes read dZ back from there.
    /// </summary>
    private static void FusedBand<TRule, TPass>(in ConvWeightGradient.Walk walk, float* a, in GradientSource source, int f, int filters,
        int outputWidth, Band band, Vector512<float>* chains, Vector512<float>* bias, Vector512<float>* bandDZ)
        where TRule : struct, IGradientRule
        where TPass : struct, IBandPass
    {
        Vector512<float> c00 = chains[0], c01 = chains[1], c10 = chains[2], c11 = chains[3], c20 = chains[4], c21 = chains[5];
        Vector512<float> c30 = chains[6], c31 = chains[7], c40 = chains[8], c41 = chains[9], c50 = chains[10], c51 = chains[11];
        Vector512<float> c60 = chains[12], c61 = chains[13], c70 = chains[14], c71 = chains[15], c80 = chains[16], c81 = chains[17];
        Vector512<float> cb0 = default, cb1 = default, one = Vector512.Create(1f);
        if (TPass.MakesDZ)
            (cb0, cb1) = (bias[0], bias[1]);
        int step = walk.PixelStep, shift = TRule.Shift, pixels = walk.Pixels;
        Vector512<int> pixelStep = Vector512.Create(filters);
        Plane dY = source.DY.AtFilter(f), other = source.Other.AtFilter(f);
        bool asks = TPass.Asks != AskedHalf.None && Sse.IsSupported;
        for (int r = band.Start; r < band.End; r++)
        {
            int i = r / walk.Rows, oh = r % walk.Rows;
            float* p = a + i * walk.ImageStride + oh * walk.RowStep;
            float* dYRow = dY.Row(i, oh >> shift), otherRow = other.Row(i, oh >> shift);
            int covered = oh < source.CoveredHeight ? source.CoveredWidth : 0;
            // The same row of the next band, whose lines this pass asks for; past the walk's last band, none (no pixel of
            // this row asks).
            int ahead = r + (band.End - band.Start), asking = asks && ahead < band.NextEnd ? covered : 0;
            float* askedDY = null, askedOther = null;
            if (asking > 0)
            {
                int aheadImage = ahead / walk.Rows, aheadRow = (ahead % walk.Rows) >> shift;
                askedDY = dY.Row(aheadImage, aheadRow);
                askedOther = other.Row(aheadImage, aheadRow);
            }
            // Each pixel's own position in its image's convolution output, filters f..f+16 (what argmax names if it won).
            Vector512<int> position = Vector512.Create(oh * outputWidth * filters + f) + Vector512<int>.Indices;
            Vector512<float>* dZ = bandDZ + 2 * (r - band.Start) * pixels;
            for (int ow = 0; ow < pixels; ow++, p += step, dZ += 2)
            {
                Vector512<float> b0, b1;
                if (TPass.MakesDZ) // kernel row 0: make the pixel's dZ and keep it for the band's other rows
                {
                    b0 = b1 = default; // +0 past the covered edge
                    if (ow < covered)
                    {
                        int column = ow >> shift;
                        TRule.Make(dYRow + column * filters, otherRow + TRule.OtherOffset(column, filters), position, out b0, out b1);
                    }
                    position += pixelStep;
                    dZ[0] = b0;
                    dZ[1] = b1;
                }
                else               // kernel rows 1 and 2: read it back (from L1), asking for the next band's rows meanwhile
                {
                    b0 = dZ[0];
                    b1 = dZ[1];
                    if (asks && ow < asking)
                        TRule.AskFor(askedDY, askedOther, ow, filters, secondHalf: TPass.Asks == AskedHalf.Second);
                }
                Vector512<float> ai = Vector512.Create(p[0]);
                c00 = Vector512.FusedMultiplyAdd(ai, b0, c00); c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
                ai = Vector512.Create(p[1]);
                c10 = Vector512.FusedMultiplyAdd(ai, b0, c10); c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
                ai = Vector512.Create(p[2]);
                c20 = Vector512.FusedMultiplyAdd(ai, b0, c20); c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
                ai = Vector512.Create(p[3]);
                c30 = Vector512.FusedMultiplyAdd(ai, b0, c30); c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
                ai = Vector512.Create(p[4]);
                c40 = Vector512.FusedMultiplyAdd(ai, b0, c40); c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
                ai = Vector512.Create(p[5]);
                c50 = Vector512.FusedMultiplyAdd(ai, b0, c50); c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
                ai = Vector512.Create(p[6]);
                c60 = Vector512.FusedMultiplyAdd(ai, b0, c60); c61 = Vector512.FusedMultiplyAdd(ai, b1, c61);
                ai = Vector512.Create(p[7]);
                c70 = Vector512.FusedMultiplyAdd(ai, b0, c70); c71 = Vector512.FusedMultiplyAdd(ai, b1, c71);
                ai = Vector512.Create(p[8]);
                c80 = Vector512.FusedMultiplyAdd(ai, b0, c80); c81 = Vector512.FusedMultiplyAdd(ai, b1, c81);
                if (TPass.MakesDZ) // fma(1, dZ, sum): the 1-row tile's chain over a constant 1
                {
                    cb0 = Vector512.FusedMultiplyAdd(one, b0, cb0); cb1 = Vector512.FusedMultiplyAdd(one, b1, cb1);
                }
            }
        }
        chains[0] = c00; chains[1] = c01; chains[2] = c10; chains[3] = c11; chains[4] = c20; chains[5] = c21;
        chains[6] = c30; chains[7] = c31; chains[8] = c40; chains[9] = c41; chains[10] = c50; chains[11] = c51;
        chains[12] = c60; chains[13] = c61; chains[14] = c70; chains[15] = c71; chains[16] = c80; chains[17] = c81;
        if (TPass.MakesDZ)
            (bias[0], bias[1]) = (cb0, cb1);
    }
}
