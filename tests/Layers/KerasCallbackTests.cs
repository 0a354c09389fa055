using System.Globalization;
using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Metrics;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>CsvLogger, LearningRateScheduler and TerminateOnNaN, with Keras's semantics.</summary>
public class KerasCallbackTests
{
    private static Dataset Line(int count, int seed)
    {
        var x = Tensor.RandomUniform([count, 2], -1, 1, seed);
        var y = Tensor.FromArray([.. Enumerable.Range(0, count).Select(i => x[i, 0] - x[i, 1] > 0 ? 1f : 0f)], count, 1);
        return new Dataset(x, y);
    }

    private static Sequential NewModel(float learningRate = 0.1f)
    {
        var model = new Sequential([2], new Dense(1, ActivationFunction.Sigmoid));
        model.Compile(new Sgd(learningRate), new BinaryCrossEntropy(), [new Auc()], seed: 1);
        model.Output = TextWriter.Null;
        return model;
    }

    [Test]
    public void CsvLoggerWritesKerasColumnsAndAppends()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nanonet-csv-{Guid.NewGuid():N}.csv");
        try
        {
            Sequential model = NewModel();
            TrainingHistory history = model.Fit(Line(40, 1), batchSize: 8, epochs: 3, validation: Line(20, 2), callbacks: [new CsvLogger(path)]);
            string[] lines = File.ReadAllLines(path);
            Assert.That(lines[0], Is.EqualTo("epoch,accuracy,auc,loss,val_accuracy,val_auc,val_loss"));
            Assert.That(lines, Has.Length.EqualTo(4));
            for (int e = 0; e < 3; e++)
            {
                string[] cells = lines[e + 1].Split(',');
                Assert.That(cells[0], Is.EqualTo(e.ToString(CultureInfo.InvariantCulture))); // Keras's 0-based epoch index
                Assert.That(float.Parse(cells[3], CultureInfo.InvariantCulture), Is.EqualTo(history.Epochs[e].Loss));
                Assert.That(float.Parse(cells[5], CultureInfo.InvariantCulture), Is.EqualTo(history.Epochs[e].Metrics["val_auc"]));
            }
            model.Fit(Line(40, 1), batchSize: 8, epochs: 2, validation: Line(20, 2), callbacks: [new CsvLogger(path, append: true)]);
            Assert.That(File.ReadAllLines(path), Has.Length.EqualTo(6)); // two more rows, no second header
            model.Fit(Line(40, 1), batchSize: 8, epochs: 1, callbacks: [new CsvLogger(path, separator: ";")]);
            Assert.That(File.ReadAllLines(path), Is.EqualTo(new[] { "epoch;accuracy;auc;loss", File.ReadAllLines(path)[1] }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void LearningRateSchedulerSetsTheRateEachEpoch()
    {
        Sequential model = NewModel(0.1f);
        var rates = new List<float>();
        var seen = new List<int>();
        var scheduler = new LearningRateScheduler((epoch, lr) =>
        {
            seen.Add(epoch);
            return epoch < 2 ? lr : lr * 0.5f;
        });
        model.Fit(Line(16, 3), batchSize: 8, epochs: 4, callbacks: [scheduler, new LambdaCallback(onEpochBegin: _ => rates.Add(model.Optimizer!.LearningRate))]);
        Assert.That(seen, Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(rates, Is.EqualTo(new[] { 0.1f, 0.1f, 0.05f, 0.025f }));

        // A rate of 1e-30 from the second epoch on (below float resolution of the weights): they stop changing after the first epoch.
        Sequential frozen = NewModel(0.1f);
        float[]? afterFirst = null;
        frozen.Fit(Line(16, 3), batchSize: 8, epochs: 3, callbacks: [
            new LearningRateScheduler((epoch, lr) => epoch == 0 ? lr : 1e-30f),
            new LambdaCallback(onEpochEnd: m => afterFirst ??= [.. frozen.Weights.SelectMany(w => w.ToArray())])]);
        Assert.That(frozen.Weights.SelectMany(w => w.ToArray()), Is.EqualTo(afterFirst));

        Sequential scheduled = NewModel();
        scheduled.Optimizer!.Schedule = new StepDecay(0.1f, 10);
        Assert.Throws<InvalidOperationException>(() => scheduled.Fit(Line(16, 3), callbacks: [new LearningRateScheduler((_, lr) => lr)]));
    }

    [Test]
    public void TerminateOnNaNStopsWithoutAnExceptionAndWithoutTheBadUpdate()
    {
        // Rows 0–7 are fine, row 9 has a NaN target: the second batch's loss is NaN.
        Dataset data = Line(16, 4);
        data.Labels[9] = float.NaN;
        var stopper = new TerminateOnNaN();
        Sequential model = NewModel();
        Assert.Throws<ArithmeticException>(() => NewModel().Fit(data, batchSize: 8, epochs: 2, shuffle: false));
        TrainingHistory history = model.Fit(data, batchSize: 8, epochs: 2, shuffle: false, callbacks: [stopper]);
        Assert.That(stopper.StoppedAtStep, Is.EqualTo(2));
        Assert.That(history.Epochs, Has.Count.EqualTo(1));
        Assert.That(float.IsNaN(history.Last.Loss));
        // The weights are those after the first batch alone.
        Sequential reference = NewModel();
        reference.Fit(data.Take(8), batchSize: 8, epochs: 1, shuffle: false);
        Assert.That(model.Weights.SelectMany(w => w.ToArray()), Is.EqualTo(reference.Weights.SelectMany(w => w.ToArray())));
    }
}
