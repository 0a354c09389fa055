using BenchmarkDotNet.Attributes;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;

namespace NanoNet.Benchmarks;

/// <summary>
/// Inference of a CIFAR-shaped network with a BatchNormalization after every convolution (Keras's
/// Conv → BatchNormalization → Activation blocks: 32×32×3 → 2 × Conv(32) → pool → 2 × Conv(64) → pool → Dense(10)),
/// batch 256, with <see cref="Model.FoldBatchNormalization"/> off and on, with 3×3 convolutions and with 1×1 ones
/// (9 times fewer FLOPs per activation, so the normalisation's share is larger), at 1 thread (2 threads on the shared
/// 2-core machine measure its neighbours). Folding removes the four normalisation passes over the activations
/// (8, 8, 4 and 4 MB written, as much read) at the cost of refolding four small kernels per call. Run:
/// <c>dotnet run -c Release --project benchmarks -- --filter '*BatchNormFoldingBenchmarks*' --job short</c>.
/// </summary>
[MemoryDiagnoser]
public class BatchNormFoldingBenchmarks
{
    private const int Batch = 256;

    [Params(false, true)]
    public bool Fold { get; set; }

    [Params(1, 3)]
    public int KernelSize { get; set; } = 3;

    private Sequential _model = null!;
    private Tensor _x = null!;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = 1;
        int k = KernelSize;
        _model = new Sequential([32, 32, 3],
            new Conv2D(32, k, padding: "same"), new BatchNormalization(), new Activation(ActivationFunction.Relu),
            new Conv2D(32, k, padding: "same"), new BatchNormalization(), new Activation(ActivationFunction.Relu), new MaxPool2D(2),
            new Conv2D(64, k, padding: "same"), new BatchNormalization(), new Activation(ActivationFunction.Relu),
            new Conv2D(64, k, padding: "same"), new BatchNormalization(), new Activation(ActivationFunction.Relu), new MaxPool2D(2),
            new Flatten(), new Dense(10, ActivationFunction.Softmax));
        _model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), 1);
        // Statistics and scales away from (0, 1) and (1, 0), as after training.
        var random = new RandomStream(2);
        foreach (Layer layer in _model.Layers)
            if (layer is BatchNormalization bn)
            {
                random.FillUniform(bn.MovingMean.Span, -0.5f, 0.5f);
                random.FillUniform(bn.MovingVariance.Span, 0.5f, 2f);
                random.FillUniform(bn.Gamma!.Span, 0.5f, 1.5f);
            }
        _model.FoldBatchNormalization = Fold;
        _x = Tensor.RandomUniform([Batch, 32, 32, 3], 0f, 1f, 3);
    }

    [Benchmark(Description = "Predict, batch 256, 4 x (Conv2D k x k -> BatchNorm -> ReLU)")]
    public float Predict() => _model.Predict(_x, Batch)[0];
}
