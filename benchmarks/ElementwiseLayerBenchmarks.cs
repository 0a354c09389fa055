using BenchmarkDotNet.Attributes;
using NanoNet.Autograd;
using NanoNet.Losses;
using NanoNet.Memory;

namespace NanoNet.Benchmarks;

/// <summary>One case of <see cref="ElementwiseLayerBenchmarks"/>: an op, run forward only or forward + backward.</summary>
public sealed record LayerCase(string Name, bool Backward)
{
    public override string ToString() => Name + (Name == "copy" ? " (probe)" : Backward ? " fwd+bwd" : " fwd");
}

/// <summary>
/// The activation functions (as <see cref="Ops"/> calls, what the Activation layers and fused layer activations
/// run), LeakyReLU(α) / ELU(α) layers, Softmax over the last axis and over a middle axis, Dropout and Embedding,
/// each forward only and forward + backward, in step memory as a training step runs them. These are memory-bound:
/// the GB/s column counts the bytes a call must read and write, next to a plain copy of the element-wise
/// cases' 4 MB (the <c>copy</c> case: the bandwidth this machine gives a single-threaded streaming kernel).
/// <list type="bullet">
/// <item>Element-wise activations, Dropout(0.25) and SpatialDropout2D(0.25): (32, 32, 32, 32), 1 M values (4 MB), a conv layer's output
/// on a CIFAR-sized batch. Forward reads x and writes y (Dropout also writes its saved mask); backward reads dY
/// and one saved tensor and reads and writes dX (Dropout: dY, mask, dX).</item>
/// <item>Softmax: attention scores (32·4 heads, 64, 64), over the last axis and over axis 1; same passes.</item>
/// <item>Embedding(20000, 128) on (32, 100) ids: forward reads 3,200 table rows and writes y (1.6 MB); backward
/// reads dY and reads and writes the touched gradient rows, then zeroes them as the optimizer step would.</item>
/// <item>GlobalAveragePooling2D / GlobalMaxPooling2D on the same (32, 32, 32, 32) map: forward reads x (1 pass);
/// backward writes dX (average: reads and writes it, 2 passes; max: the zeroed gradient is written once).</item>
/// <item>ZeroPadding2D(1) on (32, 32, 32, 32) → (32, 34, 34, 32): forward reads x and writes the 1.13× larger y;
/// backward reads dY's window and reads and writes dX.</item>
/// <item>RepeatVector(100) on (32, 128) → (32, 100, 128): forward writes y (1.6 MB), backward reads dY.</item>
/// </list>
/// The per-element kernels are single-threaded (no parallel split), so there is no thread parameter.
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*ElementwiseLayerBenchmarks*' --job short --warmupCount 15 --iterationCount 5 --iterationTime 100</c>
/// (multi-millisecond cases need the longer warm-up for the tiered JIT to finish; see benchmarks/README.md section 9).
/// </summary>
[MemoryDiagnoser]
public class ElementwiseLayerBenchmarks : IBytesCounted
{
    private static readonly int[] Map = [32, 32, 32, 32], Scores = [128, 64, 64], Ids = [32, 100], Vectors = [32, Width];
    private static readonly (int, int)[] Padding = [(0, 0), (1, 1), (1, 1), (0, 0)];
    private const int Vocabulary = 20_000, Width = 128;

    /// <summary>
    /// Every case, or only those named in <c>NANONET_BENCH_CASES</c> (comma-separated, e.g.
    /// <c>copy,Dropout(0.25),SpatialDropout2D(0.25)</c>) to time a few without the whole table.
    /// </summary>
    public static IEnumerable<LayerCase> Cases()
    {
        string[]? only = Environment.GetEnvironmentVariable("NANONET_BENCH_CASES")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return AllCases().Where(c => only is null || only.Contains(c.Name));
    }

