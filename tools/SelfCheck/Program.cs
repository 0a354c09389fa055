// NanoNet self-check: what the NUnit suite proves, in a form small enough to run emulated (QEMU) on
// an architecture CI has no hardware for. Each check prints "PASS name" or "FAIL name: why"; the last
// line counts them, and the exit code is 1 if any failed. Timings under emulation mean nothing.
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NanoNet;
using NanoNet.Data;
using NanoNet.Kernels;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;

var clock = Stopwatch.StartNew();
Console.WriteLine($"architecture: {RuntimeInformation.ProcessArchitecture} ({RuntimeInformation.RuntimeIdentifier}, {RuntimeInformation.FrameworkDescription})");
Console.WriteLine($"Vector128.IsHardwareAccelerated: {Vector128.IsHardwareAccelerated}, Vector256: {Vector256.IsHardwareAccelerated}, " +
    $"Vector512: {Vector512.IsHardwareAccelerated}, Vector<float>.Count: {Vector<float>.Count}");
Console.WriteLine($"GEMM kernel: {Gemm.BestKernel} (tile {GemmMicroKernels.TileSize(Gemm.BestKernel).Mr}x{GemmMicroKernels.TileSize(Gemm.BestKernel).Nr}), " +
    $"LSTM cell lanes: {LstmKernels.NativeCellLanes}, threads: {Parallelism.MaxThreads}");

var checks = new Checks();
KernelChecks.Gemm(checks);
KernelChecks.Lstm(checks);
KernelChecks.LstmOnEmbedding(checks);
KernelChecks.LstmOnEmbeddingTraining(checks);
KernelChecks.Philox(checks);
KernelChecks.ConvWeightGradient(checks);
GradientChecks.Run(checks);
TrainingChecks.Run(checks);
Console.WriteLine($"self-check: {checks.Passed} passed, {checks.Failed} failed ({clock.Elapsed.TotalSeconds:F1} s)");
return checks.Failed == 0 ? 0 : 1;

/// <summary>Counts and prints results; an exception inside a check is a failure, not a crash.</summary>
internal sealed class Checks
{
    public int Passed, Failed;

    public void Run(string name, Func<string?> check)
    {
        string? failure;
        try
        {
            failure = check();
        }
        catch (Exception e)
        {
            failure = $"{e.GetType().Name}: {e.Message}";
        }
        if (failure is null)
        {
            Passed++;
            Console.WriteLine($"PASS {name}");
        }
        else
        {
            Failed++;
            Console.WriteLine($"FAIL {name}: {failure}");
        }
    }
}

/// <summary>The fast kernels against their reference twins (as tests/Tensor/GemmTests and RecurrentOpTests do).</summary>
internal static class KernelChecks
{
    private static readonly int[][] Shapes = [[7, 13, 5], [9, 33, 257], [57, 32, 28], [100, 70, 300], [3, 1, 600], [16, 8, 64]];

    public static void Gemm(Checks checks)
    {
        var kinds = new List<GemmKernelKind>();
        if (Vector512.IsHardwareAccelerated) kinds.Add(GemmKernelKind.Vector512);
        if (Vector256.IsHardwareAccelerated) kinds.Add(GemmKernelKind.Vector256);
        if (Vector128.IsHardwareAccelerated) kinds.AddRange([GemmKernelKind.Vector128, GemmKernelKind.Vector128Arm64]);
        kinds.Add(GemmKernelKind.Scalar);
        foreach (GemmKernelKind kind in kinds)
            checks.Run($"gemm {kind} vs reference ({Shapes.Length} shapes x 4 transposes, accumulate and overwrite)", () =>
            {
                foreach (int[] s in Shapes)
                    foreach (bool ta in new[] { false, true })
                        foreach (bool tb in new[] { false, true })
                        {
                            string? failure = CompareGemm(kind, s[0], s[1], s[2], ta, tb);
                            if (failure is not null)
                                return $"{s[0]}x{s[1]}x{s[2]} tA={ta} tB={tb}: {failure}";
                        }
                return null;
            });

        checks.Run("gemm with pre-packed B gives the same bits", () =>
        {
            var rng = new Random(3);
            int m = 9, n = 45, k = 300;
            float[] a = Random(m * k, rng), b = Random(k * n, rng), expected = Random(m * n, rng);
            float[] actual = (float[])expected.Clone();
            NanoNet.Kernels.Gemm.Multiply(false, false, m, n, k, a, k, b, n, expected, n, accumulate: true);
            NanoNet.Kernels.Gemm.Multiply(false, m, n, k, a, k, PackedMatrix.Pack(false, k, n, b, n), actual, n, accumulate: true);
            return expected.AsSpan().SequenceEqual(actual) ? null : "results differ";
        });
    }

