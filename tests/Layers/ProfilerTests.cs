using NanoNet.Data;
using NanoNet.Diagnostics;
using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

public class ProfilerTests
{
    [Test]
    public void FitPrintsPerLayerForwardAndBackwardRowsWhenEnabled()
    {
        var model = new Sequential([8, 8, 3],
            new Conv2D(4, 3, activation: ActivationFunction.Relu), new MaxPool2D(2), new Flatten(),
            new Dense(5, ActivationFunction.Softmax));
        model.Compile(new Sgd(0.1f), new SparseCategoricalCrossEntropy());
        var output = new StringWriter();
        model.Output = output;
        var data = new Dataset(Tensor.RandomUniform([16, 8, 8, 3], 0, 1, 1), Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (float)(i % 5)).ToArray(), 16));
        bool saved = Profiler.Enabled;
        Profiler.Enabled = true;
        Profiler.Reset();
        try
        {
            model.Fit(data, batchSize: 8, epochs: 1, validation: data);
        }
        finally
        {
            Profiler.Enabled = saved;
        }
        string text = output.ToString();
        // The convolution and the pooling that alone reads it run as one op (Conv2D+MaxPool2D), in the conv's rows.
        Assert.That(text, Does.Contain("conv2d").And.Contain("Conv2D+MaxPool2D").And.Contain("forward").And.Contain("backward")
            .And.Contain("dense").And.Contain("Linear").And.Contain("optimizer").And.Contain("FMA peak"));
        // Two training steps per op: evaluation is not profiled.
        Assert.That(text, Does.Match(@"conv2d\s+Conv2D\+MaxPool2D\s+forward\s+2\s"));
        Assert.That(text, Does.Match(@"dense\s+Linear\s+backward\s+2\s"));
    }

    [Test]
    public void OffRecordsNothing()
    {
        bool saved = Profiler.Enabled;
        Profiler.Enabled = false;
        Profiler.Reset();
        try
        {
            Ops.MatMul(Tensor.Ones(4, 4), Tensor.Ones(4, 4));
            Assert.That(Profiler.Report(), Does.Not.Contain("MatMul"));
        }
        finally
        {
            Profiler.Enabled = saved;
        }
    }

    [Test]
    public void CallsAtTwoThreadCountsGetOneTableEach()
    {
        string report = Profiling.Report(() =>
        {
            using (Parallelism.LimitThreads(1))
                Ops.MatMul(Tensor.Ones(4, 4), Tensor.Ones(4, 4));
            using (Parallelism.LimitThreads(2))
            {
                Ops.MatMul(Tensor.Ones(4, 4), Tensor.Ones(4, 4));
                Ops.MatMul(Tensor.Ones(4, 4), Tensor.Ones(4, 4));
            }
        });
        // Each count's table holds only its own calls: one at 1 thread, two at 2.
        int one = report.IndexOf("at 1 thread(s):", StringComparison.Ordinal), two = report.IndexOf("at 2 thread(s):", StringComparison.Ordinal);
        Assert.That(one, Is.GreaterThanOrEqualTo(0), report);
        Assert.That(two, Is.GreaterThan(one), report);
        Assert.That(report[one..two], Does.Match(@"MatMul\s+forward\s+1\s"));
        Assert.That(report[two..], Does.Match(@"MatMul\s+forward\s+2\s"));
    }

    [Test]
    public void CallsAtOneThreadCountGetOneTableWithoutHeading()
    {
        string report = Profiling.Report(() => Ops.MatMul(Tensor.Ones(4, 4), Tensor.Ones(4, 4)));
        Assert.That(report, Does.Match(@"MatMul\s+forward\s+1\s").And.Not.Contain("thread(s):"));
    }
}