    private static IEnumerable<LayerCase> AllCases()
    {
        yield return new("copy", false);
        foreach (string name in (string[])["relu", "sigmoid", "tanh", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "softsign",
                     "hard_sigmoid", "LeakyReLU(0.3)", "ELU(0.5)", "softmax(-1)", "softmax(1)", "Dropout(0.25)", "SpatialDropout2D(0.25)", "Embedding",
                     "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D(1)", "RepeatVector(100)"])
        {
            yield return new(name, false);
            yield return new(name, true);
        }
    }

    [ParamsSource(nameof(Cases))]
    public LayerCase Case { get; set; } = null!;

    private int Elements => Case.Name switch
    {
        "softmax(-1)" or "softmax(1)" => 128 * 64 * 64,
        "Embedding" or "RepeatVector(100)" => 32 * 100 * Width,
        _ => 32 * 32 * 32 * 32,
    };

    /// <summary>Passes over the tensor: 2 forward (3 for Dropout: its mask), 4 more backward (see the class summary).</summary>
    public double BytesPerCall => (double)Elements * sizeof(float) * (Case.Name switch
    {
        "copy" => 2,
        "Dropout(0.25)" => Case.Backward ? 6 : 3,
        "SpatialDropout2D(0.25)" => Case.Backward ? 5 : 2, // its N×C mask is 1,024 values: negligible
        "Embedding" => Case.Backward ? 5 : 2,
        "GlobalAveragePooling2D" => Case.Backward ? 3 : 1,
        "GlobalMaxPooling2D" => Case.Backward ? 2 : 1,
        "ZeroPadding2D(1)" => Case.Backward ? 1 + 34.0 * 34 / (32 * 32) + 3 : 1 + 34.0 * 34 / (32 * 32),
        "RepeatVector(100)" => Case.Backward ? 2 : 1,
        _ => Case.Backward ? 6 : 2,
    });

    private readonly StepMemory _memory = new();
    private readonly RandomStream _random = new(7);
    private Tensor _x = null!, _dY = null!, _table = null!, _ids = null!;
    private float[] _source = [], _destination = [];

    [GlobalSetup]
    public void Setup()
    {
        if (Case.Name == "Embedding")
        {
            _table = Tensor.RandomUniform([Vocabulary, Width], -0.05f, 0.05f, 1).AsParameter("table");
            _ids = Tensor.RandomUniform(Ids, 0, Vocabulary, 2);
            foreach (ref float id in _ids.Span)
                id = MathF.Floor(id);
            _dY = Tensor.RandomUniform([.. Ids, Width], -1, 1, 3);
            return;
        }
        int[] shape = Case.Name.StartsWith("softmax", StringComparison.Ordinal) ? Scores : Case.Name.StartsWith("Repeat", StringComparison.Ordinal) ? Vectors : Map;
        _x = Tensor.RandomUniform(shape, -3, 3, 1).AsParameter("x");
        _dY = Tensor.RandomUniform(Case.Name switch
        {
            "GlobalAveragePooling2D" or "GlobalMaxPooling2D" => [32, 32],
            "ZeroPadding2D(1)" => [32, 34, 34, 32],
            "RepeatVector(100)" => [32, 100, Width],
            _ => shape,
        }, -1, 1, 2);
        _source = _x.ToArray();
        _destination = new float[_source.Length];
    }

