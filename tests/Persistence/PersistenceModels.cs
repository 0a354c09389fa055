using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>The seed models the persistence tests save and load, and helpers.</summary>
internal static class PersistenceModels
{
    /// <summary>The Keras CIFAR-10 convnet (examples/Cifar10), compiled.</summary>
    public static Sequential Cifar(int seed = 0)
    {
        var model = new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu),
            new MaxPool2D(2),
            new Flatten(),
            new Dense(128, ActivationFunction.Relu),
            new Dense(10, ActivationFunction.Softmax)) { Output = TextWriter.Null };
        model.Compile(new Adam(), new SparseCategoricalCrossEntropy(), seed);
        return model;
    }

    /// <summary>The IMDB seed model with a smaller vocabulary, compiled.</summary>
    public static Sequential Imdb(int vocabulary = 1000, int seed = 0)
    {
        var model = new Sequential([200],
            new Embedding(vocabulary, 128),
            new Lstm(128),
            new Dense(2, ActivationFunction.Softmax)) { Output = TextWriter.Null };
        model.Compile(new RmsProp(), new SparseCategoricalCrossEntropy(), seed);
        return model;
    }

    /// <summary>Two inputs, a layer shared by both, all four merge layers, two outputs; compiled.</summary>
    public static Model TwoInputs(int seed = 0)
    {
        var left = new Input([6], "left");
        var right = new Input([6], "right");
        var shared = new Dense(8, ActivationFunction.Tanh, name: "shared");
        SymbolicTensor l = shared.Call(left), r = shared.Call(right);
        SymbolicTensor sum = new Add(name: "sum").Call(l, r);
        SymbolicTensor both = new Concatenate(name: "joined").Call(sum, new Subtract(name: "difference").Call(l, r), new Multiply(name: "product").Call(l, r));
        SymbolicTensor classes = new Dense(3, ActivationFunction.Softmax, name: "classes").Call(both);
        SymbolicTensor score = new Dense(1, name: "score").Call(new Activation(ActivationFunction.Relu, name: "relu").Call(sum));
        var model = new Model([left, right], [classes, score], "two_inputs") { Output = TextWriter.Null };
        model.Compile(new Adam(), [new SparseCategoricalCrossEntropy(), new MeanSquaredError()], seed: seed);
        return model;
    }

    public static Tensor Random(int[] shape, int seed, float low = -1, float high = 1) => Tensor.RandomUniform(shape, low, high, seed);

    /// <summary>Token ids in [1, vocabulary) with some leading zeros (padding).</summary>
    public static Tensor Tokens(int rows, int length, int vocabulary, int seed)
    {
        Tensor ids = Tensor.RandomUniform([rows, length], 1, vocabulary, seed);
        Span<float> span = ids.Span;
        for (int i = 0; i < span.Length; i++)
            span[i] = i % length < 5 ? 0 : MathF.Floor(span[i]);
        return ids;
    }

    /// <summary>Whether two tensors hold the same bits.</summary>
    public static bool BitIdentical(Tensor a, Tensor b) =>
        a.Shape.SequenceEqual(b.Shape) && a.Span.ToArray().Select(BitConverter.SingleToInt32Bits).SequenceEqual(b.Span.ToArray().Select(BitConverter.SingleToInt32Bits));

    public static string TemporaryPath(string extension = ".safetensors") =>
        Path.Combine(Path.GetTempPath(), $"nanonet-test-{Guid.NewGuid():N}{extension}");
}
