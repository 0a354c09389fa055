using System.Diagnostics;
using NanoNet;
using NanoNet.Data;

/// <summary>
/// IMDB as the Keras IMDB examples use it, through NanoNet's own pipeline: Keras-style tokenizer, a vocabulary of
/// the 20,000 most frequent words of the training split (Keras: <c>imdb.load_data(num_words=20000)</c>), reviews
/// padded and truncated at the front to <c>maxlen</c> ids (Keras's <c>pad_sequences</c> defaults), labels 0/1.
/// Keras ships the reviews pre-tokenized; this tokenizes the official archive, so accuracies are comparable,
/// not identical.
/// </summary>
internal static class ImdbData
{
    /// <summary>The training and test reviews, or null after printing why they could not be read.</summary>
    /// <param name="dataPath">The archive, its folder, or null for $NANONET_DATA.</param>
    /// <param name="maxLength">Ids kept per review (the last ones).</param>
    /// <param name="subset">Train on this many random training reviews and test on as many random test reviews (a quick run).</param>
    /// <param name="seed">Seed of the subset draws.</param>
    public static (Dataset Train, Dataset Test)? Load(string? dataPath, int maxLength, int? subset, int seed)
    {
        try
        {
            var clock = Stopwatch.StartNew();
            string path = Imdb.Locate(dataPath);
            var (trainTexts, testTexts) = Imdb.ReadTexts(path);
            if (subset is int count)
            {
                // The splits are grouped by class: take seeded random subsets.
                trainTexts = trainTexts.RandomSubset(count, seed);
                testTexts = testTexts.RandomSubset(count, seed + 1);
            }
            Vocabulary vocabulary = Vocabulary.Build(trainTexts.Texts, NanoNet.Examples.Keras.KerasModels.MaxFeatures);
            Dataset train = trainTexts.ToDataset(vocabulary, maxLength), test = testTexts.ToDataset(vocabulary, maxLength);
            Console.WriteLine($"IMDB from {path}: {train.Count:N0} training, {test.Count:N0} test reviews, vocabulary {vocabulary.Size:N0} ids, " +
                              $"maxlen {maxLength}; loaded in {clock.Elapsed.TotalSeconds:F1} s; {Parallelism.MaxThreads} thread(s)");
            return (train, test);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or DirectoryNotFoundException)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
    }
}
