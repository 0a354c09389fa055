using NanoNet.Memory;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// One LSTM step for a band of batch rows with the cell in the GEMM's epilogue (AVX-512): z = x_t·W + h_{t−1}·R is
/// computed tile by tile, and each 8-row × 8-unit tile of z goes straight through the cell (bias, σ/tanh, c and h)
/// from a 1 KB tile in L1; the pre-activations never reach the gate buffer.
/// </summary>
/// <remarks>
/// <para>Shape legend: D = input features, U = units, rows = the band's batch rows (any number; the last row tile
/// may be partial). x_t is rows×D (row stride ldx), h_{t−1} is rows×U (row stride ldh). A <b>panel</b> covers the
/// 8 units 8b..8b+7 of all four gates: (D+U)×32 floats, row p = [i(8) f(8) g(8) o(8)] of W's row p (p &lt; D) or
/// R's row p − D (p ≥ D); the columns of units ≥ U are zero. The register tile is 8 rows × 32 columns (16
/// Vector512 accumulators), so one register row holds [z_i | z_f] and the other [z_g | z_o] of the same 8 units.</para>
/// <para>Why: the two-pass step (<see cref="LstmKernels"/>'s fallback) writes z_t (rows×4U) to memory with one
/// GEMM and reads it back in the cell pass, and training first writes the input projection of all steps (T·N×4U,
/// 13 MB at N = 32, T = 200) in one GEMM that the step re-reads. Here x_t·W and h_{t−1}·R run in one K = D+U
/// chain per tile, and the gate buffer is written once, with the activated gates backward needs.</para>
/// <para>The sums: each z element is one FMA chain from zero, p = 0..D−1 over x then p = 0..U−1 over h, then
/// + bias; the cell then uses the same formulas as <see cref="RecurrentCellMath"/> (σ(x) = 1/(1 + e^−x),
/// tanh(x) = 1 − 2/(e^2x + 1)), with the reciprocals (AVX-512) from a Newton-refined estimate (<see cref="Reciprocal"/>) instead
/// of a division, so within an ulp or two of the two-pass cell's (AVX2 divides). Both the training forward and the streamed inference call this same routine, so
/// they agree bit for bit; a row's result does not depend on its band, so neither does the thread count. The
/// two-pass path rounds x·W and h·R separately before adding them, so its bits differ (within rounding).</para>
/// <para>The register tile is the machine's: 8 rows × 32 with AVX-512 (<see cref="Tile8x32"/>, the cell tile by tile,
/// below), 3 rows × 32 in 12 Vector256 with AVX2 (<see cref="Tile3x32"/>, LstmFusedStep.Avx2.cs: the cell on 16 panels'
/// tiles at a time); the loops over row tiles and panels are the same (generic over <see cref="ITile"/>). Other machines
/// (SSE 6×8, ARM64 8×8) keep the two-pass path, chosen at run time by <see cref="Applies"/>.</para>
/// </remarks>
internal static unsafe partial class LstmFusedStep
{
    /// <summary>Units per panel (8) and the panel's width (4 gates × 8 = 32 floats = the AVX-512 tile's two Vector512, the
    /// AVX2 tile's four Vector256).</summary>
    public const int Units = 8, Width = 32;

    /// <summary>Rows of the machine's register tile: 8 with AVX-512 (<see cref="Tile8x32"/>), 3 with AVX2
    /// (<see cref="Tile3x32"/>).</summary>
    public static int Rows => Wide ? Tile8x32.Rows : Tile3x32.Rows;

    /// <summary>The AVX-512 tile (the GEMM's 16-lane kernel), or the AVX2 one.</summary>
    private static bool Wide => Gemm.BestKernel == GemmKernelKind.Vector512;

    /// <summary>A register tile of the step: its rows (× the panel's 32 columns), its K chains and its cell.</summary>
    private interface ITile
    {
        static abstract int Rows { get; }

        /// <summary>Panels whose tiles one <see cref="Cell"/> call takes (kept side by side, each Rows×32, in L1).</summary>
        static abstract int PanelsPerCell { get; }

        /// <summary>tile[Rows×32] = [x rows | h rows] · panel, one FMA chain per element from zero (or from
        /// <paramref name="start"/>'s rows), over x first, then h.</summary>
        static abstract void Multiply(int d, int u, float** xRow, float** hRow, float* b, float* tile, float** start);

        /// <summary>The cell on finished tiles (<see cref="CellTile.Panels"/> of them).</summary>
        static abstract void Cell(in CellTile cell, in Outputs o);
    }

    /// <summary>The AVX-512 tile: 8 rows × 32 columns in 16 Vector512 (<see cref="MultiplyTile"/>, <see cref="Cell"/>).</summary>
    private readonly struct Tile8x32 : ITile
    {
        public static int Rows => 8;
        public static int PanelsPerCell => 1;
        public static void Multiply(int d, int u, float** xRow, float** hRow, float* b, float* tile, float** start) =>
            MultiplyTile(d, u, xRow, hRow, b, tile, start);
        public static void Cell(in CellTile cell, in Outputs o) => LstmFusedStep.Cell(cell, o);
    }

    /// <summary>Off in tests that run the two-pass path on an AVX-512 machine.</summary>
    internal static bool Enabled = true;