    /// <summary>
    /// The convolution weight-gradient tiles of every width this machine runs against a naive double sum (as
    /// tests/Tensor/ConvWeightGradientTests do): leftover tile heights, a stride longer than the row, blocks of rows.
    /// </summary>
    public static void ConvWeightGradient(Checks checks)
    {
        var kinds = new List<GemmKernelKind>();
        if (Vector512.IsHardwareAccelerated) kinds.Add(GemmKernelKind.Vector512);
        if (Vector256.IsHardwareAccelerated) kinds.Add(GemmKernelKind.Vector256);
        if (Vector128.IsHardwareAccelerated) kinds.AddRange([GemmKernelKind.Vector128, GemmKernelKind.Vector128Arm64]);
        Console.WriteLine($"conv weight-gradient tiles on this machine: {NanoNet.Kernels.ConvWeightGradient.MachineKind?.ToString() ?? "none (the GEMM)"}");
        foreach (GemmKernelKind kind in kinds)
            checks.Run($"conv weight gradient {kind} tiles vs the naive sum", () =>
            {
                foreach ((int rows, int patchPlusOne, int ld, int filters) in new[] { (37, 28, 28, 32), (23, 13, 13, 16), (17, 15, 19, 8), (260, 289, 300, 16), (40, 14, 16, 24) })
                {
                    if (!NanoNet.Kernels.ConvWeightGradient.Applies(kind, filters))
                        continue;
                    var rng = new Random(rows + filters);
                    float[] col = new float[rows * ld], dZ = new float[rows * filters], actual = new float[patchPlusOne * filters];
                    for (int i = 0; i < col.Length; i++) col[i] = rng.NextSingle() * 2 - 1;
                    for (int i = 0; i < dZ.Length; i++) dZ[i] = rng.NextSingle() * 2 - 1;
                    actual.AsSpan().Fill(float.NaN);
                    unsafe
                    {
                        fixed (float* pc = col, pz = dZ, pr = actual)
                            NanoNet.Kernels.ConvWeightGradient.Compute(kind, rows, patchPlusOne, filters, pc, ld, pz, pr);
                    }
                    for (int p = 0; p < patchPlusOne; p++)
                        for (int f = 0; f < filters; f++)
                        {
                            double sum = 0;
                            for (int r = 0; r < rows; r++)
                                sum += (double)col[r * ld + p] * dZ[r * filters + f];
                            if (!(Math.Abs(actual[p * filters + f] - sum) <= 1e-4 * (1 + Math.Abs(sum))))
                                return $"{rows}x{patchPlusOne} (ld {ld}), {filters} filters: [{p}, {f}] is {actual[p * filters + f]}, expected {sum}";
                        }
                }
                return null;
            });
    }

