using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The fused LSTM step's AVX2 tile (machines with AVX2 + FMA and no AVX-512): 3 rows × the panel's 32 columns in 12
/// Vector256 accumulators, each register one gate of 8 units of one row, so the cell runs on whole registers.
/// </summary>
/// <remarks>
/// <para>Shape legend: as <see cref="LstmFusedStep"/> — a panel row p is [i(8) f(8) g(8) o(8)] of units 8b..8b+7; the
/// tile is rows rt..rt+2 × that panel, c_jg = tile row j, gate g (8 lanes = 8 units).</para>
/// <para>Why 3 × 32: the cell needs all four gates of a unit in one place, and an 8-unit panel is 32 columns = four
/// Vector256. With AVX2's 16 registers, 3 rows of 4 accumulators (12) leave 3 for the rows' broadcasts and one for the
/// panel's vector: per p, 3 broadcasts and 4 loads feed 12 FMAs (6 cycles at two FMAs a cycle). The cell runs on 16
/// panels' tiles at a time (6 KB, in L1), two passes of independent iterations (<see cref="Tile3x32.Cell"/>).</para>
/// <para>Measured on a Zen 3 core (<c>lstm-step-time</c>, the IMDB step: 32 rows, U = 128, x·W projected): the
/// products 48–50 µs a step (83–87% of the FMA floor; the two-pass step's 32×512×128 GEMM ran at about half of it), the
/// cell 14.8 µs (21.5 run tile by tile, one row's five exps after another); the model's LSTM forward 18.0 → 16.2 ms,
/// imdb-train 1 thread 48.4 → 46.5 ms (benchmarks/README.md, forty-third sitting).</para>
/// <para>The sums: every z element is the chain <see cref="LstmFusedStep"/>'s AVX-512 tile runs (from zero over x, then
/// h, then + bias), so z has the same bits on both widths; the cell's reciprocals are divisions here (AVX2 has only a
/// 12-bit estimate, and the estimate with two Newton steps was slower: 15.1 → 17.1 µs a step), so the gates and states
/// are the correctly rounded formulas of <see cref="RecurrentCellMath"/>.</para>
/// </remarks>
internal static unsafe partial class LstmFusedStep
{
    /// <summary>The AVX2 tile runs the step: the GEMM's 8-lane kernel is the machine's, FMA is there, and the cell math
    /// runs at its native 8 lanes (tests narrowing <see cref="RecurrentCellMath.Lanes"/> get the two-pass path).</summary>
    private static bool Applies256 =>
        Gemm.BestKernel == GemmKernelKind.Vector256 && Fma.IsSupported && Avx2.IsSupported && RecurrentCellMath.Lanes == 8;

