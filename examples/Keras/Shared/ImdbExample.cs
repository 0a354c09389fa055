using System.Diagnostics;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Persistence;

/// <summary>
/// The program the three Keras IMDB examples share: read the options, load IMDB at the example's review length,
/// build and train its model with the test reviews as validation data after every epoch (as the Keras scripts do),
/// print the test accuracy per epoch and the seconds per epoch, and optionally draw the curves and save the model.
/// </summary>
internal static class ImdbExample
{
    /// <summary>Runs an example; returns the process exit code.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="name">The Keras script's name (charts are named after it).</param>
    /// <param name="build">Builds and compiles the model for a seed.</param>
    /// <param name="maxLength">The script's <c>maxlen</c>.</param>
    /// <param name="batchSize">The script's batch size.</param>
    /// <param name="epochs">The script's epochs.</param>
    public static int Run(string[] args, string name, Func<int, Sequential> build, int maxLength, int batchSize, int epochs)
    {
        string? dataPath = null, savePath = null, chartDirectory = null;
        int seed = 0;
        int? subset = null;
        var commandLine = new CommandLine(args);
        try
        {
            while (commandLine.Next(out string option))
            {
                switch (option)
                {
                    case "--data": dataPath = commandLine.Text(); break;
                    case "--epochs": epochs = commandLine.Int(); break;
                    case "--batch": batchSize = commandLine.Int(); break;
                    case "--threads": Parallelism.MaxThreads = commandLine.Int(); break;
                    case "--subset": subset = commandLine.Int(); break;
                    case "--seed": seed = commandLine.Int(); break;
                    case "--charts": chartDirectory = commandLine.Text(); break;
                    case "--save": savePath = commandLine.Text(); break;
                    default:
                        Console.Error.WriteLine($"Unknown option {option}. Options: --data PATH --epochs N --batch N --threads N --subset N " +
                                                "--seed N --charts DIR --save PATH");
                        return 2;
                }
            }
        }
        catch (ArgumentException e) // a missing or malformed value
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (ImdbData.Load(dataPath, maxLength, subset, seed) is not { } data)
            return 1;
        (Dataset train, Dataset test) = data;
        Sequential model = build(seed);
        Console.WriteLine(model.Summary());
        Console.WriteLine($"{name}: batch {batchSize}, {epochs} epochs, the test reviews as validation data");

        var wall = Stopwatch.StartNew();
        TrainingHistory history = model.Fit(train, batchSize, epochs, shuffle: true, validation: test, seed: seed);
        wall.Stop();

        Console.WriteLine();
        Console.WriteLine("epoch  test accuracy  test loss  seconds");
        foreach (EpochMetrics e in history.Epochs)
            Console.WriteLine($"{e.Epoch,5}  {e.ValidationAccuracy,13:F4}  {e.ValidationLoss,9:F4}  {e.Seconds,7:F1}");
        double trainSeconds = history.Epochs.Sum(e => e.Seconds);
        Console.WriteLine($"Training: {trainSeconds / history.Epochs.Count:F1} s per epoch, {(double)train.Count * history.Epochs.Count / trainSeconds:N0} reviews/s; " +
                          $"total wall time {wall.Elapsed.TotalSeconds:F0} s (including the per-epoch evaluation)");
        if (chartDirectory is not null)
            foreach (string file in TrainingCurves.Write(chartDirectory, name, $"Keras {name}", history))
                Console.WriteLine($"Wrote {file}");
        if (savePath is not null)
        {
            model.Save(savePath);
            Console.WriteLine($"Saved the model to {savePath}");
        }
        return 0;
    }
}