    /// <summary>The vectorized Philox and dropout mask against the scalar generator (as tests/Tensor/PhiloxVectorTests do).</summary>
    public static void Philox(Checks checks)
    {
        checks.Run("philox vectorized ranges vs scalar blocks (keys, streams, carrying counters, mid-block starts, odd lengths)", () =>
        {
            ulong carry = (0xFFFF_FFFFUL - 2) * 4;
            foreach (ulong seed in new ulong[] { 0, 42, ulong.MaxValue })
                foreach (ulong stream in new ulong[] { 0, 0xFFFF_FFFF, ulong.MaxValue })
                    foreach (ulong position in new ulong[] { 0, 1, 3, carry, carry + 2 })
                        foreach (int length in new[] { 1, 3, 4, 7, 16, 17, 65, 1027 })
                        {
                            var expected = new uint[length];
                            var actual = new uint[length];
                            RandomStream.GenerateReference(PhiloxKey.From(seed), stream, position, expected);
                            PhiloxLanes.Generate(PhiloxKey.From(seed), stream, position, actual);
                            if (!expected.AsSpan().SequenceEqual(actual))
                                return $"seed {seed:x}, stream {stream:x}, position {position:x}, length {length}: values differ";
                        }
            return null;
        });

        checks.Run("dropout mask vs the scalar generator and rule", () =>
        {
            // Element i: the low (even i) or high (odd i) 16 bits of value i/2, kept when h/2^16 ≥ rate.
            const float Rate = 0.3f;
            var words = new uint[501];
            RandomStream.GenerateReference(PhiloxKey.From(9), 5, 3, words);
            var random = new RandomStream(9, 5);
            random.NextUInt32(); random.NextUInt32(); random.NextUInt32(); // position 3: mid-block
            var mask = new float[2 * words.Length - 1];
            random.FillDropoutMask(mask, Rate);
            for (int i = 0; i < mask.Length; i++)
            {
                uint half = i % 2 == 0 ? words[i / 2] & 0xFFFF : words[i / 2] >> 16;
                if (mask[i] != (half / 65536.0 >= Rate ? 1f / (1f - Rate) : 0f))
                    return $"element {i} differs";
            }
            if (random.Position != 3 + (ulong)words.Length)
                return $"the stream is at {random.Position}, expected {3 + words.Length}";
            return null;
        });
    }

