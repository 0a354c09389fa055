using NanoNet.Layers;

namespace NanoNet.Fuzz.Formats;

/// <summary>
/// The two tiny models the seed files are made from (small enough that a seed is a few KB): a CIFAR-10
/// convnet (Sequential) and a two-input text model with Embedding, LSTM, a shared layer and merges.
/// Names are fixed so a fresh model matches a seed's weight names.
/// </summary>
public static class SeedModels
{
    /// <summary>The names of the seed models (also the seed files' name prefixes).</summary>
    public static readonly string[] Names = ["cifar-tiny", "text-two-inputs"];

    /// <summary>A fresh, uncompiled model of the seed named <paramref name="name"/>.</summary>
    public static Model Create(string name) => name switch
    {
        "cifar-tiny" => new Sequential([32, 32, 3],
            new Conv2D(4, 3, stride: 2, activation: ActivationFunction.Relu, name: "conv2d"),
            new MaxPool2D(5, name: "max_pool2d"),
            new Flatten(name: "flatten"),
            new Dense(10, ActivationFunction.Softmax, name: "dense")),
        "text-two-inputs" => TextTwoInputs(),
        _ => throw new ArgumentException($"No seed model '{name}'; known: {string.Join(", ", Names)}.", nameof(name)),
    };

    /// <summary>Tokens → Embedding → LSTM, and two numbers → Dense; one Dense shared by both; Add, Multiply, Concatenate.</summary>
    private static Model TextTwoInputs()
    {
        var tokens = new Input([16], "tokens");
        var numbers = new Input([2], "numbers");
        SymbolicTensor text = new Lstm(4, name: "lstm").Call(new Embedding(64, 4, maskZero: true, name: "embedding").Call(tokens));
        SymbolicTensor stats = new Dense(4, ActivationFunction.Tanh, name: "numbers_dense").Call(numbers);
        var shared = new Dense(4, ActivationFunction.Relu, name: "shared");
        SymbolicTensor a = shared.Call(text), b = shared.Call(stats);
        SymbolicTensor joined = new Concatenate(name: "joined").Call(new Add(name: "sum").Call(a, b), new Multiply(name: "product").Call(a, b));
        return new Model([tokens, numbers], [new Dense(2, ActivationFunction.Softmax, name: "sentiment").Call(joined)], "text_two_inputs");
    }
}
