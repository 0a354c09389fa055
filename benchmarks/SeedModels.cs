using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Losses;

namespace NanoNet.Benchmarks;

/// <summary>The seed models of the two reproduced Keras examples, with a synthetic batch of the right shapes.</summary>
public static class SeedModels
{
    public static int TrainingBatchSize(string model) => model switch
    {
        "cifar10" => 64,
        "text" => 32,
        _ => throw Unknown(model),
    };

    public static (Sequential Model, Dataset Batch) Create(string model, int batchSize) => model switch
    {
        "cifar10" => Cifar10(batchSize),
        "text" => Imdb(batchSize),
        _ => throw Unknown(model),
    };

    /// <summary>Conv2D(32, 3×3, relu) → MaxPool(2) → Flatten → Dense(128, relu) → Dense(10, softmax), SGD 0.01.</summary>
    public static (Sequential Model, Dataset Batch) Cifar10(int batchSize)
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 0);
        model.Output = TextWriter.Null;
        var images = Tensor.RandomUniform([batchSize, 32, 32, 3], 0, 1, seed: 1);
        var labels = Tensor.Zeros(batchSize);
        for (int i = 0; i < batchSize; i++) labels[i] = i % 10;
        return (model, new Dataset(images, labels));
    }

    private static ArgumentException Unknown(string model) => new($"Unknown model '{model}'. Available: {string.Join(", ", Throughput.Models)}.");

    /// <summary>Embedding(20000, 128) → LSTM(128) → Dense(2, softmax), SGD 0.01: the IMDB seed model at length 200.</summary>
    public static (Sequential Model, Dataset Batch) Imdb(int batchSize, int length = 200)
    {
        var model = new Sequential([length], new Embedding(20_000, 128), new Lstm(128), new Dense(2, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.01f), new SparseCategoricalCrossEntropy(), seed: 0);
        model.Output = TextWriter.Null;
        var rng = new Random(1);
        var ids = Tensor.Zeros(batchSize, length);
        for (int i = 0; i < ids.Length; i++) ids[i] = rng.Next(20_000);
        var labels = Tensor.Zeros(batchSize);
        for (int i = 0; i < batchSize; i++) labels[i] = i % 2;
        return (model, new Dataset(ids, labels));
    }
}
