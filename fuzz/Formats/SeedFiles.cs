using NanoNet.Losses;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Fuzz.Formats;

/// <summary>Where the seeds and regression inputs live, and how the seed files are made (tiny models trained on real data).</summary>
public static class SeedFiles
{
    /// <summary>The repository root: the nearest folder above <paramref name="start"/> holding NanoNet.sln.</summary>
    public static string RepositoryRoot(string? start = null)
    {
        foreach (string? candidate in new[] { start, Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (DirectoryInfo? folder = candidate is null ? null : new DirectoryInfo(candidate); folder is not null; folder = folder.Parent)
                if (File.Exists(Path.Combine(folder.FullName, "NanoNet.sln")))
                    return folder.FullName;
        throw new DirectoryNotFoundException("NanoNet.sln not found above the current folder; run from the repository.");
    }

    /// <summary>tests/Persistence/Seeds.</summary>
    public static string SeedFolder(string root) => Path.Combine(root, "tests", "Persistence", "Seeds");

    /// <summary>tests/Persistence/Regressions: inputs that once found a bug, named <c>{target}-{seed model}-*.bin</c>.</summary>
    public static string RegressionFolder(string root) => Path.Combine(root, "tests", "Persistence", "Regressions");

    /// <summary>
    /// Trains each seed model for a few steps on a small real subset (512 CIFAR-10 images; 512 IMDB
    /// reviews cut to 16 words of a 64-word vocabulary) and writes its weights, model and checkpoint (Adam state, epoch, step, two random states) files.
    /// </summary>
    public static void Make(string folder, string? dataPath)
    {
        Directory.CreateDirectory(folder);
        Cifar10Data cifar = Cifar10.Load(Cifar10.Locate(dataPath), trainLimit: 512, testLimit: 1);
        Train("cifar-tiny", cifar.Train, folder);

        (Dataset reviews, _, _) = Imdb.Load(Imdb.Locate(dataPath), vocabularySize: 64, sequenceLength: 16);
        int[] rows = [.. Enumerable.Range(0, 512).Select(i => i * (reviews.Count / 512))]; // both labels (the split is sorted by label)
        Dataset subset = reviews.Gather(rows);
        Tensor tokens = subset.Features;
        var numbers = Tensor.Zeros(rows.Length, 2);
        for (int r = 0; r < rows.Length; r++)
        {
            ReadOnlySpan<float> ids = tokens.Span.Slice(r * 16, 16);
            int words = 0, unknown = 0;
            foreach (float id in ids)
            {
                words += id != 0 ? 1 : 0;
                unknown += id == 1 ? 1 : 0;
            }
            numbers[r, 0] = words / 16f;
            numbers[r, 1] = words == 0 ? 0 : (float)unknown / words;
        }
        Train("text-two-inputs", new Dataset([tokens, numbers], [subset.Labels]), folder);
    }

    private static void Train(string name, Dataset data, string folder)
    {
        Model model = SeedModels.Create(name);
        model.Output = TextWriter.Null;
        model.Compile(new Adam(0.01f), new SparseCategoricalCrossEntropy(), seed: 1);
        TrainingHistory history = model.Fit(data, batchSize: 64, epochs: 2, verbose: 0);
        model.SaveWeights(Path.Combine(folder, name + ".weights.safetensors"));
        model.Save(Path.Combine(folder, name + ".model.safetensors"));
        int steps = 2 * ((data.Count + 63) / 64);
        model.SaveCheckpoint(Path.Combine(folder, name + ".checkpoint.safetensors"), new TrainingState
        {
            Epoch = 2,
            Step = steps,
            RandomStates = { ["augmentation"] = new RandomStreamState(1, 3, 12_000), ["dropout"] = new RandomStreamState(7, 0, 4_096) },
        });
        Console.WriteLine($"{name}: trained {2 * ((data.Count + 63) / 64)} steps on {data.Count} examples, loss {history.Epochs[0].Loss:F3} → {history.Last.Loss:F3}; " +
            $"weights {new FileInfo(Path.Combine(folder, name + ".weights.safetensors")).Length} bytes, model {new FileInfo(Path.Combine(folder, name + ".model.safetensors")).Length} bytes, " +
            $"checkpoint {new FileInfo(Path.Combine(folder, name + ".checkpoint.safetensors")).Length} bytes");
    }
}
