using System.Diagnostics;
using NanoNet;
using NanoNet.Data;

/// <summary>
/// CIFAR-10 as the CIFAR examples load it: find the official archive (an explicit path, or $NANONET_DATA),
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
}
