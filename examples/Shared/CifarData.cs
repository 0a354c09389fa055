using System.Diagnostics;
using NanoNet;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Persistence;

/// <summary>
/// CIFAR-10 as the CIFAR examples load and train it: find the official archive (an explicit path, or $NANONET_DATA),
/// read it (or the first <c>subset</c> training images), say what was loaded, and standardise every channel
/// with the training set's statistics when asked.
/// </summary>
internal static class CifarData
{
    /// <summary>The data, or null after printing why it could not be read.</summary>
    public static (Dataset Train, Dataset Test, ChannelStandardizer? Standardizer)? Load(string? dataPath, int? subset, bool standardize)
    {
        Dataset train, test;
        try
        {
            var clock = Stopwatch.StartNew();
            string path = Cifar10.Locate(dataPath);
            (train, test) = Cifar10.Load(path, trainLimit: subset);
            Console.WriteLine($"CIFAR-10 from {path}: {train.Count:N0} training, {test.Count:N0} test images, loaded in {clock.Elapsed.TotalSeconds:F1} s; {Parallelism.MaxThreads} thread(s)");
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
        ChannelStandardizer? standardizer = null;
        if (standardize)
        {
            standardizer = ChannelStandardizer.Fit(train.Features);
            standardizer.Apply(train.Features);
            standardizer.Apply(test.Features);
        }
        return (train, test, standardizer);
    }

    /// <summary>
    /// Trains with Fit (optionally with flips and 2-pixel shifts), reports test accuracy, throughput and
    /// wall time, and saves the model (and its standardisation) when <paramref name="savePath"/> is given.
    /// </summary>
    public static void TrainReportAndSave(Model model, Dataset train, Dataset test, int batchSize, int epochs, int seed,
        bool augment, ChannelStandardizer? standardizer, string? savePath)
    {
        var augmentation = augment ? new ImageAugmentation(horizontalFlip: true, maxShift: 2, seed: seed) : null;
        var wall = Stopwatch.StartNew();
        TrainingHistory history = model.Fit(train, batchSize, epochs, shuffle: true, validation: test, seed: seed,
            batchTransform: augmentation is null ? null : batch => augmentation.Apply(batch.Features));
        wall.Stop();

        Evaluation result = model.Evaluate(test);
        double trainSeconds = history.Epochs.Sum(e => e.Seconds);
        double imagesPerSecond = (double)train.Count * history.Epochs.Count / trainSeconds;
        Console.WriteLine($"Test accuracy: {result.Accuracy:P2} (loss {result.Loss:F4})");
        Console.WriteLine($"Training throughput: {imagesPerSecond:N0} images/s; total wall time {wall.Elapsed.TotalSeconds:F1} s (including per-epoch evaluation)");
        if (savePath is null)
            return;
        model.Save(savePath);
        if (standardizer is not null)
            SavedModelFiles.WriteStandardizer(savePath, standardizer);
        Console.WriteLine($"Saved the model to {savePath}{(standardizer is null ? "" : $" and its input standardization to {SavedModelFiles.StandardizerPath(savePath)}")}");
    }
}