    /// <summary>The AVX2 tile: 3 rows × 32 columns, 12 Vector256 accumulators (see the file's remarks).</summary>
    private readonly struct Tile3x32 : ITile
    {
        public static int Rows => 3;

        /// <summary>tile[3×32] = [x rows | h rows] · panel: one FMA chain per element from zero (or from
        /// <paramref name="start"/>'s rows), over x first, then h; A read in place, one broadcast per row and p.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Multiply(int d, int u, float** xRow, float** hRow, float* b, float* tile, float** start)
        {
            Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
            Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
            Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
            if (start != null)
            {
                (c00, c01, c02, c03) = (Vector256.Load(start[0]), Vector256.Load(start[0] + 8), Vector256.Load(start[0] + 16), Vector256.Load(start[0] + 24));
                (c10, c11, c12, c13) = (Vector256.Load(start[1]), Vector256.Load(start[1] + 8), Vector256.Load(start[1] + 16), Vector256.Load(start[1] + 24));
                (c20, c21, c22, c23) = (Vector256.Load(start[2]), Vector256.Load(start[2] + 8), Vector256.Load(start[2] + 16), Vector256.Load(start[2] + 24));
            }
            for (int part = 0; part < 2; part++)
            {
                float** rows = part == 0 ? xRow : hRow;
                int kc = part == 0 ? d : u;
                if (kc == 0)
                    continue;
                float* a0 = rows[0], a1 = rows[1], a2 = rows[2];
                for (int p = 0; p < kc; p++)
                {
                    Vector256<float> x0 = Vector256.Create(a0[p]), x1 = Vector256.Create(a1[p]), x2 = Vector256.Create(a2[p]);
                    Vector256<float> bj = Vector256.Load(b);
                    c00 = Vector256.FusedMultiplyAdd(x0, bj, c00); c10 = Vector256.FusedMultiplyAdd(x1, bj, c10); c20 = Vector256.FusedMultiplyAdd(x2, bj, c20);
                    bj = Vector256.Load(b + 8);
                    c01 = Vector256.FusedMultiplyAdd(x0, bj, c01); c11 = Vector256.FusedMultiplyAdd(x1, bj, c11); c21 = Vector256.FusedMultiplyAdd(x2, bj, c21);
                    bj = Vector256.Load(b + 16);
                    c02 = Vector256.FusedMultiplyAdd(x0, bj, c02); c12 = Vector256.FusedMultiplyAdd(x1, bj, c12); c22 = Vector256.FusedMultiplyAdd(x2, bj, c22);
                    bj = Vector256.Load(b + 24);
                    c03 = Vector256.FusedMultiplyAdd(x0, bj, c03); c13 = Vector256.FusedMultiplyAdd(x1, bj, c13); c23 = Vector256.FusedMultiplyAdd(x2, bj, c23);
                    b += Width;
                }
            }
            c00.Store(tile); c01.Store(tile + 8); c02.Store(tile + 16); c03.Store(tile + 24);
            c10.Store(tile + 32); c11.Store(tile + 40); c12.Store(tile + 48); c13.Store(tile + 56);
            c20.Store(tile + 64); c21.Store(tile + 72); c22.Store(tile + 80); c23.Store(tile + 88);
        }

        /// <summary>Panels a cell call takes: their tiles (3 rows × 32 floats each, 6 KB for 16) stay in L1 between the
        /// products and the cell.</summary>
        public static int PanelsPerCell => 16;

        /// <summary>
        /// The cell on a group of finished tiles (<see cref="CellTile.Panels"/> panels of the same 3 rows), in two passes
        /// over them while they sit in L1, each a loop of independent iterations the core overlaps (one tile's cell at a
        /// time, its five exps a row one chain after another, waited on their latency: 22 µs of the IMDB step's 72):
        /// <list type="number">
        /// <item><see cref="ActivateGates"/>: per row and panel, the exps' arguments −(z_i + b_i), −(z_f + b_f),
        /// 2(z_g + b_g), −(z_o + b_o) and 1/(e^a + 1) of the four, which is σ for i, f and o and (1 − tanh)/2 for g; the
        /// activated gates replace z in the tile.</item>
        /// <item><see cref="UpdateState"/>: c_t = f⊙c_{t−1} + i⊙g, tanh(c_t) = 1 − 2/(e^2c + 1), h_t = o⊙tanh(c_t), and the
        /// stores of each real row that is not skipped.</item>
        /// </list>
        /// A last panel of a U that is not a multiple of 8 goes through <see cref="PartialPanelCell{TTile}"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void Cell(in CellTile cell, in Outputs o)
        {
            int full = cell.Panels;
            if (cell.U - (cell.B + full - 1) * Units < Units)
            {
                full--;
                CellTile last = cell;
                last.Tile = cell.Tile + full * 3 * Width;
                last.Bias = cell.Bias + full * Width;
                (last.B, last.Panels) = (cell.B + full, 1);
                PartialPanelCell<Tile3x32>(last, o);
            }
            if (full == 0)
                return;
            ActivateGates(cell.Tile, cell.Bias, full, cell.Mr);
            UpdateState(cell, full, o);
        }

        /// <summary>Pass 1 of <see cref="Cell"/>: z → [i f g o] in place, rows 0..<paramref name="mr"/>−1 of
        /// <paramref name="panels"/> tiles. Each iteration's four exps are staged (clamp, power of two, remainder and
        /// polynomial on all four, then the scaling).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void ActivateGates(float* tiles, float* bias, int panels, int mr)
        {
            Vector256<float> one = Vector256.Create(1f);
            for (int b = 0; b < panels; b++, bias += Width)
            {
                for (int j = 0; j < mr; j++)
                {
                    float* z = tiles + (b * 3 + j) * Width;
                    // −b − z is −(z + b) exactly rounded, fma(z, 2, 2b) is 2(z + b) rounded once (the AVX-512 cell's arguments).
                    Vector256<float> bg = Vector256.Load(bias + 2 * Units);
                    Vector256<float> xi = FloatExp.Clamped(Vector256<float>.Zero - Vector256.Load(bias) - Vector256.Load(z));
                    Vector256<float> xf = FloatExp.Clamped(Vector256<float>.Zero - Vector256.Load(bias + Units) - Vector256.Load(z + Units));
                    Vector256<float> xg = FloatExp.Clamped(Vector256.FusedMultiplyAdd(Vector256.Load(z + 2 * Units), Vector256.Create(2f), bg + bg));
                    Vector256<float> xo = FloatExp.Clamped(Vector256<float>.Zero - Vector256.Load(bias + 3 * Units) - Vector256.Load(z + 3 * Units));
                    Vector256<float> ni = FloatExp.PowerOfTwo(xi), nf = FloatExp.PowerOfTwo(xf), ng = FloatExp.PowerOfTwo(xg), no = FloatExp.PowerOfTwo(xo);
                    xi = FloatExp.Polynomial(FloatExp.Remainder(xi, ni));
                    xf = FloatExp.Polynomial(FloatExp.Remainder(xf, nf));
                    xg = FloatExp.Polynomial(FloatExp.Remainder(xg, ng));
                    xo = FloatExp.Polynomial(FloatExp.Remainder(xo, no));
                    (one / (FloatExp.Scaled(xi, ni) + one)).Store(z);
                    (one / (FloatExp.Scaled(xf, nf) + one)).Store(z + Units);
                    OneMinusTwice(one / (FloatExp.Scaled(xg, ng) + one)).Store(z + 2 * Units);
                    (one / (FloatExp.Scaled(xo, no) + one)).Store(z + 3 * Units);
                }
            }
        }

        /// <summary>Pass 2 of <see cref="Cell"/>: c_t, tanh(c_t) and h_t from the activated gates, and the stores.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void UpdateState(in CellTile cell, int panels, in Outputs o)
        {
            Vector256<float> one = Vector256.Create(1f);
            for (int b = 0; b < panels; b++)
            {
                int first = (cell.B + b) * Units;
                for (int j = 0; j < cell.Mr; j++)
                {
                    long row = cell.Rt + j;
                    if (Skipped(o, row))
                        continue;
                    float* gates = cell.Tile + (b * 3 + j) * Width;
                    Vector256<float> i = Vector256.Load(gates), f = Vector256.Load(gates + Units);
                    Vector256<float> g = Vector256.Load(gates + 2 * Units), og = Vector256.Load(gates + 3 * Units);
                    Vector256<float> c = f * Vector256.Load(o.CellIn + row * cell.U + first) + i * g;
                    Vector256<float> tanhC = OneMinusTwice(one / (FloatExp.Exp(c + c) + one));
                    if (o.Gates != null)
                        StoreGates(o, row, cell.U, first, i, f, g, og);
                    StoreState(o, row, cell.U, first, c, tanhC, og * tanhC);
                }
            }
        }
    }

    /// <summary>1 − 2r in one instruction (see the 16-lane <see cref="OneMinusTwice(Vector512{float})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> OneMinusTwice(Vector256<float> r) =>
        Vector256.FusedMultiplyAdd(Vector256.Create(-2f), r, Vector256.Create(1f));
}