    private static string? CompareGemm(GemmKernelKind kind, int m, int n, int k, bool transA, bool transB)
    {
        var rng = new Random(m * 31 + n * 7 + k);
        float[] a = Random(m * k, rng), b = Random(k * n, rng), c = Random(m * n, rng);
        int lda = transA ? m : k, ldb = transB ? k : n;
        float[] expected = (float[])c.Clone();
        GemmReference.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expected, n, accumulate: true);
        NanoNet.Kernels.Gemm.Multiply(kind, transA, transB, m, n, k, a, lda, b, ldb, c, n, accumulate: true);
        string? failure = Close(expected, c, k);
        if (failure is not null)
            return "accumulate: " + failure;
        float[] garbage = Random(m * n, rng);
        GemmReference.Multiply(transA, transB, m, n, k, a, lda, b, ldb, expected, n, accumulate: false);
        NanoNet.Kernels.Gemm.Multiply(kind, transA, transB, m, n, k, a, lda, b, ldb, garbage, n, accumulate: false);
        failure = Close(expected, garbage, k);
        return failure is null ? null : "overwrite: " + failure;
    }

    private static string? Close(float[] expected, float[] actual, int k)
    {
        float tolerance = 4e-5f * MathF.Max(1f, MathF.Sqrt(k));
        for (int i = 0; i < expected.Length; i++)
            if (MathF.Abs(expected[i] - actual[i]) > tolerance * MathF.Max(1f, MathF.Abs(expected[i])))
                return $"element {i}: expected {expected[i]}, got {actual[i]}";
        return null;
    }

    /// <summary>The whole-sequence LSTM (forward and BPTT) at each cell width this machine runs, against LstmReference.</summary>
    public static void Lstm(Checks checks)
    {
        foreach (int lanes in new[] { 16, 8, 4, 1 }.Where(l => l <= LstmKernels.NativeCellLanes))
            checks.Run($"lstm cell at {lanes} lanes vs reference (forward and backward, masked, 29 units)", () =>
            {
                int saved = LstmKernels.CellLanes;
                LstmKernels.CellLanes = lanes;
                try
                {
                    return CompareLstm(5, 9, 7, 29, returnSequences: true, masked: true)
                        ?? CompareLstm(4, 6, 5, 8, returnSequences: false, masked: false);
                }
                finally
                {
                    LstmKernels.CellLanes = saved;
                }
            });
    }

    /// <summary>The LSTM on embedded ids (each distinct id projected once) against Embedding then Lstm: bit for bit.</summary>
    public static void LstmOnEmbedding(Checks checks) =>
        checks.Run("lstm on embedded ids vs embedding + lstm (bitwise, masked, 37 rows, 12 units)", () =>
        {
            var (ids, table, w, r, b) = EmbeddedInputs(71);
            using (NanoNet.Autograd.Tape.NoGrad())
            {
                float[] fused = Ops.LstmOnEmbedding(ids, table, w, r, b, returnSequences: true, maskZero: true).ToArray();
                float[] twoOps = Ops.Lstm(Ops.Embedding(ids, table, true), w, r, b, returnSequences: true, mask: Ops.PaddingMask(ids)).ToArray();
                for (int i = 0; i < fused.Length; i++)
                    if (BitConverter.SingleToInt32Bits(fused[i]) != BitConverter.SingleToInt32Bits(twoOps[i]))
                        return $"element {i}: {fused[i]} on embedded ids, {twoOps[i]} from the two ops";
            }
            return null;
        });

    /// <summary>
    /// Training on embedded ids (dZ summed per distinct id, then dW and the rows' gradient over the distinct ids) against
    /// Embedding then Lstm: the output and every gradient within rounding, the padding id's row untouched.
    /// </summary>
    public static void LstmOnEmbeddingTraining(Checks checks) =>
        checks.Run("lstm on embedded ids, training: gradients vs embedding + lstm (masked, 37 rows, 12 units)", () =>
        {
            var (ids, table, w, r, b) = EmbeddedInputs(81);
            Tensor weights = Tensor.RandomUniform([37, 9, 12], -1, 1, 86);
            float[][] Run(bool onEmbedding)
            {
                foreach (Tensor p in (Tensor[])[table, w, r, b])
                {
                    p.RequiresGrad = true;
                    p.ZeroGrad();
                }
                Tensor y = onEmbedding
                    ? Ops.LstmOnEmbedding(ids, table, w, r, b, returnSequences: true, maskZero: true)
                    : Ops.Lstm(Ops.Embedding(ids, table, true), w, r, b, returnSequences: true, mask: Ops.PaddingMask(ids));
                Ops.Sum(Ops.Multiply(y, weights)).Backward();
                return [y.ToArray(), table.Grad!.ToArray(), w.Grad!.ToArray(), r.Grad!.ToArray(), b.Grad!.ToArray()];
            }
            float[][] twoOps = Run(false), fused = Run(true);
            string[] names = ["output", "table gradient", "W gradient", "R gradient", "bias gradient"];
            for (int k = 0; k < twoOps.Length; k++)
                for (int i = 0; i < twoOps[k].Length; i++)
                    if (!(MathF.Abs(fused[k][i] - twoOps[k][i]) <= 1e-5f + 1e-4f * MathF.Abs(twoOps[k][i])))
                        return $"{names[k]} element {i}: {fused[k][i]} on embedded ids, {twoOps[k][i]} from the two ops";
            for (int j = 0; j < 24; j++)
                if (fused[1][j] != 0f)
                    return $"the padding id's row got a gradient ({fused[1][j]} at column {j})";
            return null;
        });

    /// <summary>37 sequences of 9 ids over 30 words (every seventh id 0, to mask), a 24-wide table and a 12-unit LSTM's weights.</summary>
    private static (Tensor Ids, Tensor Table, Tensor W, Tensor R, Tensor B) EmbeddedInputs(int seed)
    {
        var rng = new Random(seed);
        Tensor ids = Tensor.Zeros(37, 9);
        for (int i = 0; i < ids.Length; i++)
            ids[i] = i % 7 == 3 ? 0 : rng.Next(30);
        return (ids, Tensor.RandomUniform([30, 24], -1, 1, seed + 1), Tensor.RandomUniform([24, 48], -0.3f, 0.3f, seed + 2),
            Tensor.RandomUniform([12, 48], -0.3f, 0.3f, seed + 3), Tensor.RandomUniform([48], -0.3f, 0.3f, seed + 4));
    }

    private static string? CompareLstm(int n, int steps, int d, int units, bool returnSequences, bool masked)
    {
        Tensor x = Tensor.RandomUniform([n, steps, d], -1, 1, 61).AsParameter();
        Tensor w = Tensor.RandomUniform([d, 4 * units], -0.3f, 0.3f, 62).AsParameter();
        Tensor r = Tensor.RandomUniform([units, 4 * units], -0.3f, 0.3f, 63).AsParameter();
        Tensor b = Tensor.RandomUniform([4 * units], -0.5f, 0.5f, 64).AsParameter();
        Tensor? mask = null;
        if (masked)
        {
            mask = Tensor.Ones(n, steps);
            for (int s = 0; s < n; s++)
                for (int t = 0; t < s; t++)
                    mask[s * steps + t] = 0f; // pre-padding of a different length per sequence
        }
        Tensor dY = Tensor.RandomUniform(returnSequences ? [n, steps, units] : [n, units], -1, 1, 66);
        Tensor y = Ops.Lstm(x, w, r, b, returnSequences, mask);
        Ops.Sum(Ops.Multiply(y, dY)).Backward();
        var (yRef, states) = LstmReference.Forward(n, steps, d, units, x.ToArray(), w.ToArray(), r.ToArray(), b.ToArray(),
            returnSequences, mask?.ToArray());
        var (dx, dw, dr, db) = LstmReference.Backward(n, steps, d, units, x.ToArray(), w.ToArray(), r.ToArray(), states,
            dY.ToArray(), returnSequences, mask?.ToArray());
        return Close("y", y.ToArray(), yRef) ?? Close("dX", x.Grad!.ToArray(), dx) ?? Close("dW", w.Grad!.ToArray(), dw)
            ?? Close("dR", r.Grad!.ToArray(), dr) ?? Close("db", b.Grad!.ToArray(), db);

        static string? Close(string what, float[] actual, float[] expected)
        {
            for (int i = 0; i < expected.Length; i++)
                if (Math.Abs(actual[i] - expected[i]) > 2e-4f + 2e-4f * Math.Abs(expected[i]))
                    return $"{what}[{i}]: fast {actual[i]}, reference {expected[i]}";
            return null;
        }
    }

    internal static float[] Random(int length, Random rng)
    {
        var result = new float[length];
        for (int i = 0; i < length; i++)
            result[i] = rng.NextSingle() * 2f - 1f;
        return result;
    }
}

