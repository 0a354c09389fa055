using System.Xml.Linq;
using NanoNet.Data;
using NanoNet.Examples.MiniBatch;
using NanoNet.Layers;

namespace NanoNet.Tests.Examples;

/// <summary>The pieces of examples/MiniBatch, and its quick mode end to end on the real data when installed.</summary>
public class MiniBatchExampleTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("nanonet-minibatch").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void CsvWriterQuotesWhereNeededAndWritesInvariantNumbers()
    {
        string path = Path.Combine(_directory, "t.csv");
        using (var csv = new CsvWriter(path, "a,b,c,d,e"))
        {
            csv.Row("batch 16, lr 0.05", "say \"hi\"", 1.5f, 0.25, null);
            csv.Row("plain", 12_345L, float.NaN, 1234567.125, 7);
            Assert.Throws<ArgumentException>(() => csv.Row("too few"));
        }
        Assert.That(File.ReadAllText(path), Is.EqualTo(
            "a,b,c,d,e\n" +
            "\"batch 16, lr 0.05\",\"say \"\"hi\"\"\",1.5,0.25,\n" +
            "plain,12345,NaN,1234567.125,7\n"));
        List<List<string>> records = ReadCsv(path);
        Assert.That(records[1], Is.EqualTo(new[] { "batch 16, lr 0.05", "say \"hi\"", "1.5", "0.25", "" }));
    }

    [Test]
    public void LossRecorderAveragesWindowsAndPlacesThemAtTheExamplesSeen()
    {
        // Window of 10 examples with batches of 4: three steps (12 examples) per point; 10 examples per epoch.
        var recorder = new LossRecorder(windowExamples: 10) { Initial = new Evaluation(2.3f, 0.1f) };
        recorder.OnTrainBegin();
        long step = 0;
        float[] losses = [2f, 1f, 3f, 0.5f, 0.5f, 0.5f];
        int[] sizes = [4, 4, 2, 4, 4, 2];
        for (int epoch = 1; epoch <= 2; epoch++)
        {
            recorder.OnEpochBegin(epoch);
            for (int b = 0; b < 3; b++, step++)
                recorder.OnBatchEnd(new BatchMetrics(epoch, b + 1, step + 1, sizes[step], losses[step], null));
            recorder.OnEpochEnd(new EpochMetrics(epoch, 1f, null, 0.9f, 0.6f, Seconds: 0.5, SamplesPerSecond: 20));
        }
        recorder.OnTrainEnd(new TrainingHistory());

        // Window 1: steps 1-3 (10 examples; enough); window 2: steps 4-6 (10 examples).
        Assert.That(recorder.Points, Has.Count.EqualTo(2));
        LossPoint first = recorder.Points[0], second = recorder.Points[1];
        Assert.That(first.Step, Is.EqualTo(3));
        Assert.That(first.Steps, Is.EqualTo(3));
        Assert.That(first.MeanLoss, Is.EqualTo((2f * 4 + 1f * 4 + 3f * 2) / 10).Within(1e-6f));
        Assert.That(first.LastStepLoss, Is.EqualTo(3f));
        Assert.That(first.Examples, Is.EqualTo((0 + 10) / 2.0), "the middle of the examples the window covered");
        Assert.That(second.Examples, Is.EqualTo((10 + 20) / 2.0));
        Assert.That(second.Seconds, Is.GreaterThanOrEqualTo(0.5), "the second epoch starts after the first epoch's measured time");
        Assert.That(recorder.ExamplesSeen, Is.EqualTo(20));
        Assert.That(recorder.Steps, Is.EqualTo(6));
        Assert.That(recorder.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(recorder.Epochs.Select(e => e.Examples), Is.EqualTo(new long[] { 0, 10, 20 }));
        Assert.That(recorder.Epochs[2].Seconds, Is.EqualTo(1.0).Within(1e-12));
        Assert.That(recorder.Epochs[0].ValidationAccuracy, Is.EqualTo(0.1f));
    }

    [Test]
    public void ADivergingRunIsRecordedAndChartedNotThrown()
    {
        // Random images and a learning rate so large that the weights overflow: the loss becomes NaN.
        var x = Tensor.RandomUniform([256, 28, 28], 0f, 1f, seed: 1);
        var y = Tensor.Zeros(256);
        for (int i = 0; i < 256; i++)
            y[i] = i % 10;
        var data = new Dataset(x, y);
        var options = new LessonOptions { Quick = true, Epochs = 2 };
        var spec = new RunSpec("SGD", 64, 1e38f);

        RunResult result = MiniBatchLesson.Train(spec, data, data, options);

        Assert.That(result.NonFiniteAtStep, Is.Not.Null);
        Assert.That(result.Diverged, Is.True);
        Assert.That(result.Steps, Is.EqualTo(result.NonFiniteAtStep - 1));
        Assert.That(result.FinalValidationAccuracy, Is.Null);
        Assert.That(result.Status, Does.StartWith("diverged: loss non-finite at step"));

        // The files are still written, with the run marked.
        var group = new RunGroup("test", "Test", [("lr 1e38", spec)]);
        var results = new Dictionary<RunSpec, RunResult> { [spec] = result };
        ResultFiles.WriteAll(_directory, [group], results);
        IReadOnlyList<string> charts = Charts.WriteAll(_directory, [group], results);
        Assert.That(charts, Has.Count.EqualTo(3));
        foreach (string chart in charts)
            Assert.That(File.ReadAllText(chart), Does.Contain("diverged"));
        Assert.That(ReadCsv(Path.Combine(_directory, "summary.csv"))[1], Has.Member(result.Status));
        Assert.That(ResultFiles.SummaryTable([group], results), Does.Match(@"\|\s+-\s\|").And.Contain("non-finite"));
    }

    [Test]
    public void BadOptionsAreRejectedWithTheUsage()
    {
        var error = new StringWriter();
        Assert.That(MiniBatchLesson.Execute(["--frobnicate"], TextWriter.Null, error), Is.EqualTo(2));
        Assert.That(error.ToString(), Does.Contain("--quick"));
        Assert.That(MiniBatchLesson.Execute(["--threads", "0"], TextWriter.Null, TextWriter.Null), Is.EqualTo(2));
        Assert.That(LessonOptions.Parse(["--quick", "--out", "x", "--data", "d", "--epochs", "3"]),
            Is.EqualTo(new LessonOptions { Quick = true, OutputDirectory = "x", DataDirectory = "d", Epochs = 3 }));
        Assert.That(MiniBatchLesson.Execute(["--data", _directory], TextWriter.Null, error), Is.EqualTo(1), "no data there");
    }

    [Test]
    public void QuickModeWritesTheCsvsSvgChartsAndSummary()
    {
        if (!File.Exists(Path.Combine(FashionMnist.DebianDirectory, "train-images-idx3-ubyte.gz")))
            Assert.Ignore("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist).");
        var output = new StringWriter();
        var error = new StringWriter();

        int exit = MiniBatchLesson.Execute(["--quick", "--out", _directory], output, error);

        Assert.That(exit, Is.EqualTo(0), error.ToString());
        string text = output.ToString();
        IReadOnlyList<RunGroup> groups = RunGroup.Lesson(2_000);
        foreach ((string label, RunSpec _) in groups.SelectMany(g => g.Runs))
            Assert.That(text, Does.Contain($"| {label} "), "summary row");

        // Every chart is an SVG document with one legend entry per run.
        string[] svgs = Directory.GetFiles(_directory, "*.svg");
        Assert.That(svgs.Select(Path.GetFileName), Is.SupersetOf(new[]
        {
            "batch-size-loss-vs-examples.svg", "batch-size-loss-vs-time.svg", "batch-size-step-loss.svg", "batch-size-val-accuracy.svg",
            "optimizer-loss-vs-examples.svg", "optimizer-loss-vs-time.svg", "learning-rate-loss-vs-examples.svg", "learning-rate-val-accuracy.svg",
        }));
        foreach (string svg in svgs)
        {
            XDocument document = XDocument.Load(svg);
            Assert.That(document.Root!.Name.LocalName, Is.EqualTo("svg"), svg);
            Assert.That(document.Descendants().Count(e => e.Name.LocalName == "polyline"), Is.GreaterThan(5), svg);
        }

        // CSVs: the headers, the same field count on every row, every run present, and the examples budget respected.
        List<List<string>> loss = ReadCsv(Path.Combine(_directory, "loss.csv"));
        List<List<string>> epochs = ReadCsv(Path.Combine(_directory, "epochs.csv"));
        List<List<string>> summary = ReadCsv(Path.Combine(_directory, "summary.csv"));
        Assert.That(string.Join(',', loss[0]), Is.EqualTo(ResultFiles.LossHeader));
        Assert.That(string.Join(',', epochs[0]), Is.EqualTo(ResultFiles.EpochHeader));
        Assert.That(string.Join(',', summary[0]), Is.EqualTo(ResultFiles.SummaryHeader));
        foreach (List<List<string>> file in new[] { loss, epochs, summary })
            Assert.That(file.All(r => r.Count == file[0].Count));
        int runs = groups.Sum(g => g.Runs.Count);
        Assert.That(summary, Has.Count.EqualTo(runs + 1));
        Assert.That(loss.Skip(1).Select(r => (r[0], r[1])).Distinct().Count(), Is.EqualTo(runs), "every run has loss points");
        Assert.That(epochs.Skip(1).Count(r => r[3] == "0"), Is.EqualTo(runs), "every run has its untrained epoch 0");
        int examplesColumn = summary[0].IndexOf("examples_seen");
        Assert.That(summary.Skip(1).Where(r => !r[^1].Contains("non-finite")).Select(r => r[examplesColumn]).Distinct(),
            Is.EqualTo(new[] { "4000" }), "2 epochs of 2,000 examples, whatever the batch size");
        Assert.That(File.Exists(Path.Combine(_directory, "summary.md")));
    }

    private static List<List<string>> ReadCsv(string path)
    {
        using StreamReader text = File.OpenText(path);
        var reader = new CsvReader(text, path);
        var records = new List<List<string>>();
        var fields = new List<string>();
        while (reader.TryReadRecord(fields))
            records.Add([.. fields]);
        return records;
    }
}