    /// <summary>Off only in the <c>lstm-step-time</c> benchmark, to time a step's FMA chains without its cell (the
    /// outputs are then not written).</summary>
    internal static bool CellEnabled = true;

    /// <summary>Off only in the <c>lstm-step-time</c> benchmark, to time the cell alone: <see cref="StepProjected"/> then
    /// skips the tiles' FMA chains and runs the cell on whatever the tile holds (the outputs are then meaningless).</summary>
    internal static bool ChainsEnabled = true;

    /// <summary>
    /// Whether a batch of <paramref name="batch"/> sequences takes the fused step: the AVX-512 GEMM tile with the cell at
    /// its native 16 lanes, or the AVX2 one at 8 (tests narrowing <see cref="RecurrentCellMath.Lanes"/> get the two-pass
    /// path), and at least one whole row tile (below it most of the tile's FMAs would be padding). Depends only on the batch and the
    /// machine, so a training forward and a streamed inference of the same batch take the same path.
    /// </summary>
    public static bool Applies(int batch) =>
        Enabled && batch >= Rows && (Wide ? RecurrentCellMath.Lanes == 16 : Applies256);

    /// <summary>Panels for <paramref name="units"/> units: ⌈U/8⌉.</summary>
    public static int Panels(int units) => (units + Units - 1) / Units;

    /// <summary>
    /// W (D×4U) and R (U×4U) packed into panels (see the class remarks), and the bias in the same column order
    /// (32 floats per panel), into <paramref name="packed"/> and <paramref name="packedBias"/> (pinned, reused when large
    /// enough), each from its first cache line: the steps read them from <paramref name="packed"/> + the returned
    /// <c>Weights</c> index and <paramref name="packedBias"/> + <c>Bias</c>. With <paramref name="panelsLater"/> only the
    /// buffers and the bias are made here, and the caller packs the panels (<see cref="PackPanels"/>) on its workers.
    /// </summary>
    public static (int Weights, int Bias) Pack(ReadOnlySpan<float> w, ReadOnlySpan<float> r, ReadOnlySpan<float> bias, int d, int u,
        ref float[]? packed, ref float[]? packedBias, bool panelsLater = false)
    {
        int panels = Panels(u), k = d + u;
        long length = (long)panels * k * Width;
        // Pinned, the panels (and the bias) from their first cache line: each K step's two 512-bit loads of a panel row
        // then hit one line each (CacheLineAlignment).
        packed = CacheLineAlignment.Pinned(packed, length);
        packedBias = CacheLineAlignment.Pinned(packedBias, panels * Width);
        int start = CacheLineAlignment.Offset(packed), biasStart = CacheLineAlignment.Offset(packedBias);
        if (!panelsLater)
            fixed (float* pw = w, pr = r, pPacked = packed)
                PackPanels(pw, pr, d, u, pPacked + start, 0, panels);
        for (int b = 0; b < panels; b++)
        {
            int first = b * Units, count = Math.Min(Units, u - first);
            Span<float> biasRow = packedBias.AsSpan(biasStart + b * Width, Width);
            biasRow.Clear();
            for (int gate = 0; gate < 4; gate++)
                bias.Slice(gate * u + first, count).CopyTo(biasRow.Slice(gate * Units));
        }
        return (start, biasStart);
    }

    /// <summary>
    /// Panels [<paramref name="firstPanel"/>, <paramref name="endPanel"/>) of <see cref="Pack"/>: row p of panel b is
    /// [i f g o] of units 8b..8b+7 of W's row p (p &lt; D) or R's row p − D, at <paramref name="packed"/> + (b·(D+U) + p)·32.
    /// Each gate's 8 units move with one vector copy (a span copy per gate and row, 16,384 calls a forward at the IMDB
    /// shape, cost 0.15 ms of its step: benchmarks/README.md, twenty-ninth sitting).
    /// </summary>
    public static void PackPanels(float* w, float* r, int d, int u, float* packed, int firstPanel, int endPanel)
    {
        int k = d + u, g4 = 4 * u;
        for (int b = firstPanel; b < endPanel; b++)
        {
            int first = b * Units, count = Math.Min(Units, u - first);
            for (int p = 0; p < k; p++)
            {
                float* source = (p < d ? w + (long)p * g4 : r + (long)(p - d) * g4) + first;
                float* row = packed + ((long)b * k + p) * Width;
                for (int gate = 0; gate < 4; gate++)
                    CopyUnits(source + gate * u, row + gate * Units, count);
            }
        }
    }

    /// <summary>One gate's 8 units of a packed row: <paramref name="count"/> floats from <paramref name="source"/>, zeros after.</summary>
    private static void CopyUnits(float* source, float* target, int count)
    {
        if (count == Units)
        {
            Vector256.Store(Vector256.Load(source), target);
            return;
        }
        for (int j = 0; j < Units; j++)
            target[j] = j < count ? source[j] : 0f;
    }