/// <summary>
/// Central differences, as tests/GradientCheck.cs: L = Σ wᵢ·yᵢ with fixed random w, and every input
/// element's analytic gradient against (L(x+ε) − L(x−ε)) / 2ε summed in double.
/// </summary>
internal static class GradientChecks
{
    public static void Run(Checks checks)
    {
        Check(checks, "matmul", t => Ops.MatMul(t[0], t[1]), [R([5, 7], 1), R([7, 3], 2)]);
        Check(checks, "matmul transposed", t => Ops.MatMul(t[0], t[1], transposeA: true, transposeB: true), [R([7, 5], 3), R([3, 7], 4)]);
        Check(checks, "batched matmul with broadcast", t => Ops.MatMul(t[0], t[1]), [R([2, 3, 4], 5), R([4, 5], 6)]);
        Check(checks, "linear + relu", t => Ops.Linear(t[0], t[1], t[2], ActivationFunction.Relu), [R([4, 6], 7), R([6, 5], 8), R([5], 9)], epsilon: 1e-3f);
        Check(checks, "conv2d 3x3 same, stride 1", t => Ops.Conv2D(t[0], t[1], t[2], 1, 1, samePadding: true), [R([2, 5, 5, 2], 10), R([3, 3, 2, 3], 11), R([3], 12)]);
        Check(checks, "conv2d 3x3 valid, stride 2", t => Ops.Conv2D(t[0], t[1], t[2], 2, 2), [R([1, 7, 7, 3], 13), R([3, 3, 3, 4], 14), R([4], 15)]);
        Check(checks, "conv2d 3x3 same, 8 filters (the weight-gradient tiles on 128-bit machines)", t => Ops.Conv2D(t[0], t[1], t[2], 1, 1, samePadding: true), [R([2, 4, 4, 2], 24), R([3, 3, 2, 8], 25), R([8], 26)]);
        Check(checks, "maxpool2d 2x2", t => Ops.MaxPool2D(t[0], 2, 2, 2, 2), [Ramp([2, 4, 4, 3], 16)]);
        Check(checks, "broadcast add and multiply", t => Ops.Multiply(Ops.Add(t[0], t[1]), t[2]), [R([3, 1, 4], 17), R([2, 1], 18), R([4], 19)]);
        Check(checks, "sum and mean over axes", t => Ops.Add(Ops.Sum(t[0], [0, 2], keepDims: true), Ops.Mean(t[0], 1, keepDims: true)), [R([3, 4, 5], 20)]);
        Check(checks, "softmax over an axis", t => Ops.Softmax(t[0], 1), [R([3, 5, 2], 21)]);
        Check(checks, "sigmoid, tanh, exp", t => Ops.Exp(Ops.Tanh(Ops.Sigmoid(t[0]))), [R([4, 6], 22)]);
        Check(checks, "sparse cross-entropy from logits", t => new SparseCategoricalCrossEntropy(fromLogits: true).Compute(t[0], Tensor.FromArray([0, 2, 1, 2], 4)), [R([4, 3], 23)]);
        Check(checks, "lstm, return sequences", t => Ops.Lstm(t[0], t[1], t[2], t[3], returnSequences: true), [R([2, 4, 3], 24), R([3, 20], 25, 0.5f), R([5, 20], 26, 0.5f), R([20], 27, 0.5f)]);
    }

