using System.Runtime.InteropServices;
using System.Diagnostics;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// One forward step of the fused LSTM on embedded ids (<see cref="LstmFusedStep.StepProjected"/>) at the IMDB seed
/// shape (32 rows, U = 128: 4 row tiles × 16 panels of 8 units), one thread: the step as it runs, and the same step with
/// its K = 128 FMA chains only (the cell skipped), caches hot, against the FMA floor 2·N·U·4U / peak probed in the same
/// process (the difference is what the cell, five 16-lane exps per pair of rows, adds), and the cell alone on a tile left
/// as the last step wrote it (on a core where nothing of it overlaps the chains, the step is the sum). Then what a second core gives:
/// T = 200 steps in a row writing full-size saved state (gates, c, tanh c, h), 32 rows on one thread, then 16 rows on
/// each of two threads at once, each on buffers of its own, and the same two bands as rows 0–15 and 16–31 of one
/// shared state (the model's layout); and 8-row chains through all T steps with the saved state, as the model's 1-thread
/// forward runs. Best of 5 rounds; <c>lstm-step-time [steps]</c>.
/// </summary>
public static unsafe class LstmStepTiming
{
    private const int D = 128, U = 128, Distinct = 1564, T = 200;

    /// <summary>Register tiles a step of 32 rows: ⌈32/rows⌉ row tiles × U/8 panels.</summary>
    private static int TilesPerStep => (32 + LstmFusedStep.Rows - 1) / LstmFusedStep.Rows * (U / 8);

    public static void Run(int steps)
    {
        if (!LstmFusedStep.Applies(32))
        {
            Console.WriteLine("lstm-step-time times the fused step (LstmFusedStep: AVX-512 or AVX2 + FMA), which this machine does not run; "
                + "its LSTM runs the two-pass step (recurrent-time times it).");
            return;
        }
        Parallelism.MaxThreads = 1;
        double peak = FmaPeak.MeasureGflops(1);
        double floorUs = 2.0 * 32 * U * 4 * U / (peak * 1e3);
        Console.WriteLine($"FMA peak {peak:F1} GFLOP/s; floor of one step (32×128 · 128×512) {floorUs:F2} µs");
        foreach (bool cell in (bool[])[true, false])
        {
            LstmFusedStep.CellEnabled = cell;
            double best = new Band(32, history: false).Time(steps);
            Console.WriteLine($"{(cell ? "step, hot" : "FMA chains only"),-22} {best,8:F2} µs  {best * 1000 / TilesPerStep,6:F0} ns per tile  {floorUs / best * 100,5:F0}% of the floor");
        }
        LstmFusedStep.CellEnabled = true;
        // The cell alone (its tile left as the last step wrote it): what it costs when nothing else competes for the ports.
        LstmFusedStep.ChainsEnabled = false;
        double cellOnly = new Band(32, history: false).Time(steps);
        LstmFusedStep.ChainsEnabled = true;
        Console.WriteLine($"{"cell only",-22} {cellOnly,8:F2} µs  {cellOnly * 1000 / TilesPerStep,6:F0} ns per tile  {cellOnly * 1000 / (32 / 2 * (U / 8)),6:F1} ns per pair of rows");
        // As the model's 1-thread forward runs: 8-row chains (RecurrentStepJob.ForwardChains) through all T steps, writing the
        // saved state.
        double chains = new Band(32, history: true).TimeChains(steps);
        Console.WriteLine($"{"8-row chains, saved",-22} {chains,8:F2} µs a step (32 rows)");
        double one = new Band(32, history: true).Time(steps);
        Console.WriteLine($"{"200 steps, 1 thread",-22} {one,8:F2} µs a step (32 rows)");
        // Two threads, 16 rows each, started together: what the machine gives two bands that share nothing.
        Band first = new(16, history: true), second = new(16, history: true);
        var start = new Barrier(2);
        double other = 0;
        var thread = new Thread(() => other = second.Time(steps, start));
        thread.Start();
        double mine = first.Time(steps, start);
        thread.Join();
        double slower = Math.Max(mine, other);
        Console.WriteLine($"{"200 steps, 2 threads",-22} {mine,8:F2} / {other:F2} µs a step (16 rows each): {one / slower:F2}x one thread");
        // The same two bands as the model lays them out: rows 0–15 and 16–31 of one 32-row time-major state.
        Band shared = new(32, history: true);
        thread = new Thread(() => other = shared.Time(steps, start, firstRow: 16, rows: 16));
        thread.Start();
        mine = shared.Time(steps, start, firstRow: 0, rows: 16);
        thread.Join();
        Console.WriteLine($"{"  in one shared state",-22} {mine,8:F2} / {other:F2} µs a step (rows 0–15, 16–31): {one / Math.Max(mine, other):F2}x one thread");
        // Again with every state buffer starting on a 4 KB page, so that the bands' blocks (32 KB of gates, 8 KB of c, tanh c
        // and h a step) share no page; 1 KB past one, so that each boundary falls inside a page but on a cache line; and
        // 16 bytes past one, as a managed array's first element lies, so that the rows straddle cache lines and the two
        // bands write the line at each boundary.
        // The shared state again, each thread first rewriting half of the projected rows (as the model's projection, split
        // over both workers, leaves them: half of each band's rows then come from the other core's cache).
        foreach (bool split in (bool[])[false, true, false, true])
        {
            Band model = new(32, history: true);
            thread = new Thread(() => other = model.Time(steps, start, firstRow: 16, rows: 16, rewriteHalf: split ? 1 : -1));
            thread.Start();
            mine = model.Time(steps, start, firstRow: 0, rows: 16, rewriteHalf: split ? 0 : -1);
            thread.Join();
            Console.WriteLine($"{(split ? "  shared, rows rewritten" : "  shared, rows read-only"),-22} {mine,8:F2} / {other:F2} µs a step: {one / Math.Max(mine, other):F2}x one thread");
        }
        foreach (int offset in (int[])[0, 1024, 16])
        {
            Band aligned = new(32, history: true, pageOffset: offset);
            thread = new Thread(() => other = aligned.Time(steps, start, firstRow: 16, rows: 16));
            thread.Start();
            mine = aligned.Time(steps, start, firstRow: 0, rows: 16);
            thread.Join();
            Console.WriteLine($"{"  shared, page + " + offset + " B",-22} {mine,8:F2} / {other:F2} µs a step: {one / Math.Max(mine, other):F2}x one thread");
        }
    }

