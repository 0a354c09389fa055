using BenchmarkDotNet.Attributes;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Losses;

namespace NanoNet.Benchmarks;

/// <summary>
/// One whole training step (forward, loss, backward, SGD update) of the CIFAR-10 seed model at batch 64,
/// with the memory diagnoser to show what a steady step allocates.
/// </summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    [Params(1, 2)]
    public int Threads { get; set; }

    private Sequential _model = null!;
    private Dataset _batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        Parallelism.MaxThreads = Threads;
        (_model, _batch) = SeedModels.Cifar10(batchSize: 64);
        _model.TrainStep(_batch);
    }

    [Benchmark(OperationsPerInvoke = 64, Description = "CIFAR-10 seed model train step (per image)")]
    public float CifarTrainStep() => _model.TrainStep(_batch).Loss;
}