    private static Tensor R(int[] shape, int seed, float scale = 1f) => Tensor.RandomUniform(shape, -scale, scale, seed);

    /// <summary>Distinct values 0.1 apart, shuffled: no pooling window has a tie within ε.</summary>
    private static Tensor Ramp(int[] shape, int seed)
    {
        float[] values = Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => i * 0.1f).ToArray();
        new Random(seed).Shuffle(values);
        return Tensor.FromArray(values, shape);
    }

    private static void Check(Checks checks, string name, Func<Tensor[], Tensor> op, Tensor[] inputs, float epsilon = 1e-2f)
    {
        checks.Run($"gradient {name}", () =>
        {
            foreach (Tensor input in inputs)
            {
                input.RequiresGrad = true;
                input.Grad = null;
            }
            Tensor y = op(inputs);
            Tensor weights = Tensor.RandomUniform(y.Shape.ToArray(), -1f, 1f, 123);
            Ops.Sum(Ops.Multiply(y, weights)).Backward();
            for (int t = 0; t < inputs.Length; t++)
            {
                Tensor input = inputs[t];
                if (input.Grad is null)
                    return $"input {t} received no gradient";
                Span<float> values = input.Span;
                for (int i = 0; i < input.Length; i++)
                {
                    float original = values[i];
                    values[i] = original + epsilon;
                    double plus = WeightedSum(op, inputs, weights);
                    values[i] = original - epsilon;
                    double minus = WeightedSum(op, inputs, weights);
                    values[i] = original;
                    double numeric = (plus - minus) / (2 * epsilon), analytic = input.Grad[i];
                    if (Math.Abs(analytic - numeric) > 2e-3 + 2e-2 * Math.Max(Math.Abs(numeric), Math.Abs(analytic)))
                        return $"input {t}, element {i}: analytic {analytic}, numeric {numeric}";
                }
            }
            return null;
        });
    }

    private static double WeightedSum(Func<Tensor[], Tensor> op, Tensor[] inputs, Tensor weights)
    {
        using (NanoNet.Autograd.Tape.NoGrad())
        {
            Tensor y = op(inputs);
            double sum = 0;
            for (int i = 0; i < y.Length; i++)
                sum += (double)y[i] * weights[i];
            return sum;
        }
    }
}

