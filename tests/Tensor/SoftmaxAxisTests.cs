using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>Softmax and LogSoftmax along any axis: kernels against the reference, properties, stability, gradients.</summary>
public class SoftmaxAxisTests
{
    [TestCase(3, 5, 1)]
    [TestCase(2, 4, 3)]
    [TestCase(1, 7, 300)]   // more than one tile of inner columns
    [TestCase(4, 1, 6)]     // a size-1 axis: softmax is 1, log-softmax 0
    [TestCase(2, 600, 1)]   // a row longer than the scratch chunk
    public void KernelsMatchTheReference(int outer, int n, int inner)
    {
        int length = outer * n * inner;
        float[] x = Tensor.RandomUniform([length], -4f, 4f, 1).ToArray();
        float[] dY = Tensor.RandomUniform([length], -1f, 1f, 2).ToArray();
        foreach (bool log in new[] { false, true })
        {
            float[] y = new float[length], expected = new float[length];
            if (log) SoftmaxAxisKernels.LogSoftmaxForward(x, y, outer, n, inner);
            else SoftmaxAxisKernels.SoftmaxForward(x, y, outer, n, inner);
            SoftmaxAxisReference.Forward(x, expected, outer, n, inner, log);
            Assert.That(y, Is.EqualTo(expected).Within(2e-5f), $"forward, log {log}");

            float[] dX = Enumerable.Repeat(0.5f, length).ToArray(), expectedDX = (float[])dX.Clone();
            if (log) SoftmaxAxisKernels.LogSoftmaxBackward(y, dY, dX, outer, n, inner);
            else SoftmaxAxisKernels.SoftmaxBackward(y, dY, dX, outer, n, inner);
            SoftmaxAxisReference.Backward(y, dY, expectedDX, outer, n, inner, log);
            Assert.That(dX, Is.EqualTo(expectedDX).Within(5e-5f), $"backward, log {log}");
        }
    }

    [Test]
    public void SoftmaxSumsToOneAlongTheAxis()
    {
        Tensor x = Tensor.RandomUniform([2, 3, 4, 5], -5f, 5f, 3);
        for (int axis = -4; axis < 4; axis++)
        {
            Tensor sums = Ops.Sum(Ops.Softmax(x, axis), axis);
            foreach (float s in sums.ToArray())
                Assert.That(s, Is.EqualTo(1f).Within(1e-5f), $"axis {axis}");
        }
    }

    [Test]
    public void LastAxisIsTheExistingSoftmax()
    {
        Tensor x = Tensor.RandomUniform([3, 4, 5], -3f, 3f, 4);
        Assert.That(Ops.Softmax(x, -1).ToArray(), Is.EqualTo(Ops.Softmax(x).ToArray()));
        Assert.That(Ops.Softmax(x, 2).ToArray(), Is.EqualTo(Ops.Softmax(x).ToArray()));
        // A middle axis followed by size-1 axes is a row too, and not the last axis.
        Tensor column = Tensor.RandomUniform([2, 6, 1], -3f, 3f, 5);
        Assert.That(Ops.Sum(Ops.Softmax(column, 1), 1).ToArray(), Is.EqualTo(new[] { 1f, 1f }).Within(1e-6f));
    }

    [Test]
    public void LogSoftmaxIsTheLogOfSoftmax()
    {
        Tensor x = Tensor.RandomUniform([3, 4, 5], -3f, 3f, 6);
        for (int axis = 0; axis < 3; axis++)
        {
            float[] log = Ops.LogSoftmax(x, axis).ToArray(), softmax = Ops.Softmax(x, axis).ToArray();
            for (int i = 0; i < log.Length; i++)
                Assert.That(log[i], Is.EqualTo(MathF.Log(softmax[i])).Within(1e-5f), $"axis {axis}, element {i}");
        }
        Assert.That(Ops.LogSoftmax(x).ToArray(), Is.EqualTo(Ops.LogSoftmax(x, 2).ToArray()));
    }

    [Test]
    public void LogSoftmaxIsStableForLargeInputs()
    {
        Tensor x = Tensor.FromArray([1000, 1001, 1002, -1000, 0, 1000], 2, 3);
        float[] rows = Ops.LogSoftmax(x).ToArray();
        double lse = Math.Log(Math.Exp(-2) + Math.Exp(-1) + 1);
        Assert.That(rows[..3], Is.EqualTo(new[] { (float)(-2 - lse), (float)(-1 - lse), (float)-lse }).Within(1e-5f));
        Assert.That(rows[3..], Is.EqualTo(new[] { -2000f, -1000f, 0f }).Within(1e-3f));
        float[] columns = Ops.LogSoftmax(x, 0).ToArray();
        Assert.That(columns, Has.All.Matches<float>(float.IsFinite));
        Assert.That(columns[0], Is.EqualTo(0f).Within(1e-6f));
        Assert.That(columns[3], Is.EqualTo(-2000f).Within(1e-3f));
    }

    [Test]
    public void ResultsAreBitIdenticalAtOneAndTwoThreads()
    {
        Tensor x = Tensor.RandomUniform([16, 50, 300], -3f, 3f, 7);
        int saved = Parallelism.MaxThreads;
        try
        {
            foreach (int axis in new[] { 0, 1, 2 })
            {
                Parallelism.MaxThreads = 1;
                float[] one = Ops.LogSoftmax(x, axis).ToArray(), oneSoftmax = Ops.Softmax(x, axis).ToArray();
                Parallelism.MaxThreads = 2;
                Assert.That(Ops.LogSoftmax(x, axis).ToArray(), Is.EqualTo(one), $"axis {axis}");
                Assert.That(Ops.Softmax(x, axis).ToArray(), Is.EqualTo(oneSoftmax), $"axis {axis}");
            }
        }
        finally
        {
            Parallelism.MaxThreads = saved;
        }
    }

    [Test]
    public void BadAxisNamesTheAxisAndTheShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Ops.Softmax(Tensor.Zeros(2, 3), 2));
        Assert.That(e!.Message, Does.Contain("axis 2").And.Contain("(2, 3)"));
        Assert.Throws<ArgumentException>(() => Ops.LogSoftmax(Tensor.Zeros(2, 3), -3));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(-1)]
    public void SoftmaxGradient(int axis) =>
        GradientCheck.Check(t => Ops.Softmax(t[0], axis), [GradientCheck.Random([3, 4, 5], 40 + axis)]);

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(-1)]
    public void LogSoftmaxGradient(int axis) =>
        GradientCheck.Check(t => Ops.LogSoftmax(t[0], axis), [GradientCheck.Random([3, 4, 5], 50 + axis)]);
}
