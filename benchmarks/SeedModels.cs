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
        "keras-cifar10" => 32,
        _ => throw Unknown(model),
    };

    public static (Sequential Model, Dataset Batch) Create(string model, int batchSize) => model switch
    {
        "cifar10" => Cifar10(batchSize),
        "text" => Imdb(batchSize),
        "keras-cifar10" => KerasCifar10(batchSize),
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

    /// <summary>
    /// The Keras example cifar10_cnn (examples/Keras/Shared/KerasModels.cs, repeated here so the benchmarks do not
    /// reference the examples): Conv2D(32, same) → Conv2D(32) → MaxPool(2) → Dropout(0.25) → Conv2D(64, same) →
    /// Conv2D(64) → MaxPool(2) → Dropout(0.25) → Flatten → Dense(512, relu) → Dropout(0.5) → Dense(10, softmax),
    /// 3×3 kernels with ReLU, RMSprop (η 1e-4, ρ 0.9, ε 1e-7 outside the root, Keras 2's inverse-time decay).
    /// </summary>
    public static (Sequential Model, Dataset Batch) KerasCifar10(int batchSize)
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, padding: "same", activation: ActivationFunction.Relu),
            new Conv2D(32, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2),
            new Dropout(0.25f, seed: 1),
            new Conv2D(64, 3, padding: "same", activation: ActivationFunction.Relu),
            new Conv2D(64, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2),
            new Dropout(0.25f, seed: 2),
            new Flatten(),
            new Dense(512, ActivationFunction.Relu),
            new Dropout(0.5f, seed: 3),
            new Dense(10, ActivationFunction.Softmax));
        var optimizer = new RmsProp(learningRate: 1e-4f)
        {
            EpsilonOutsideSquareRoot = true,
            Schedule = new InverseTimeDecay(1e-4f, decayRate: 1e-6f),
        };
        model.Compile(optimizer, new SparseCategoricalCrossEntropy(), seed: 0);
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