/// <summary>A few real training steps of small models on synthetic data that they can learn; the loss must fall.</summary>
internal static class TrainingChecks
{
    public static void Run(Checks checks)
    {
        // Four Gaussian blobs in 8 dimensions: an MLP separates them in a few epochs.
        checks.Run("training: MLP 8-32-4, Adam, 6 epochs of 16 batches", () =>
        {
            var (x, y) = Blobs(512, 8, 4, seed: 1);
            var model = new Sequential([8], new Dense(32, ActivationFunction.Relu), new Dense(4, ActivationFunction.Softmax));
            model.Compile(new Adam(learningRate: 0.01f), new SparseCategoricalCrossEntropy(), seed: 0);
            return Bound(model.Fit(x, y, batchSize: 32, epochs: 6, verbose: 0), model.Evaluate(new Dataset(x, y)).Loss, 0.25f);
        });

        // Horizontal against vertical bars in 8×8 images: Conv2D + MaxPool + Dense.
        checks.Run("training: Conv2D(4, 3x3) + MaxPool + Dense, Adam, 5 epochs of 8 batches", () =>
        {
            var (x, y) = Bars(256, seed: 2);
            var model = new Sequential([8, 8, 1], new Conv2D(4, 3, activation: ActivationFunction.Relu), new MaxPool2D(2),
                new Flatten(), new Dense(2, ActivationFunction.Softmax));
            model.Compile(new Adam(learningRate: 0.01f), new SparseCategoricalCrossEntropy(), seed: 0);
            return Bound(model.Fit(x, y, batchSize: 32, epochs: 5, verbose: 0), model.Evaluate(new Dataset(x, y)).Loss, 0.3f);
        });

        // Whether the first feature's sum over 10 steps is positive: an LSTM learns it.
        checks.Run("training: LSTM(12) + Dense, Adam, 6 epochs of 8 batches", () =>
        {
            var (x, y) = SignOfSum(256, 10, 3, seed: 3);
            var model = new Sequential([10, 3], new Lstm(12), new Dense(2, ActivationFunction.Softmax));
            model.Compile(new Adam(learningRate: 0.02f), new SparseCategoricalCrossEntropy(), seed: 0);
            return Bound(model.Fit(x, y, batchSize: 32, epochs: 6, verbose: 0), model.Evaluate(new Dataset(x, y)).Loss, 0.4f);
        });
    }

    /// <summary>The final loss must be finite, below the bound, and below 60% of the first epoch's.</summary>
    private static string? Bound(TrainingHistory history, float finalLoss, float bound)
    {
        float first = history.Epochs[0].Loss;
        string losses = string.Join(" ", history.Epochs.Select(e => e.Loss.ToString("F3"))) + $", evaluated {finalLoss:F3}";
        Console.WriteLine($"     epoch losses {losses}");
        return float.IsFinite(finalLoss) && finalLoss < bound && finalLoss < 0.6f * first ? null : $"loss {losses}, bound {bound}";
    }

    private static (Tensor X, Tensor Y) Blobs(int count, int features, int classes, int seed)
    {
        var rng = new Random(seed);
        float[] centres = KernelChecks.Random(classes * features, rng);
        var x = new float[count * features];
        var y = new float[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % classes;
            y[i] = c;
            for (int f = 0; f < features; f++)
                x[i * features + f] = 2f * centres[c * features + f] + 0.5f * (rng.NextSingle() - 0.5f);
        }
        return (Tensor.FromArray(x, count, features), Tensor.FromArray(y, count));
    }

    private static (Tensor X, Tensor Y) Bars(int count, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * 64];
        var y = new float[count];
        for (int i = 0; i < count; i++)
        {
            bool vertical = i % 2 == 1;
            y[i] = vertical ? 1 : 0;
            int line = rng.Next(8);
            for (int p = 0; p < 64; p++)
            {
                int row = p / 8, column = p % 8;
                float noise = 0.2f * rng.NextSingle();
                x[i * 64 + p] = ((vertical ? column : row) == line ? 1f : 0f) + noise;
            }
        }
        return (Tensor.FromArray(x, count, 8, 8, 1), Tensor.FromArray(y, count));
    }

    private static (Tensor X, Tensor Y) SignOfSum(int count, int steps, int features, int seed)
    {
        var rng = new Random(seed);
        var x = new float[count * steps * features];
        var y = new float[count];
        for (int i = 0; i < count; i++)
        {
            float sum = 0;
            for (int s = 0; s < steps * features; s++)
            {
                float v = rng.NextSingle() * 2f - 1f;
                x[i * steps * features + s] = v;
                if (s % features == 0)
                    sum += v;
            }
            y[i] = sum > 0 ? 1 : 0;
        }
        return (Tensor.FromArray(x, count, steps, features), Tensor.FromArray(y, count));
    }
}
