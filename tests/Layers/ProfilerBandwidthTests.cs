using NanoNet.Data;
using NanoNet.Diagnostics;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// The memory-bound ops' byte counts (the profiler's GB/s and % of the probed memory bandwidth), each against the
/// count worked out by hand from what the op must read and write.
/// </summary>
public class ProfilerBandwidthTests
{
    private const int F = sizeof(float);

    [Test]
    public void ElementwiseOpsCountTheirPassesOverTheTensor()
    {
        var x = Tensor.RandomUniform([6, 5], -1, 1, seed: 3).AsParameter();
        Profiling.Record(() =>
        {
            Tensor y = Ops.Relu(x);
            Tensor z = Ops.Dropout(y, 0.25f, new RandomStream(7));
            Ops.Sum(z).Backward();
        });
        Assert.Multiple(() =>
        {
            Assert.That(Profiler.RecordedBytes("Relu", backward: false), Is.EqualTo(2.0 * 30 * F), "read x, write y");
            Assert.That(Profiler.RecordedBytes("Relu", backward: true), Is.EqualTo(4.0 * 30 * F), "read y and dY, read and write dX");
            // Dropout keeps one bit per element (DropoutBits): 30 bits are 30/8 bytes.
            Assert.That(Profiler.RecordedBytes("Dropout", backward: false), Is.EqualTo(2.0 * 30 * F + 30 / 8.0), "read x, write y and the bits");
            Assert.That(Profiler.RecordedBytes("Dropout", backward: true), Is.EqualTo(3.0 * 30 * F + 30 / 8.0), "read dY and the bits, read and write dX");
        });
    }

    [Test]
    public void MaxPoolCountsTheWinnersOnlyWhenRecording()
    {
        // (1, 4, 4, 2) pooled 2x2 → (1, 2, 2, 2): 32 inputs, 8 outputs.
        var x = Tensor.RandomUniform([1, 4, 4, 2], -1, 1, seed: 4);
        Profiling.Record(() => Ops.MaxPool2D(x, 2, 2, 2, 2));
        Assert.That(Profiler.RecordedBytes("MaxPool2D", backward: false), Is.EqualTo((32.0 + 8) * F), "read x, write y");

        var p = x.Clone().AsParameter();
        Profiling.Record(() => Ops.Sum(Ops.MaxPool2D(p, 2, 2, 2, 2)).Backward());
        Assert.Multiple(() =>
        {
            Assert.That(Profiler.RecordedBytes("MaxPool2D", backward: false), Is.EqualTo((32.0 + 8 + 8) * F), "and the winners' positions");
            // The entry (shared with MaxPool1D) is named "MaxPool" in the backward rows.
            Assert.That(Profiler.RecordedBytes("MaxPool", backward: true), Is.EqualTo((2.0 * 8 + 2.0 * 32) * F));
        });
    }

    [Test]
    public void EmbeddingCountsARowPerPosition()
    {
        // 5 ids into a 10×3 table: forward reads the ids and 5 rows, writes the ids as ints and 5 rows.
        var table = Tensor.RandomUniform([10, 3], -1, 1, seed: 5).AsParameter();
        var ids = Tensor.FromArray([1f, 4f, 4f, 9f, 0f], 1, 5);
        Profiling.Record(() => Ops.Sum(Ops.Embedding(ids, table)).Backward());
        Assert.Multiple(() =>
        {
            Assert.That(Profiler.RecordedBytes("Embedding", backward: false), Is.EqualTo(2.0 * 5 * (1 + 3) * F));
            Assert.That(Profiler.RecordedBytes("Embedding", backward: true), Is.EqualTo(5.0 * (1 + 3 * 3) * F), "id, dY row, gradient row read and written");
        });
    }

    [Test]
    public void OptimizerStepCountsWeightGradientAndStatePerUpdatedElement()
    {
        var w = Tensor.RandomUniform([4, 5], -1, 1, seed: 6).AsParameter();
        Ops.Sum(w).Backward();
        var sgd = new Sgd(0.1f);
        sgd.Step([w]);
        Assert.That(sgd.LastStepBytes, Is.EqualTo(20.0 * 3 * F), "SGD: read and write w, read g");

        var adam = new Adam(0.1f);
        adam.Step([w]);
        Assert.That(adam.LastStepBytes, Is.EqualTo(20.0 * (3 + 2 * 2) * F), "Adam: and read and write m and v");

        // An embedding's gradient touches rows 1 and 4 of 10 (width 3): plain SGD updates those 6 elements only.
        var table = Tensor.RandomUniform([10, 3], -1, 1, seed: 7).AsParameter();
        Ops.Sum(Ops.Embedding(Tensor.FromArray([1f, 4f, 4f], 1, 3), table)).Backward();
        sgd.Step([table]);
        Assert.That(sgd.LastStepBytes, Is.EqualTo(6.0 * 3 * F));
    }

    [Test]
    public void FitReportsGigabytesPerSecondAgainstTheProbedBandwidth()
    {
        double bandwidth = MemoryBandwidth.MeasureGBps(1);
        Assert.That(bandwidth, Is.GreaterThan(0.1).And.LessThan(10_000), "a copy's GB/s");

        var model = new Sequential([6], new Embedding(20, 4), new Flatten(), new Dense(3, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy());
        var output = new StringWriter();
        model.Output = output;
        var ids = Tensor.FromArray(Enumerable.Range(0, 48).Select(i => (float)(i * 7 % 20)).ToArray(), 8, 6);
        var labels = Tensor.FromArray(Enumerable.Range(0, 8).Select(i => (float)(i % 3)).ToArray(), 8);
        bool saved = Profiler.Enabled;
        Profiler.Enabled = true;
        Profiler.Reset();
        try
        {
            using (Parallelism.LimitThreads(1))
                model.Fit(new Dataset(ids, labels), batchSize: 8, epochs: 1);
        }
        finally
        {
            Profiler.Enabled = saved;
        }
        string text = output.ToString();
        // The embedding and the optimizer rows carry a GB/s and a % of the bandwidth; the footer names the probe.
        Assert.That(text, Does.Match(@"embedding\s+Embedding\s+forward\s+1\s+[\d.]+\s+[\d.]+\s+[\d.]+%\s+[\d.]+\s+\d+%"));
        Assert.That(text, Does.Match(@"optimizer\s+Sgd\s+forward\s+1\s+[\d.]+\s+[\d.]+\s+[\d.]+%\s+[\d.]+\s+\d+%"));
        Assert.That(text, Does.Contain("streaming bandwidth at 1 thread(s) measured"));
    }
}
