using NanoNet.Losses;
using System.Diagnostics;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Fuzz.Formats;

/// <summary>File sizes and save/load times of the two seed models of the issue (CIFAR-10 convnet, IMDB LSTM with 20,000 words).</summary>
public static class Measurements
{
    /// <summary>Prints size, SaveWeights/LoadWeights and Save/Load times (best of five) for both models.</summary>
    public static void Print()
    {
        Measure("CIFAR-10 convnet", () => new Sequential([32, 32, 3],
            new Conv2D(32, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(128, ActivationFunction.Relu), new Dense(10, ActivationFunction.Softmax)));
        Measure("IMDB LSTM", () => new Sequential([200], new Embedding(20_000, 128), new Lstm(128), new Dense(2, ActivationFunction.Softmax)));
    }

    private static void Measure(string title, Func<Model> create)
    {
        Model model = create();
        model.Compile(new Adam(), new SparseCategoricalCrossEntropy());
        string weights = Path.Combine(Path.GetTempPath(), $"nanonet-measure-{Guid.NewGuid():N}.weights.safetensors");
        string whole = Path.ChangeExtension(weights, ".model.safetensors");
        try
        {
            double saveWeights = Best(() => model.SaveWeights(weights));
            Model target = create();
            double loadWeights = Best(() => target.LoadWeights(weights));
            double save = Best(() => model.Save(whole));
            double load = Best(() => Model.Load(whole));
            Console.WriteLine($"{title}: {model.ParameterCount:N0} parameters; weights file {new FileInfo(weights).Length:N0} bytes (save {saveWeights:F1} ms, load {loadWeights:F1} ms); " +
                $"model file {new FileInfo(whole).Length:N0} bytes (save {save:F1} ms, load {load:F1} ms)");
        }
        finally
        {
            File.Delete(weights);
            File.Delete(whole);
        }
    }

    private static double Best(Action action)
    {
        double best = double.MaxValue;
        for (int i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            action();
            best = Math.Min(best, clock.Elapsed.TotalMilliseconds);
        }
        return best;
    }
}