    /// <summary>One band's operands and outputs: with <c>history</c>, T steps of saved state, as a training forward writes.</summary>
    private sealed class Band
    {
        private readonly int _rows;
        private readonly bool _history;
        private readonly float[] _packed, _packedBias, _projected, _h, _c, _gates, _tanh;
        private readonly (int Weights, int Bias) _start;
        private readonly int[] _slots;

        /// <summary>With <paramref name="pageOffset"/> ≥ 0 the state buffers (h, c, gates, tanh c) start that many bytes past a 4 KB page.</summary>
        public Band(int rows, bool history, int pageOffset = -1)
        {
            (_rows, _history) = (rows, history);
            var random = new Random(1);
            float[]? packed = null, packedBias = null;
            _start = LstmFusedStep.Pack(Values(D * 4 * U, 0.1f, random), Values(U * 4 * U, 0.1f, random), new float[4 * U], D, U, ref packed, ref packedBias);
            (_packed, _packedBias) = (packed!, packedBias!); // Pack allocates both
            _projected = Values((int)LstmKernels.ProjectedLength(new LstmShape(rows, T, D, U), Distinct), 1f, random);
            _slots = [.. Enumerable.Range(0, rows * T).Select(_ => random.Next(Distinct))];
            int blocks = history ? T + 1 : 2;
            _h = Values(rows * U * blocks, 1f, random);
            _c = new float[rows * U * blocks];
            _gates = new float[rows * 4 * U * (history ? T : 1)];
            _tanh = new float[rows * U * (history ? T : 1)];
            if (pageOffset >= 0)
            {
                _hAt = Placed(_h, pageOffset);
                _cAt = Placed(_c, pageOffset);
                _gatesAt = Placed(_gates, pageOffset);
                _tanhAt = Placed(_tanh, pageOffset);
            }
        }

        // The state buffers when placed on pages (null: the arrays themselves).
        private readonly float* _hAt, _cAt, _gatesAt, _tanhAt;