    private Tensor Forward() => Case.Name switch
    {
        "relu" => Ops.Relu(_x),
        "sigmoid" => Ops.Sigmoid(_x),
        "tanh" => Ops.Tanh(_x),
        "leaky_relu" => Ops.LeakyRelu(_x),
        "elu" => Ops.Elu(_x),
        "selu" => Ops.Selu(_x),
        "gelu" => Ops.Gelu(_x),
        "silu" => Ops.Silu(_x),
        "softplus" => Ops.Softplus(_x),
        "softsign" => Ops.Softsign(_x),
        "hard_sigmoid" => Ops.HardSigmoid(_x),
        "LeakyReLU(0.3)" => Ops.LeakyRelu(_x, 0.3f),
        "ELU(0.5)" => Ops.Elu(_x, 0.5f),
        "softmax(-1)" => Ops.Softmax(_x, -1),
        "softmax(1)" => Ops.Softmax(_x, 1),
        "Dropout(0.25)" => Ops.Dropout(_x, 0.25f, _random),
        "SpatialDropout2D(0.25)" => Ops.SpatialDropout(_x, 0.25f, _random),
        "Embedding" => Ops.Embedding(_ids, _table),
        "GlobalAveragePooling2D" => Ops.Mean(_x, [1, 2]),
        "GlobalMaxPooling2D" => Ops.Max(_x, [1, 2]),
        "ZeroPadding2D(1)" => Ops.Pad(_x, Padding),
        "RepeatVector(100)" => Ops.BroadcastTo(Ops.Unsqueeze(_x, 1), 32, 100, Width),
        _ => throw new InvalidOperationException(Case.Name),
    };

    [Benchmark]
    public float Run()
    {
        if (Case.Name == "copy")
        {
            _source.AsSpan().CopyTo(_destination);
            return _destination[0];
        }
        _memory.Release();
        using (_memory.Use())
        {
            if (!Case.Backward)
            {
                using (Tape.NoGrad())
                    return Forward()[0];
            }
            Tensor y = Forward();
            y.CreatedBy!.Backward(_dY); // the op's own backward pass, seeded with a fixed dY
            if (Case.Name == "Embedding")
                _table.ZeroGrad(); // only the touched rows, as after an optimizer step
            return y[0];
        }
    }
}

/// <summary>One case of <see cref="LossBenchmarks"/>.</summary>
public sealed record LossCase(string Name)
{
    public override string ToString() => Name;
}

/// <summary>
/// Every loss, forward + backward (a NanoNet loss computes its gradient in the forward call; backward scales it
/// into dP), on 1 M predictions: 8,192 rows × 128 (a sequence model's batch of 32 × 256 steps over 128 classes,
/// or 128 labels / regression targets per row), in step memory as a training step runs it. The <c>copy</c> case
/// copies the 4 MB of predictions (the bandwidth probe). Bytes counted: forward reads P and the targets and
/// writes the saved gradient; backward reads it and reads and writes dP: 6 passes over 4 MB (sparse targets:
/// 5 passes and one id per row).
/// Run: <c>dotnet run -c Release --project benchmarks -- --filter '*LossBenchmarks*' --job short --warmupCount 15 --iterationCount 5 --iterationTime 100</c>.
/// </summary>
[MemoryDiagnoser]
public class LossBenchmarks : IBytesCounted
{
    private const int Rows = 8192, Columns = 128;

    public static IEnumerable<LossCase> Cases() =>
    [
        new("copy"),
        new("binary_crossentropy (probabilities)"),
        new("binary_crossentropy (from_logits)"),
        new("binary_crossentropy (fused sigmoid)"),
        new("categorical_crossentropy (probabilities)"),
        new("categorical_crossentropy (fused softmax)"),
        new("categorical_crossentropy (fused softmax, smoothing 0.1)"),
        new("sparse_categorical_crossentropy (fused softmax)"),
        new("sparse_categorical_crossentropy (probabilities)"),
        new("mean_squared_error"),
        new("mean_squared_error (sample weights)"),
        new("mean_absolute_error"),
        new("huber"),
        new("kl_divergence"),
        new("cosine_similarity"),
    ];

    [ParamsSource(nameof(Cases))]
    public LossCase Case { get; set; } = null!;

    private bool Sparse => Case.Name.StartsWith("sparse", StringComparison.Ordinal);

    public double BytesPerCall => Case.Name == "copy" ? 2.0 * Rows * Columns * sizeof(float)
        : Sparse ? (5.0 * Rows * Columns + Rows) * sizeof(float)
        : 6.0 * Rows * Columns * sizeof(float);

    private readonly StepMemory _memory = new();
    private Tensor _predictions = null!, _targets = null!, _weights = null!;
    private Loss _loss = null!;
    private float[] _source = [], _destination = [];

