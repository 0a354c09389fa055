using NanoNet.Kernels;
using NanoNet.Memory;

namespace NanoNet.Tests;

/// <summary>
/// Backward passes that store a new input gradient instead of clearing it and adding (<c>Tensor.GradForFirstWrite</c>):
/// the Conv2D and Conv2D + MaxPool2D backward (each chunk clears its images), the LSTM's (each dX_t stored), the GRU's and
/// the simple RNN's (dX written back to batch-major), Dropout's and SpatialDropout's.
/// A new gradient in step memory is recycled storage holding an earlier step's values, here NaN; every element must be
/// written, and an input that already holds a gradient (it feeds another op too) must still be added to.
/// </summary>
public class FirstWriteGradientTests
{
    public static readonly string[] Ops_ = ["conv", "conv+pool", "lstm", "lstm+dropout", "gru", "gru+dropout", "simple_rnn", "dropout",
        "spatial_dropout"];

    [TestCaseSource(nameof(Ops_))]
    public void ANewInputGradientInRecycledMemoryIsWrittenWhole(string op)
    {
        float[] fresh = GradientOfInput(op, memory: null, alsoUsedBefore: false, alsoUsedAfter: false);
        Assert.That(fresh.Count(v => v != 0), Is.GreaterThan(fresh.Length / 3), "the input must get a gradient");
        var memory = new StepMemory();
        for (int step = 0; step < 4; step++) // from the second step on, the gradient is rented from earlier steps' storage
        {
            float[] dirty = GradientOfInput(op, memory, alsoUsedBefore: false, alsoUsedAfter: false);
            Assert.That(dirty, Is.EqualTo(fresh).AsCollection, $"step {step}");
        }
    }

    [TestCaseSource(nameof(Ops_))]
    public void AnInputThatFeedsAnotherOpGetsBothGradients(string op)
    {
        // x·3 recorded before the op runs its backward after it (the op's gradient is new: stored), recorded after it
        // runs first (the op must add to it); either way dX = the op's gradient + 3.
        float[] alone = GradientOfInput(op, memory: null, alsoUsedBefore: false, alsoUsedAfter: false);
        float[] expected = [.. alone.Select(v => v + 3f)];
        var memory = new StepMemory();
        for (int step = 0; step < 2; step++)
        {
            Assert.That(GradientOfInput(op, memory, alsoUsedBefore: true, alsoUsedAfter: false), Is.EqualTo(expected).AsCollection.Within(1e-5f), "used before");
            Assert.That(GradientOfInput(op, memory, alsoUsedBefore: false, alsoUsedAfter: true), Is.EqualTo(expected).AsCollection.Within(1e-5f), "used after");
        }
    }

    /// <summary>d(Σ op(x)·dY [+ Σ 3x])/dx, in <paramref name="memory"/>'s next step (its storage of x's size left NaN) or outside any.</summary>
    private static float[] GradientOfInput(string op, StepMemory? memory, bool alsoUsedBefore, bool alsoUsedAfter)
    {
        int[] shape = op.StartsWith("conv") ? [3, 9, 9, 32] : op.StartsWith("lstm") || op.StartsWith("gru") || op == "simple_rnn" ? [9, 7, 16]
            : op == "spatial_dropout" ? [3, 10, 8] : [4, 50];
        if (memory == null)
            return Run();
        memory.Release();
        using (memory.Use())
            return Run();

        float[] Run()
        {
            // x made by an op: inside a step its gradient is rented from step memory (a parameter's would be a new array)
            var x = Ops.Multiply(Tensor.RandomUniform(shape, -1, 1, 7).AsParameter(), 1f);
            Tensor? extra = alsoUsedBefore ? Ops.Sum(Ops.Multiply(x, 3f)) : null;
            Tensor y = op switch
            {
                "conv" => Ops.Conv2D(x, Tensor.RandomUniform([3, 3, 32, 32], -0.2f, 0.2f, 8), Tensor.Zeros(32), (1, 1), (1, 1), ConvPadding.Same,
                    ActivationFunction.Relu),
                "conv+pool" => Ops.Conv2DMaxPool2D(x, Tensor.RandomUniform([3, 3, 32, 32], -0.2f, 0.2f, 8), Tensor.Zeros(32), (1, 1), (1, 1),
                    ConvPadding.Valid, ActivationFunction.Relu, (2, 2), (2, 2), poolSamePadding: false),
                "lstm" or "lstm+dropout" => Ops.Lstm(x, Tensor.RandomUniform([16, 48], -0.3f, 0.3f, 9), Tensor.RandomUniform([12, 48], -0.3f, 0.3f, 10),
                    Tensor.Zeros(48), returnSequences: true,
                    dropoutMask: op == "lstm+dropout" ? Ops.DropoutMask(9, 16, 0.3f, new RandomStream(11)) : null),
                "gru" or "gru+dropout" => Ops.Gru(x, Tensor.RandomUniform([16, 36], -0.3f, 0.3f, 9), Tensor.RandomUniform([12, 36], -0.3f, 0.3f, 10),
                    Tensor.RandomUniform([2, 36], -0.1f, 0.1f, 14), returnSequences: true,
                    dropoutMask: op == "gru+dropout" ? Ops.DropoutMask(9, 16, 0.3f, new RandomStream(11)) : null),
                "simple_rnn" => Ops.SimpleRnn(x, Tensor.RandomUniform([16, 12], -0.3f, 0.3f, 9), Tensor.RandomUniform([12, 12], -0.3f, 0.3f, 10),
                    Tensor.Zeros(12), returnSequences: true, goBackwards: true),
                "spatial_dropout" => Ops.SpatialDropout(x, 0.4f, new RandomStream(12)),
                _ => Ops.Dropout(x, 0.4f, new RandomStream(12)),
            };
            Tensor loss = Ops.Sum(Ops.Multiply(y, Tensor.RandomUniform(y.Shape.ToArray(), -1, 1, 13)));
            if (extra != null)
                loss = Ops.Add(extra, loss);
            if (alsoUsedAfter)
                loss = Ops.Add(loss, Ops.Sum(Ops.Multiply(x, 3f)));
            loss.Backward();
            float[] gradient = x.Grad!.ToArray();
            if (memory != null) // storage of x's size dirtied now comes back in a later step, maybe as the new gradient
            {
                x.Grad!.Span.Fill(float.NaN);
                for (int i = 0; i < 3; i++)
                    Tensor.Empty(shape).Span.Fill(float.NaN);
            }
            return gradient;
        }
    }
}
