using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>The two text models trained briefly on small subsets of the real data sets (need NANONET_DATA).</summary>
public class TextTrainingTests
{
    private static string DataFile(string name)
    {
        string? root = Environment.GetEnvironmentVariable(DataLocator.EnvironmentVariable);
        string path = root is null ? "" : Path.Combine(root, name);
        if (!File.Exists(path))
            Assert.Ignore($"Set {DataLocator.EnvironmentVariable} to the folder holding {name} to run this test.");
        return path;
    }

    [Test]
    public void ImdbSeedModelLearnsOnARealSubset()
    {
        var (trainTexts, testTexts) = Imdb.ReadTexts(DataFile(Imdb.ArchiveFileName));
        // The seed model (vocabulary 20,000, Embedding 128, LSTM 128) on the last 100 words of each review
        // (the seed reads 200; 100 keeps the test short in a Debug build). The splits are sorted by class:
        // take seeded random subsets.
        LabelledTexts train = Subset(trainTexts, 2000, seed: 1), heldOut = Subset(testTexts, 1000, seed: 2);
        Vocabulary vocabulary = Vocabulary.Build(train.Texts, 20_000);
        Dataset trainData = train.ToDataset(vocabulary, 100), heldOutData = heldOut.ToDataset(vocabulary, 100);

        var model = new Sequential([100], new Embedding(20_000, 128), new Lstm(128), new Dense(2, ActivationFunction.Softmax));
        model.Compile(new Adam(0.001f) { GlobalClipNorm = 5f }, new SparseCategoricalCrossEntropy(), seed: 0);
        model.Output = TextWriter.Null;
        TrainingHistory history = model.Fit(trainData, batchSize: 32, epochs: 2, seed: 0);
        Evaluation result = model.Evaluate(heldOutData);
        TestContext.Out.WriteLine($"losses {string.Join(", ", history.Epochs.Select(e => e.Loss.ToString("F3")))}; held-out accuracy {result.Accuracy:P1}");

        Assert.That(history.Last.Loss, Is.LessThan(history.Epochs[0].Loss), "training loss must fall");
        Assert.That(result.Accuracy, Is.GreaterThan(0.62f), "well above the 50% of chance (this seed reaches about 76%)");
    }

    [Test]
    public void CharModelLearnsTinyShakespeare()
    {
        CharCorpus corpus = TinyShakespeare.Load(DataFile(TinyShakespeare.FileName));
        Assert.That(corpus.VocabularySize, Is.EqualTo(65));
        var (trainIds, validationIds) = corpus.Split(0.1);
        const int batch = 32, length = 64;
        Dataset train = NextTokenSequences.ContinuousBatches(trainIds.AsSpan(0, 200_000), batch, length);
        Dataset validation = NextTokenSequences.ContinuousBatches(validationIds.AsSpan(0, 50_000), batch, length);

        var lstm = new Lstm(128, returnSequences: true, stateful: true);
        var model = new Sequential([length], new Embedding(65, 32), lstm, new Dense(65, ActivationFunction.Softmax));
        model.Compile(new Adam(0.005f) { GlobalClipNorm = 5f }, new SparseCategoricalCrossEntropy(), seed: 0);
        model.Output = TextWriter.Null;
        var losses = new List<float>();
        float validationLoss = float.NaN;
        for (int epoch = 0; epoch < 3; epoch++)
        {
            lstm.ResetStates();
            losses.Add(model.Fit(train, batch, epochs: 1, shuffle: false).Last.Loss); // in order: lanes continue
            lstm.ResetStates();
            validationLoss = model.Evaluate(validation, batch).Loss;
        }
        TestContext.Out.WriteLine($"losses {string.Join(", ", losses.Select(l => l.ToString("F3")))}; validation {validationLoss:F3} (ln 65 = {Math.Log(65):F2})");

        Assert.That(losses[^1], Is.LessThan(losses[0]), "training loss must fall");
        Assert.That(validationLoss, Is.LessThan(2.6f), "well below the ln 65 ≈ 4.17 of a uniform guess (this seed reaches about 2.2)");
    }

    private static LabelledTexts Subset(LabelledTexts texts, int count, int seed)
    {
        int[] order = Enumerable.Range(0, texts.Count).ToArray();
        new Random(seed).Shuffle(order);
        int[] picked = order[..count];
        return new LabelledTexts(picked.Select(i => texts.Texts[i]).ToArray(), picked.Select(i => texts.Labels[i]).ToArray(), texts.ClassNames);
    }
}
