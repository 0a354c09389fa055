using NanoNet.Data;
using NanoNet.Examples.Predict;
using NanoNet.Layers;
using NanoNet.Optim;
using NanoNet.Persistence;

namespace NanoNet.Tests.Examples;

/// <summary>examples/Predict: a tiny model trained, saved, loaded by <see cref="Predictor"/> and fed inputs in the data sets' formats.</summary>
public class PredictExampleTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("nanonet-predict").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void ClassifiesARangeOfCifar10RecordsAsTheTrainedModelDoes()
    {
        string batch = Path.Combine(_directory, "tiny_batch.bin");
        WriteCifarBatch(batch, records: 24);
        File.WriteAllText(Path.Combine(_directory, "batches.meta.txt"), "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n");
        Dataset data = Cifar10.LoadBatchFile(batch);
        var model = new Sequential([32, 32, 3], new Conv2D(2, 3), new MaxPool2D(4), new Flatten(), new Dense(10, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.05f), new SparseCategoricalCrossEntropy(), 1);
        model.Fit(data, batchSize: 8, epochs: 1, verbose: 0, seed: 1);
        string modelPath = Path.Combine(_directory, "cifar.safetensors");
        model.Save(modelPath);

        Predictor predictor = Predictor.Load(modelPath);
        Predictions result = predictor.ClassifyCifar10(batch, first: 5, count: 10);

        Assert.That(predictor.Kind, Is.EqualTo(InputKind.Images));
        Tensor expected = model.Predict(data.Gather(Enumerable.Range(5, 10).ToArray()).Features);
        Assert.That(result.Probabilities.Span.ToArray(), Is.EqualTo(expected.Span.ToArray()));
        Assert.That(result.Items.Select(p => p.Source), Is.EqualTo(Enumerable.Range(5, 10).Select(i => $"tiny_batch.bin #{i}")));
        Assert.That(result.Items.Select(p => p.Label), Is.EqualTo(Enumerable.Range(5, 10).Select(i => (int?)(i % 10))));
        double accuracy = result.Items.Count(p => p.PredictedClass == p.Label) / 10.0;
        Assert.That(result.Accuracy, Is.EqualTo(accuracy));
        var output = new StringWriter();
        result.WriteTo(output);
        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(11));
        Prediction first = result.Items[0];
        Assert.That(lines[0], Does.StartWith($"tiny_batch.bin #5\ta{first.PredictedClass}\t{first.Probability:F4}"));
        Assert.That(lines[^1], Does.StartWith("Accuracy: "));

        var outside = Assert.Throws<InvalidDataException>(() => predictor.ClassifyCifar10(batch, first: 20, count: 10));
        Assert.That(outside!.Message, Does.Contain(batch).And.Contain("0..23"));
        string text = Path.Combine(_directory, "review.txt");
        File.WriteAllText(text, "a fine film");
        var wrongKind = Assert.Throws<InvalidDataException>(() => predictor.ClassifyTextFiles([text]));
        Assert.That(wrongKind!.Message, Does.Contain(text).And.Contain("32x32x3"));
    }

    [Test]
    public void ClassifiesRawTextThroughTheSavedVocabularyWithTrainingsPadding()
    {
        string[] texts = ["a great film, great acting", "boring and bad", "great fun<br />loved it", "bad bad plot", "loved the great cast", "a bad, boring mess"];
        int[] labels = [1, 0, 1, 0, 1, 0];
        var training = new LabelledTexts(texts, labels, ["neg", "pos"]);
        Vocabulary vocabulary = Vocabulary.Build(texts, maxSize: 12);
        Dataset data = training.ToDataset(vocabulary, 5);
        var model = new Sequential([5], new Embedding(12, 4), new Lstm(3), new Dense(2, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy(), 2);
        model.Fit(data, batchSize: 3, epochs: 2, verbose: 0, seed: 2);
        string modelPath = Path.Combine(_directory, "imdb.safetensors");
        model.Save(modelPath);
        VocabularyFile.Write(vocabulary, modelPath + ".vocab.txt");
        File.WriteAllText(modelPath + ".classes.txt", "neg\npos\n");

        // Files in folders named like the classes carry labels.
        string[] files = new string[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            string folder = Directory.CreateDirectory(Path.Combine(_directory, "reviews", training.ClassNames[labels[i]])).FullName;
            File.WriteAllText(files[i] = Path.Combine(folder, $"{i}_x.txt"), texts[i]);
        }
        Predictor predictor = Predictor.Load(modelPath);
        Assert.That(predictor.Kind, Is.EqualTo(InputKind.Texts));
        Assert.That(predictor.SequenceLength, Is.EqualTo(5));
        Predictions fromFiles = predictor.ClassifyTextFiles([Path.Combine(_directory, "reviews")]);
        int[] order = [.. files.Select((f, i) => (f, i)).OrderBy(p => p.f, StringComparer.Ordinal).Select(p => p.i)];
        Tensor expected = model.Predict(data.Gather(order).Features);
        Assert.That(fromFiles.Probabilities.Span.ToArray(), Is.EqualTo(expected.Span.ToArray()));
        Assert.That(fromFiles.Items.Select(p => p.Label), Is.EqualTo(order.Select(i => (int?)labels[i])));
        Assert.That(fromFiles.Accuracy, Is.Not.Null);

        Predictions fromLines = predictor.ClassifyLines(new StringReader(string.Join('\n', texts) + "\n\n"), "stdin");
        Assert.That(fromLines.Probabilities.Span.ToArray(), Is.EqualTo(model.Predict(data.Features).Span.ToArray()));
        Assert.That(fromLines.Items[2].Source, Is.EqualTo("stdin:3"));
        Assert.That(fromLines.Accuracy, Is.Null);

        string batch = Path.Combine(_directory, "test_batch.bin");
        WriteCifarBatch(batch, 2);
        var wrongKind = Assert.Throws<InvalidDataException>(() => predictor.ClassifyCifar10(batch));
        Assert.That(wrongKind!.Message, Does.Contain(batch).And.Contain("texts"));
        File.Delete(modelPath + ".vocab.txt");
        var noVocabulary = Assert.Throws<FileNotFoundException>(() => Predictor.Load(modelPath));
        Assert.That(noVocabulary!.Message, Does.Contain(modelPath + ".vocab.txt"));
    }

    [Test]
    public void VocabularyFileRoundTripsAndRejectsMalformedFiles()
    {
        Vocabulary vocabulary = Vocabulary.Build(["the cat and the hat", "don't stop"], maxSize: 50);
        string path = Path.Combine(_directory, "v.txt");
        VocabularyFile.Write(vocabulary, path);
        Vocabulary read = VocabularyFile.Read(path);
        Assert.That(read.Words, Is.EqualTo(vocabulary.Words));
        Assert.That(read.Encode("The hat, don't!"), Is.EqualTo(vocabulary.Encode("The hat, don't!")));
        Assert.That(File.ReadAllText(path), Does.StartWith("<pad>\n<oov>\nthe\n"));

        File.WriteAllText(path, "the\ncat\n");
        Assert.That(Assert.Throws<InvalidDataException>(() => VocabularyFile.Read(path))!.Message, Does.StartWith(path));
        File.WriteAllText(path, "<pad>\n<oov>\ncat\ncat\n");
        Assert.That(Assert.Throws<InvalidDataException>(() => VocabularyFile.Read(path))!.Message, Does.StartWith(path).And.Contain("twice"));
    }

    /// <summary>A CIFAR-10 batch of records whose label is the record number mod 10 and whose pixels are deterministic noise.</summary>
    private static void WriteCifarBatch(string path, int records)
    {
        var bytes = new byte[records * Cifar10.RecordSize];
        var random = new Random(7);
        random.NextBytes(bytes);
        for (int r = 0; r < records; r++)
            bytes[r * Cifar10.RecordSize] = (byte)(r % 10);
        File.WriteAllBytes(path, bytes);
    }
}