        /// <summary>A copy of <paramref name="values"/> starting <paramref name="offset"/> bytes past a 4 KB page (never freed: a benchmark's life).</summary>
        private static float* Placed(float[] values, int offset)
        {
            byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)(values.Length * sizeof(float) + offset), 4096);
            float* at = (float*)(memory + offset);
            values.CopyTo(new Span<float>(at, values.Length));
            return at;
        }

        /// <summary>Best of 5 rounds of at least <paramref name="steps"/> steps as the model's forward runs a band's rows:
        /// each 8-row chain through all T steps, then the next; µs per step of all the band's rows.</summary>
        public double TimeChains(int steps)
        {
            double best = double.MaxValue;
            int block = _rows * U, passes = (steps + T - 1) / T;
            fixed (float* w = _packed, b = _packedBias, projected = _projected, h = _h, c = _c, gates = _gates, tanh = _tanh)
            fixed (int* slots = _slots)
            {
                for (int round = 0; round < 5; round++)
                {
                    var clock = Stopwatch.StartNew();
                    for (int pass = 0; pass < passes; pass++)
                        for (int first = 0; first < _rows; first += 8)
                            for (int t = 0; t < T; t++)
                            {
                                long at = (long)first * U;
                                var outputs = new LstmFusedStep.Outputs
                                {
                                    Gates = gates + (long)t * 4 * block + 4 * at, GatesStride = 4 * U, CellIn = c + (long)t * block + at,
                                    CellOut = c + (long)(t + 1) * block + at, TanhCell = tanh + (long)t * block + at, Hidden = h + (long)(t + 1) * block + at,
                                };
                                LstmFusedStep.StepProjected(w + _start.Weights, b + _start.Bias, D, U, Math.Min(8, _rows - first), projected,
                                    slots + (long)first * T + t, T, h + (long)t * block + at, U, outputs);
                            }
                    best = Math.Min(best, clock.Elapsed.TotalMicroseconds / (passes * T));
                }
            }
            return best;
        }

        /// <summary>Best of 5 rounds of <paramref name="steps"/> steps, µs per step (rounds started together at <paramref name="start"/>).</summary>
        /// <param name="rewriteHalf">0 or 1: before each round, rewrite that half of the projected rows (−1: none).</param>
        public double Time(int steps, Barrier? start = null, int firstRow = 0, int rows = -1, int rewriteHalf = -1)
        {
            double best = double.MaxValue;
            int block = _rows * U, first = firstRow;
            rows = rows < 0 ? _rows : rows;
            fixed (float* w = _packed, b = _packedBias, projected = _projected, hArray = _h, cArray = _c, gatesArray = _gates, tanhArray = _tanh)
            fixed (int* slots = _slots)
            {
                float* h = _hAt != null ? _hAt : hArray, c = _cAt != null ? _cAt : cArray;
                float* gates = _gatesAt != null ? _gatesAt : gatesArray, tanh = _tanhAt != null ? _tanhAt : tanhArray;
                for (int round = 0; round < 5; round++)
                {
                    if (rewriteHalf >= 0)
                    {
                        int half = _projected.Length / 2;
                        foreach (ref float v in _projected.AsSpan(rewriteHalf * half, half))
                            v = -v;
                        start?.SignalAndWait(); // both halves rewritten before either band starts
                    }
                    start?.SignalAndWait();
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < steps; i++)
                    {
                        int t = _history ? i % T : 0;
                        long at = (long)first * U;
                        var outputs = new LstmFusedStep.Outputs
                        {
                            Gates = gates + (long)t * 4 * block + 4 * at, GatesStride = 4 * U, CellIn = c + (long)t * block + at,
                            CellOut = c + (long)(t + 1) * block + at, TanhCell = tanh + (long)t * block + at, Hidden = h + (long)(t + 1) * block + at,
                        };
                        LstmFusedStep.StepProjected(w + _start.Weights, b + _start.Bias, D, U, rows, projected, slots + (long)first * T + i % T, T,
                            h + (long)t * block + at, U, outputs);
                    }
                    best = Math.Min(best, clock.Elapsed.TotalMicroseconds / steps);
                }
            }
            return best;
        }
    }

    private static float[] Values(int count, float scale, Random random) =>
        [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() - 0.5f) * scale)];
}