    [GlobalSetup]
    public void Setup()
    {
        bool logits = Case.Name.Contains("logits", StringComparison.Ordinal) || Case.Name.Contains("fused", StringComparison.Ordinal)
            || Case.Name.StartsWith("mean", StringComparison.Ordinal) || Case.Name.StartsWith("huber", StringComparison.Ordinal)
            || Case.Name.StartsWith("cosine", StringComparison.Ordinal);
        // Probabilities in (0.01, 0.99) (clipping never bites); logits and regression outputs in (−3, 3).
        _predictions = (logits ? Tensor.RandomUniform([Rows, Columns], -3, 3, 1) : Tensor.RandomUniform([Rows, Columns], 0.01f, 0.99f, 1)).AsParameter("p");
        if (Sparse)
        {
            _targets = Tensor.RandomUniform([Rows], 0, Columns, 2);
            foreach (ref float id in _targets.Span)
                id = MathF.Floor(id);
        }
        else if (Case.Name.StartsWith("binary", StringComparison.Ordinal))
        {
            _targets = Tensor.RandomUniform([Rows, Columns], 0, 1, 2);
            foreach (ref float t in _targets.Span)
                t = t < 0.5f ? 0f : 1f;
        }
        else if (Case.Name.StartsWith("categorical", StringComparison.Ordinal) || Case.Name.StartsWith("kl", StringComparison.Ordinal))
        {
            _targets = Tensor.Zeros([Rows, Columns]);
            var rng = new Random(2);
            for (int r = 0; r < Rows; r++)
                _targets.Span[r * Columns + rng.Next(Columns)] = 1f; // one-hot (KL: a point-mass target distribution)
        }
        else
        {
            _targets = Tensor.RandomUniform([Rows, Columns], -3, 3, 2);
        }
        _weights = Tensor.RandomUniform([Rows], 0, 2, 3);
        _loss = Case.Name switch
        {
            "binary_crossentropy (probabilities)" or "binary_crossentropy (fused sigmoid)" => new BinaryCrossEntropy(),
            "binary_crossentropy (from_logits)" => new BinaryCrossEntropy(fromLogits: true),
            "categorical_crossentropy (probabilities)" or "categorical_crossentropy (fused softmax)" => new CategoricalCrossEntropy(),
            "categorical_crossentropy (fused softmax, smoothing 0.1)" => new CategoricalCrossEntropy(labelSmoothing: 0.1f),
            "sparse_categorical_crossentropy (fused softmax)" or "sparse_categorical_crossentropy (probabilities)" => new SparseCategoricalCrossEntropy(),
            "mean_squared_error" or "mean_squared_error (sample weights)" => new MeanSquaredError(),
            "mean_absolute_error" => new MeanAbsoluteError(),
            "huber" => new Huber(),
            "kl_divergence" => new KLDivergence(),
            "cosine_similarity" => new CosineSimilarity(),
            _ => new MeanSquaredError(), // copy
        };
        _source = _predictions.ToArray();
        _destination = new float[_source.Length];
    }

    private Tensor Compute()
    {
        if (Case.Name.Contains("fused sigmoid", StringComparison.Ordinal))
            return _loss.ComputeFromLogits(ActivationFunction.Sigmoid, _predictions, _targets, null)!;
        if (Case.Name.Contains("fused softmax", StringComparison.Ordinal))
            return _loss.ComputeFromLogits(ActivationFunction.Softmax, _predictions, _targets, null)!;
        return _loss.Compute(_predictions, _targets, Case.Name.Contains("weights", StringComparison.Ordinal) ? _weights : null);
    }

    [Benchmark]
    public float Run()
    {
        if (Case.Name == "copy")
        {
            _source.AsSpan().CopyTo(_destination);
            return _destination[0];
        }
        _memory.Release();
        using (_memory.Use())
        {
            Tensor loss = Compute();
            loss.Backward();
            return loss[0];
        }
    }
}