    /// <summary>Where the cell of one band writes (row r of the band at base + r·stride); a null pointer is not written.</summary>
    public struct Outputs
    {
        /// <summary>The activated gates [i f g o] (4U per row, stride <see cref="GatesStride"/>), or null (inference).</summary>
        public float* Gates;
        public long GatesStride;
        /// <summary>c_{t−1} read, c_t written (U per row; the same pointer for an in-place update).</summary>
        public float* CellIn, CellOut;
        /// <summary>tanh(c_t) (U per row), or null.</summary>
        public float* TanhCell;
        /// <summary>h_t (U per row). Must not alias the h_{t−1} operand: other panels of the same rows still read it.</summary>
        public float* Hidden;
        /// <summary>The band's mask column (row r's value at r·<see cref="MaskStride"/>; 0 = skip the row), or null.</summary>
        public float* Mask;
        public long MaskStride;
    }

    /// <summary>A finished tile of z and where it sits: the input of <see cref="Cell"/>.</summary>
    private struct CellTile
    {
        /// <summary>The tiles' z (<see cref="Panels"/> tiles of Rows×32 side by side), their first band row, their real rows,
        /// their first panel and its bias (32 floats a panel).</summary>
        public float* Tile;
        public int Rt, Mr, B;
        /// <summary>The panels B..B+Panels−1 (1 for the AVX-512 tile, which runs the cell tile by tile).</summary>
        public int Panels;
        public float* Bias;
        /// <summary>U, and <see cref="StagingFloats"/> floats of staging for a partial panel.</summary>
        public int U;
        public float* Staging;
    }

    /// <summary>
    /// The step for <paramref name="rows"/> rows: per row tile (<see cref="Rows"/>) and panel of 8 units, the K = D+U
    /// product into registers, then the cell on that tile (or, with AVX2, on a group of panels' tiles). Skipped rows (mask 0) are not written at all.
    /// </summary>
    /// <remarks>Panels [<paramref name="firstPanel"/>, <paramref name="endPanel"/>) only when given (−1: to the last): a
    /// worker's share of a step split by units (RecurrentStepJob.UnitSplit.cs); each panel's tiles and cells are the same
    /// whichever panels share the call.</remarks>
    public static void Step(float* packed, float* packedBias, int d, int u, int rows, float* x, long ldx, float* h, long ldh,
        in Outputs o, int firstPanel = 0, int endPanel = -1)
    {
        if (Wide)
            Step<Tile8x32>(packed, packedBias, d, u, rows, x, ldx, h, ldh, o, firstPanel, endPanel);
        else
            Step<Tile3x32>(packed, packedBias, d, u, rows, x, ldx, h, ldh, o, firstPanel, endPanel);
    }

    private static void Step<TTile>(float* packed, float* packedBias, int d, int u, int rows, float* x, long ldx, float* h, long ldh,
        in Outputs o, int firstPanel, int endPanel) where TTile : struct, ITile
    {
        int Rows = TTile.Rows, group = TTile.PanelsPerCell;
        float* tileStorage = stackalloc float[group * Rows * Width + CacheLineAlignment.SlackFloats];
        float* staging = stackalloc float[StagingFloats];
        float** xRow = stackalloc float*[Rows];
        float** hRow = stackalloc float*[Rows];
        int panels = endPanel < 0 ? Panels(u) : endPanel, k = d + u;
        // The tile's rows are read as Vector512: from a cache line.
        var cell = new CellTile { Tile = CacheLineAlignment.Align(tileStorage), U = u, Staging = staging };
        for (int rt = 0; rt < rows; rt += Rows)
        {
            int mr = Math.Min(Rows, rows - rt);
            // A partial row tile repeats its first row in the missing ones (valid memory; their results are dropped).
            for (int i = 0; i < Rows; i++)
            {
                int row = rt + (i < mr ? i : 0);
                xRow[i] = x + row * ldx;
                hRow[i] = h + row * ldh;
            }
            for (int b0 = firstPanel; b0 < panels; b0 += group)
            {
                int count = Math.Min(group, panels - b0);
                for (int b = b0; b < b0 + count; b++)
                    TTile.Multiply(d, u, xRow, hRow, packed + (long)b * k * Width, cell.Tile + (b - b0) * Rows * Width, null);
                cell.Bias = packedBias + b0 * Width;
                (cell.Rt, cell.Mr, cell.B, cell.Panels) = (rt, mr, b0, count);
                if (CellEnabled)
                    TTile.Cell(cell, o);
            }
        }
    }

    /// <summary>
    /// The step for <paramref name="rows"/> rows whose inputs are embedded ids: x_t·W of each row is already in
    /// <paramref name="projected"/> (row <c>slots[r·slotStride]</c>, made by <see cref="Project"/>), so each tile's
    /// chain starts from it and runs over h only. The same bits as <see cref="Step"/> on the embedded rows: the
    /// projected row is the chain's value after its x part, stored as it was.
    /// </summary>
    /// <remarks>Panels [<paramref name="firstPanel"/>, <paramref name="endPanel"/>) only when given, as <see cref="Step"/>.</remarks>
    public static void StepProjected(float* packed, float* packedBias, int d, int u, int rows, float* projected, int* slots,
        long slotStride, float* h, long ldh, in Outputs o, int firstPanel = 0, int endPanel = -1)
    {
        if (Wide)
            StepProjected<Tile8x32>(packed, packedBias, d, u, rows, projected, slots, slotStride, h, ldh, o, firstPanel, endPanel);
        else
            StepProjected<Tile3x32>(packed, packedBias, d, u, rows, projected, slots, slotStride, h, ldh, o, firstPanel, endPanel);
    }

