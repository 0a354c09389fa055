using System.Diagnostics;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet.Benchmarks;

/// <summary>
/// One forward step of the fused LSTM on embedded ids (<see cref="LstmFusedStep.StepProjected"/>) at the IMDB seed
/// shape (32 rows, U = 128: 4 row tiles × 16 panels of 8 units), caches hot, one thread: the step as it runs, and the
/// same step with its K = 128 FMA chains only (the cell skipped), against the FMA floor 2·N·U·4U / peak probed in the
/// same process. The difference is what the cell (8 exps per pair of rows per tile) adds to the step. Best of 5 rounds
/// of N steps; <c>lstm-step-time [steps]</c>.
/// </summary>
public static unsafe class LstmStepTiming
{
    public static void Run(int steps)
    {
        const int D = 128, U = 128, Rows = 32, Distinct = 64, T = 200;
        Parallelism.MaxThreads = 1;
        double peak = FmaPeak.MeasureGflops(1);
        var random = new Random(1);
        float[] w = Values(D * 4 * U, 0.1f, random), r = Values(U * 4 * U, 0.1f, random), bias = new float[4 * U];
        float[]? packed = null, packedBias = null;
        var start = LstmFusedStep.Pack(w, r, bias, D, U, ref packed, ref packedBias);
        float[] projected = Values((int)LstmKernels.ProjectedLength(new LstmShape(Rows, T, D, U), Distinct), 1f, random);
        int[] slots = [.. Enumerable.Range(0, Rows * T).Select(_ => random.Next(Distinct))];
        float[] h = Values(Rows * U, 1f, random), c = new float[Rows * U], gates = new float[Rows * 4 * U];
        float[] tanh = new float[Rows * U], hOut = new float[Rows * U];
        double floorUs = 2.0 * Rows * U * 4 * U / (peak * 1e3);
        Console.WriteLine($"FMA peak {peak:F1} GFLOP/s; floor of one step (32×128 · 128×512) {floorUs:F2} µs");
        fixed (float* pw = packed, pb = packedBias, pp = projected, ph = h, pc = c, pg = gates, pt = tanh, pho = hOut)
        fixed (int* ps = slots)
        {
            var outputs = new LstmFusedStep.Outputs { Gates = pg, GatesStride = 4 * U, CellIn = pc, CellOut = pc, TanhCell = pt, Hidden = pho };
            foreach (bool cell in (bool[])[true, false])
            {
                LstmFusedStep.CellEnabled = cell;
                double best = double.MaxValue;
                for (int round = 0; round < 5; round++)
                {
                    var clock = Stopwatch.StartNew();
                    for (int i = 0; i < steps; i++)
                        LstmFusedStep.StepProjected(pw + start.Weights, pb + start.Bias, D, U, Rows, pp, ps + i % T, T, ph, U, outputs);
                    best = Math.Min(best, clock.Elapsed.TotalMicroseconds / steps);
                }
                Console.WriteLine($"{(cell ? "step" : "FMA chains only"),-16} {best,8:F2} µs  {best * 1000 / (Rows / 8 * (U / 8)),6:F0} ns per tile  {floorUs / best * 100,5:F0}% of the floor");
            }
            LstmFusedStep.CellEnabled = true;
        }
    }

    private static float[] Values(int count, float scale, Random random) =>
        [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() - 0.5f) * scale)];
}