    private static void StepProjected<TTile>(float* packed, float* packedBias, int d, int u, int rows, float* projected, int* slots,
        long slotStride, float* h, long ldh, in Outputs o, int firstPanel, int endPanel) where TTile : struct, ITile
    {
        int Rows = TTile.Rows, group = TTile.PanelsPerCell;
        float* tileStorage = stackalloc float[group * Rows * Width + CacheLineAlignment.SlackFloats];
        float* staging = stackalloc float[StagingFloats];
        float** start = stackalloc float*[Rows];
        float** startOfRow = stackalloc float*[Rows];
        float** hRow = stackalloc float*[Rows];
        int panels = endPanel < 0 ? Panels(u) : endPanel, k = d + u;
        // The tile's rows are read as Vector512: from a cache line.
        var cell = new CellTile { Tile = CacheLineAlignment.Align(tileStorage), U = u, Staging = staging };
        long projectedRow = (long)Panels(u) * Width;
        for (int rt = 0; rt < rows; rt += Rows)
        {
            int mr = Math.Min(Rows, rows - rt);
            for (int i = 0; i < Rows; i++)
            {
                int row = rt + (i < mr ? i : 0);
                startOfRow[i] = projected + slots[row * slotStride] * projectedRow;
                hRow[i] = h + row * ldh;
            }
            // The next tile's projected rows are scattered over the table: fetch them while this tile computes.
            for (int i = rt + Rows; i < Math.Min(rows, rt + 2 * Rows); i++)
            {
                byte* line = (byte*)(projected + slots[i * slotStride] * projectedRow);
                for (long offset = 0; offset < projectedRow * sizeof(float); offset += 64)
                    Sse.Prefetch1(line + offset);
            }
            for (int b0 = firstPanel; b0 < panels; b0 += group)
            {
                int count = Math.Min(group, panels - b0);
                for (int b = b0; b < b0 + count && ChainsEnabled; b++)
                {
                    for (int i = 0; i < Rows; i++)
                        start[i] = startOfRow[i] + b * Width;
                    TTile.Multiply(0, u, null, hRow, packed + ((long)b * k + d) * Width, cell.Tile + (b - b0) * Rows * Width, start);
                }
                cell.Bias = packedBias + b0 * Width;
                (cell.Rt, cell.Mr, cell.B, cell.Panels) = (rt, mr, b0, count);
                if (CellEnabled)
                    TTile.Cell(cell, o);
            }
        }
    }

    /// <summary>
    /// x·W for <paramref name="count"/> embedding rows (row j at table + ids[j]·D, or at table + j·D when
    /// <paramref name="ids"/> is null: rows already gathered), into <paramref name="projected"/>: row j holds, per
    /// panel, the 32 chains of <see cref="Step"/>'s x part (bias not added; the cell adds it). Each chain is the one
    /// <see cref="Step"/> runs, so the values are bit for bit its own.
    /// </summary>
    public static void Project(float* packed, int d, int u, float* table, int* ids, int count, float* projected)
    {
        if (Wide)
            Project<Tile8x32>(packed, d, u, table, ids, count, projected);
        else
            Project<Tile3x32>(packed, d, u, table, ids, count, projected);
    }

    private static void Project<TTile>(float* packed, int d, int u, float* table, int* ids, int count, float* projected)
        where TTile : struct, ITile
    {
        int Rows = TTile.Rows;
        float* tileStorage = stackalloc float[Rows * Width + CacheLineAlignment.SlackFloats];
        float* tile = CacheLineAlignment.Align(tileStorage); // its rows read as Vector512: from a cache line
        float** xRow = stackalloc float*[Rows];
        int panels = Panels(u), k = d + u;
        long projectedRow = (long)panels * Width;
        for (int first = 0; first < count; first += Rows)
        {
            int m = Math.Min(Rows, count - first);
            for (int i = 0; i < Rows; i++)
            {
                int j = first + (i < m ? i : 0);
                xRow[i] = table + (long)(ids == null ? j : ids[j]) * d;
            }
            for (int b = 0; b < panels; b++)
            {
                TTile.Multiply(d, 0, xRow, null, packed + (long)b * k * Width, tile, null);
                for (int i = 0; i < m; i++)
                    Buffer.MemoryCopy(tile + i * Width, projected + (first + i) * projectedRow + b * Width, Width * sizeof(float), Width * sizeof(float));
            }
        }
    }

    /// <summary>
    /// tile[8×32] = [x rows | h rows] (8×(D+U)) · panel ((D+U)×32): 16 accumulators, one FMA chain per element from
    /// zero (or from <paramref name="start"/>'s rows, 32 floats each, when given), over x first, then h. A is read in
    /// place, one broadcast per row and p (as <see cref="GemmMicroKernels.Kernel8x32DirectA"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyTile(int d, int u, float** xRow, float** hRow, float* b, float* tile, float** start)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        if (start != null)
        {
            c00 = Vector512.Load(start[0]); c01 = Vector512.Load(start[0] + 16);
            c10 = Vector512.Load(start[1]); c11 = Vector512.Load(start[1] + 16);
            c20 = Vector512.Load(start[2]); c21 = Vector512.Load(start[2] + 16);
            c30 = Vector512.Load(start[3]); c31 = Vector512.Load(start[3] + 16);
            c40 = Vector512.Load(start[4]); c41 = Vector512.Load(start[4] + 16);
            c50 = Vector512.Load(start[5]); c51 = Vector512.Load(start[5] + 16);
            c60 = Vector512.Load(start[6]); c61 = Vector512.Load(start[6] + 16);
            c70 = Vector512.Load(start[7]); c71 = Vector512.Load(start[7] + 16);
        }
        for (int part = 0; part < 2; part++)
        {
            float** rows = part == 0 ? xRow : hRow;
            int kc = part == 0 ? d : u;
            if (kc == 0)
                continue;
            float* a0 = rows[0], a1 = rows[1], a2 = rows[2], a3 = rows[3], a4 = rows[4], a5 = rows[5], a6 = rows[6], a7 = rows[7];
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
        }
        c00.Store(tile); c01.Store(tile + 16);
        c10.Store(tile + 32); c11.Store(tile + 48);
        c20.Store(tile + 64); c21.Store(tile + 80);
        c30.Store(tile + 96); c31.Store(tile + 112);
        c40.Store(tile + 128); c41.Store(tile + 144);
        c50.Store(tile + 160); c51.Store(tile + 176);
        c60.Store(tile + 192); c61.Store(tile + 208);
        c70.Store(tile + 224); c71.Store(tile + 240);
    }

    /// <summary>
    /// The cell on one finished tile (<see cref="CellTile"/>): rows Rt..Rt+Mr−1 of the band, units 8B..8B+7 (fewer in the
    /// last panel when U is not a multiple of 8: <see cref="PartialPanelCell{TTile}"/>), as four pairs of rows, each gate of a
    /// pair one 16-lane vector (row 2p's 8 units low, row 2p + 1's high: <see cref="RowPair"/>), so every step is one
    /// full-width instruction and a lane meets only its own unit's values:
    /// <list type="number">
    /// <item>the gates: i, f and o = σ(z) = 1/(1 + e^−z), g = tanh(z) = 1 − 2/(e^2z + 1) (the formulas of
    /// <see cref="RecurrentCellMath"/>);</item>
    /// <item>c_t = f⊙c_{t−1} + i⊙g, tanh(c_t) = 1 − 2/(e^2c + 1), and h_t = o⊙tanh(c_t);</item>
    /// <item>the stores of each real row that is not skipped.</item>
    /// </list>
    /// </summary>
    /// <remarks>
    /// <para>The twenty exps (16 gates, 4 tanh(c_t)) are the cell's cost: each a chain of ~16 dependent instructions. Run
    /// pair after pair, the core's scheduler held the chains of only four or five exps at once, too few to keep its two
    /// 512-bit ports busy (~1.2 instructions a cycle); here they run in three rounds — pairs 0 and 1's gates (8 chains),
    /// pairs 2 and 3's gates with pairs 0 and 1's tanh(c_t) (10), pairs 2 and 3's tanh(c_t) (2) — each stage of the
    /// exp on every chain of the round before the next stage (<see cref="OneOverExpPlusOne(int, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float}, ref Vector512{float})"/>). Each vector gets the same
    /// instructions in the same order as before, so the same bits. Measured on Emerald Rapids (`lstm-step-time`, builds
    /// alternated): the cell alone 9.2–9.5 → 7.5–7.7 µs a step of the IMDB model, the hot step 28.8–29.8 → 26.6–27.2 µs;
    /// the model's LSTM forward 2–5% faster (benchmarks/README.md, §8, fortieth sitting).</para>
    /// <para>Each pair stays in registers from the tile's z to the stores. Run between stretches of the next tile's FMAs,
    /// the cell was slower (twentieth and thirty-third sittings). Not inlined: inside the step's loops the JIT spilled its
    /// vectors to the stack (a step 28 → 32 µs).</para>
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void Cell(in CellTile cell, in Outputs o)
    {
        if (cell.U - cell.B * Units < Units)
        {
            PartialPanelCell<Tile8x32>(cell, o);
            return;
        }
        float* tile = cell.Tile;
        var bias = new ArgumentBias(cell.Bias);
        Vector512<float> a0, a1, a2, a3, a4, a5, a6, a7, a8 = default, a9 = default;

        // Round 1: pairs 0 and 1's gates (8 chains).
        GateArguments(tile, 0, bias, out a0, out a1, out a2, out a3);
        GateArguments(tile, 1, bias, out a4, out a5, out a6, out a7);
        OneOverExpPlusOne(8, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref a8, ref a9);
        Vector512<float> i0 = a0, f0 = a1, g0 = OneMinusTwice(a2), o0 = a3, i1 = a4, f1 = a5, g1 = OneMinusTwice(a6), o1 = a7;
        Vector512<float> c0 = f0 * CellIn(cell, o, 0) + i0 * g0, c1 = f1 * CellIn(cell, o, 1) + i1 * g1;
        StoreGates(cell, o, 0, i0, f0, g0, o0);
        StoreGates(cell, o, 1, i1, f1, g1, o1);

        // Round 2: pairs 2 and 3's gates, pairs 0 and 1's tanh(c_t) (10 chains).
        GateArguments(tile, 2, bias, out a0, out a1, out a2, out a3);
        GateArguments(tile, 3, bias, out a4, out a5, out a6, out a7);
        (a8, a9) = (c0 + c0, c1 + c1);
        OneOverExpPlusOne(10, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref a8, ref a9);
        Vector512<float> tanh0 = OneMinusTwice(a8), tanh1 = OneMinusTwice(a9);
        StoreState(cell, o, 0, c0, tanh0, o0 * tanh0);
        StoreState(cell, o, 1, c1, tanh1, o1 * tanh1);
        Vector512<float> i2 = a0, f2 = a1, g2 = OneMinusTwice(a2), o2 = a3, i3 = a4, f3 = a5, g3 = OneMinusTwice(a6), o3 = a7;
        Vector512<float> c2 = f2 * CellIn(cell, o, 2) + i2 * g2, c3 = f3 * CellIn(cell, o, 3) + i3 * g3;
        StoreGates(cell, o, 2, i2, f2, g2, o2);
        StoreGates(cell, o, 3, i3, f3, g3, o3);

        // Round 3: pairs 2 and 3's tanh(c_t) (2 chains; the core runs them beside the next tile's FMAs).
        (a0, a1) = (c2 + c2, c3 + c3);
        OneOverExpPlusOne(2, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref a8, ref a9);
        Vector512<float> tanh2 = OneMinusTwice(a0), tanh3 = OneMinusTwice(a1);
        StoreState(cell, o, 2, c2, tanh2, o2 * tanh2);
        StoreState(cell, o, 3, c3, tanh3, o3 * tanh3);
    }

    /// <summary>The exps' arguments for pair <paramref name="pair"/> (tile rows 2·pair and 2·pair + 1): −z_i, −z_f, 2·z_g,
    /// −z_o, each z with its bias b, so that 1/(e^a + 1) is σ(z_i), σ(z_f), (1 − tanh z_g)/2, σ(z_o). Given −b and 2b
    /// (<see cref="ArgumentBias"/>), each is one instruction: −b − z is −(z + b) exactly rounded (rounding is symmetric),
    /// and fma(z, 2, 2b) is 2·(z + b) rounded once, which doubling the rounded sum equals: the bits of 0 − (z + b) and
    /// (z + b) + (z + b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GateArguments(float* tile, int pair, in ArgumentBias bias,
        out Vector512<float> ai, out Vector512<float> af, out Vector512<float> ag, out Vector512<float> ao)
    {
        float* z0 = tile + 2 * pair * Width, z1 = z0 + Width;
        ai = bias.NegatedI - RowPair(z0, z1, 0);
        af = bias.NegatedF - RowPair(z0, z1, 1);
        ag = Vector512.FusedMultiplyAdd(RowPair(z0, z1, 2), Vector512.Create(2f), bias.DoubledG);
        ao = bias.NegatedO - RowPair(z0, z1, 3);
    }

    /// <summary>A panel's bias as <see cref="GateArguments"/> adds it: −b for i, f and o, 2b for g, each gate's 8 units in
    /// both halves (both rows of a pair).</summary>
    private readonly struct ArgumentBias
    {
        public readonly Vector512<float> NegatedI, NegatedF, DoubledG, NegatedO;

        public ArgumentBias(float* bias)
        {
            NegatedI = Vector512<float>.Zero - Vector512.Create(Vector256.Load(bias));
            NegatedF = Vector512<float>.Zero - Vector512.Create(Vector256.Load(bias + Units));
            Vector512<float> g = Vector512.Create(Vector256.Load(bias + 2 * Units));
            DoubledG = g + g;
            NegatedO = Vector512<float>.Zero - Vector512.Create(Vector256.Load(bias + 3 * Units));
        }
    }

    /// <summary>1 − 2r in one instruction: 2r is exact, so fma(−2, r, 1) rounds what 1 − 2·r rounds (the g gate and tanh(c_t)
    /// from 1/(e^2x + 1)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> OneMinusTwice(Vector512<float> r) =>
        Vector512.FusedMultiplyAdd(Vector512.Create(-2f), r, Vector512.Create(1f));

    /// <summary>c_{t−1} of pair <paramref name="pair"/>'s two rows (a row past the tile's real ones reads its last real
    /// row: valid memory, a result not stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> CellIn(in CellTile cell, in Outputs o, int pair)
    {
        long row0 = cell.Rt + Math.Min(2 * pair, cell.Mr - 1), row1 = cell.Rt + Math.Min(2 * pair + 1, cell.Mr - 1);
        int first = cell.B * Units;
        return Vector512.Create(Vector256.Load(o.CellIn + row0 * cell.U + first), Vector256.Load(o.CellIn + row1 * cell.U + first));
    }

    /// <summary>Pair <paramref name="pair"/>'s activated gates [i f g o], each of its real rows that is not skipped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreGates(in CellTile cell, in Outputs o, int pair, Vector512<float> i, Vector512<float> f, Vector512<float> g,
        Vector512<float> og)
    {
        if (o.Gates == null)
            return;
        if (Stores(cell, o, 2 * pair))
            StoreGates(o, cell.Rt + 2 * pair, cell.U, cell.B * Units, i.GetLower(), f.GetLower(), g.GetLower(), og.GetLower());
        if (Stores(cell, o, 2 * pair + 1))
            StoreGates(o, cell.Rt + 2 * pair + 1, cell.U, cell.B * Units, i.GetUpper(), f.GetUpper(), g.GetUpper(), og.GetUpper());
    }

    /// <summary>Pair <paramref name="pair"/>'s c_t, tanh(c_t) and h_t, each of its real rows that is not skipped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreState(in CellTile cell, in Outputs o, int pair, Vector512<float> c, Vector512<float> tanhC, Vector512<float> h)
    {
        if (Stores(cell, o, 2 * pair))
            StoreState(o, cell.Rt + 2 * pair, cell.U, cell.B * Units, c.GetLower(), tanhC.GetLower(), h.GetLower());
        if (Stores(cell, o, 2 * pair + 1))
            StoreState(o, cell.Rt + 2 * pair + 1, cell.U, cell.B * Units, c.GetUpper(), tanhC.GetUpper(), h.GetUpper());
    }

    /// <summary>Whether tile row <paramref name="i"/> is written: one of the tile's real rows, not skipped by the mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Stores(in CellTile cell, in Outputs o, int i) => i < cell.Mr && !Skipped(o, cell.Rt + i);

    /// <summary>Floats of a partial panel's staging: up to 8 rows × (c_{t−1}, c_t, tanh(c_t), h_t: 8 each; the gates: 32).</summary>
    private const int StagingFloats = MostRows * (4 * Units + Width);

    /// <summary>The most rows of any tile (the AVX-512 one's 8).</summary>
    private const int MostRows = 8;

    /// <summary>
    /// The cell in the last panel of a U that is not a multiple of 8: the same cell on a staging block — c_{t−1} copied in
    /// zero-padded, the outputs of a full 8-unit panel made there, only the real units copied out — so the lanes and the
    /// bits are the full panels' own.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PartialPanelCell<TTile>(in CellTile cell, in Outputs o) where TTile : struct, ITile
    {
        int u = cell.U, first = cell.B * Units, count = u - first, rows = TTile.Rows;
        float* staging = cell.Staging;
        const int Block = MostRows * Units;
        var staged = new Outputs
        {
            CellIn = staging, CellOut = staging + Block, TanhCell = o.TanhCell == null ? null : staging + 2 * Block, Hidden = staging + 3 * Block,
            Gates = o.Gates == null ? null : staging + 4 * Block, GatesStride = Width,
        };
        for (int k = 0; k < rows; k++)
            for (int j = 0; j < Units; j++)
                staging[k * Units + j] = k < cell.Mr && j < count ? o.CellIn[(cell.Rt + k) * u + first + j] : 0f;
        var stagedCell = cell;
        (stagedCell.Rt, stagedCell.U, stagedCell.B, stagedCell.Panels) = (0, Units, 0, 1);
        TTile.Cell(stagedCell, staged);
        for (int k = 0; k < cell.Mr; k++)
        {
            long row = cell.Rt + k;
            if (Skipped(o, row))
                continue;
            for (int j = 0; j < count; j++)
            {
                if (o.Gates != null)
                    for (int gate = 0; gate < 4; gate++)
                        o.Gates[row * o.GatesStride + first + gate * u + j] = staged.Gates[k * Width + gate * Units + j];
                o.CellOut[row * u + first + j] = staged.CellOut[k * Units + j];
                if (o.TanhCell != null)
                    o.TanhCell[row * u + first + j] = staged.TanhCell[k * Units + j];
                o.Hidden[row * u + first + j] = staged.Hidden[k * Units + j];
            }
        }
    }

    /// <summary>a_k = 1/(e^a_k + 1) for the first <paramref name="chains"/> of ten vectors (a constant at every call: the JIT
    /// drops the other vectors' lines), each stage of <see cref="FloatExp.Exp(Vector512{float})"/> (clamp, power of two, remainder,
    /// polynomial, then the scaling with the reciprocal) on all of them before the next stage, so the scheduler holds a
    /// few instructions of every chain instead of the whole of a few (<see cref="Cell"/>). The same instructions per vector
    /// as <c>Reciprocal(FloatExp.Exp(a) + 1)</c>: the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OneOverExpPlusOne(int chains, ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2,
        ref Vector512<float> a3, ref Vector512<float> a4, ref Vector512<float> a5, ref Vector512<float> a6, ref Vector512<float> a7,
        ref Vector512<float> a8, ref Vector512<float> a9)
    {
        Vector512<float> x0 = a0, x1 = a1, x2 = a2, x3 = a3, x4 = a4, x5 = a5, x6 = a6, x7 = a7, x8 = a8, x9 = a9;
        Vector512<float> n0 = default, n1 = default, n2 = default, n3 = default, n4 = default, n5 = default, n6 = default, n7 = default, n8 = default, n9 = default;
        x0 = FloatExp.Clamped(x0);
        x1 = FloatExp.Clamped(x1);
        if (chains > 2) x2 = FloatExp.Clamped(x2);
        if (chains > 3) x3 = FloatExp.Clamped(x3);
        if (chains > 4) x4 = FloatExp.Clamped(x4);
        if (chains > 5) x5 = FloatExp.Clamped(x5);
        if (chains > 6) x6 = FloatExp.Clamped(x6);
        if (chains > 7) x7 = FloatExp.Clamped(x7);
        if (chains > 8) x8 = FloatExp.Clamped(x8);
        if (chains > 9) x9 = FloatExp.Clamped(x9);
        n0 = FloatExp.PowerOfTwo(x0);
        n1 = FloatExp.PowerOfTwo(x1);
        if (chains > 2) n2 = FloatExp.PowerOfTwo(x2);
        if (chains > 3) n3 = FloatExp.PowerOfTwo(x3);
        if (chains > 4) n4 = FloatExp.PowerOfTwo(x4);
        if (chains > 5) n5 = FloatExp.PowerOfTwo(x5);
        if (chains > 6) n6 = FloatExp.PowerOfTwo(x6);
        if (chains > 7) n7 = FloatExp.PowerOfTwo(x7);
        if (chains > 8) n8 = FloatExp.PowerOfTwo(x8);
        if (chains > 9) n9 = FloatExp.PowerOfTwo(x9);
        x0 = FloatExp.Remainder(x0, n0);
        x1 = FloatExp.Remainder(x1, n1);
        if (chains > 2) x2 = FloatExp.Remainder(x2, n2);
        if (chains > 3) x3 = FloatExp.Remainder(x3, n3);
        if (chains > 4) x4 = FloatExp.Remainder(x4, n4);
        if (chains > 5) x5 = FloatExp.Remainder(x5, n5);
        if (chains > 6) x6 = FloatExp.Remainder(x6, n6);
        if (chains > 7) x7 = FloatExp.Remainder(x7, n7);
        if (chains > 8) x8 = FloatExp.Remainder(x8, n8);
        if (chains > 9) x9 = FloatExp.Remainder(x9, n9);
        x0 = FloatExp.Polynomial(x0);
        x1 = FloatExp.Polynomial(x1);
        if (chains > 2) x2 = FloatExp.Polynomial(x2);
        if (chains > 3) x3 = FloatExp.Polynomial(x3);
        if (chains > 4) x4 = FloatExp.Polynomial(x4);
        if (chains > 5) x5 = FloatExp.Polynomial(x5);
        if (chains > 6) x6 = FloatExp.Polynomial(x6);
        if (chains > 7) x7 = FloatExp.Polynomial(x7);
        if (chains > 8) x8 = FloatExp.Polynomial(x8);
        if (chains > 9) x9 = FloatExp.Polynomial(x9);
        Vector512<float> one = Vector512.Create(1f);
        a0 = Reciprocal(FloatExp.Scaled(x0, n0) + one);
        a1 = Reciprocal(FloatExp.Scaled(x1, n1) + one);
        if (chains > 2) a2 = Reciprocal(FloatExp.Scaled(x2, n2) + one);
        if (chains > 3) a3 = Reciprocal(FloatExp.Scaled(x3, n3) + one);
        if (chains > 4) a4 = Reciprocal(FloatExp.Scaled(x4, n4) + one);
        if (chains > 5) a5 = Reciprocal(FloatExp.Scaled(x5, n5) + one);
        if (chains > 6) a6 = Reciprocal(FloatExp.Scaled(x6, n6) + one);
        if (chains > 7) a7 = Reciprocal(FloatExp.Scaled(x7, n7) + one);
        if (chains > 8) a8 = Reciprocal(FloatExp.Scaled(x8, n8) + one);
        if (chains > 9) a9 = Reciprocal(FloatExp.Scaled(x9, n9) + one);
    }

    /// <summary>Gate <paramref name="gate"/>'s 8 units of two tile rows as one vector: <paramref name="z0"/>'s low,
    /// <paramref name="z1"/>'s high.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RowPair(float* z0, float* z1, int gate) =>
        Vector512.Create(Vector256.Load(z0 + gate * Units), Vector256.Load(z1 + gate * Units));

    /// <summary>A row's activated gates [i f g o] (o.Gates not null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreGates(in Outputs o, long row, int u, int first, Vector256<float> gateI, Vector256<float> gateF,
        Vector256<float> gateG, Vector256<float> gateO)
    {
        float* gates = o.Gates + row * o.GatesStride + first;
        gateI.Store(gates);
        gateF.Store(gates + u);
        gateG.Store(gates + 2 * u);
        gateO.Store(gates + 3 * u);
    }

    /// <summary>A row's c_t, tanh(c_t) (when kept) and h_t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreState(in Outputs o, long row, int u, int first, Vector256<float> c, Vector256<float> tanhC, Vector256<float> h)
    {
        c.Store(o.CellOut + row * u + first);
        if (o.TanhCell != null)
            tanhC.Store(o.TanhCell + row * u + first);
        h.Store(o.Hidden + row * u + first);
    }

    /// <summary>
    /// 1/x for the cell's divisions (x ≥ 1 here: 1 + e^…, e^… clamped finite): AVX-512's 14-bit estimate and one Newton
    /// step, r' = r + r·(1 − x·r), within about an ulp of the quotient. A 512-bit division occupies Intel's divider for
    /// ~16 cycles (20 of them per tile); the estimate pipelines. Measured: the IMDB training step 3% faster on Emerald
    /// Rapids (benchmarks/README.md, tenth sitting), no change on Zen 4, whose divider is faster.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Reciprocal(Vector512<float> x)
    {
        Vector512<float> r = Avx512F.Reciprocal14(x);
        return Vector512.FusedMultiplyAdd(r, Avx512F.FusedMultiplyAddNegated(x, r, Vector512.Create(1f)), r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Skipped(in Outputs o, long row) => o.Mask != null && o.Mask[row * o.MaskStride] == 0f;
}
