using NanoNet.Autograd;
using NanoNet.Memory;

namespace NanoNet.Tests;

/// <summary>Step memory recycles storage and tensor objects, and a tensor used after its step throws.</summary>
public class StepMemoryTests
{
    [Test]
    public void OpsRentFromTheActiveMemoryOnly()
    {
        var memory = new StepMemory();
        Tensor inside, outside;
        using (memory.Use())
            inside = Ops.Relu(Tensor.Ones(2, 2));
        outside = Ops.Relu(Tensor.Ones(2, 2));
        Assert.That(inside.IsStepMemory, Is.True);
        Assert.That(outside.IsStepMemory, Is.False);
        Assert.That(StepMemory.Active, Is.Null);
    }

    [Test]
    public void UsingATensorAfterItsStepWasReleasedThrowsAndNamesIt()
    {
        var memory = new StepMemory();
        Tensor kept;
        using (memory.Use())
        {
            kept = Ops.Relu(Tensor.Ones(2, 3));
            kept.Name = "activation";
        }
        memory.Release();
        var ex = Assert.Throws<InvalidOperationException>(() => _ = kept.Span);
        Assert.That(ex!.Message, Does.Contain("'activation'").And.Contain("(2, 3)").And.Contain("Clone"));
        Assert.Throws<InvalidOperationException>(() => Ops.Relu(kept));
        Assert.Throws<InvalidOperationException>(() => _ = kept.Grad);
    }

    [Test]
    public void AReferenceKeptFromOneStepFailsInTheNextInsteadOfReadingItsTensors()
    {
        // A custom layer that (wrongly) keeps its previous output: during the next step the stale
        // object must not have been handed out again as one of that step's tensors.
        var memory = new StepMemory();
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        Tensor? previous = null;
        for (int step = 0; step < 3; step++)
        {
            memory.Release();
            using (memory.Use())
            {
                Tensor a = Ops.Relu(x), b = Ops.Tanh(a), c = Ops.Sigmoid(b);
                if (previous is not null)
                {
                    Assert.That(ReferenceEquals(previous, a) || ReferenceEquals(previous, b) || ReferenceEquals(previous, c), Is.False);
                    Assert.Throws<InvalidOperationException>(() => _ = previous.Span);
                }
                previous = c;
            }
        }
    }

    [Test]
    public void ASteadyStepReusesEveryArrayAndTensorObject()
    {
        var memory = new StepMemory();
        var w = Tensor.RandomUniform([16, 8], -1, 1, 1).AsParameter();
        var x = Tensor.RandomUniform([4, 16], -1, 1, 2);
        void Step()
        {
            memory.Release();
            using (memory.Use())
            {
                Ops.Sum(Ops.Tanh(Ops.MatMul(x, w))).Backward();
                w.ZeroGrad();
            }
        }
        for (int i = 0; i < 3; i++)
            Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
            Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        TestContext.Out.WriteLine($"{perStep} bytes per step");
        // The three ops' tape entries are recycled too (TapeEntry.Rent): measured 0 B, and the bound is under one entry
        // (MatMul's alone made new again measures 112 B). It was 400 B while MatMul's and Sum's entries were new objects.
        Assert.That(perStep, Is.LessThan(96), $"{perStep} bytes per step");
    }

    [Test]
    public void ATapeEntryIsRecycledWithItsOutputAfterTheSameQuarantineAndGivesTheSameGradients()
    {
        var memory = new StepMemory();
        var w = Tensor.RandomUniform([5, 3], -1, 1, 1).AsParameter();
        var b = Tensor.RandomUniform([3], -1, 1, 2).AsParameter();
        var x = Tensor.RandomUniform([4, 5], -1, 1, 3);
        var entries = new List<TapeEntry>();
        float[]? firstGradient = null;
        for (int step = 0; step < 4; step++)
        {
            memory.Release();
            using (memory.Use())
            {
                Tensor y = Ops.Linear(x, w, b, ActivationFunction.Relu);
                entries.Add(y.CreatedBy!);
                Ops.Sum(Ops.Multiply(y, y)).Backward();
                float[] gradient = [.. w.Grad!.ToArray(), .. b.Grad!.ToArray()];
                firstGradient ??= gradient;
                Assert.That(gradient, Is.EqualTo(firstGradient), $"step {step}: a recycled entry computes the same gradient");
                w.ZeroGrad();
                b.ZeroGrad();
            }
        }
        // Like the tensor objects, an entry sits out the step after its own, then is handed out again.
        Assert.That(entries[1], Is.Not.SameAs(entries[0]));
        Assert.That(entries[2], Is.SameAs(entries[0]));
        Assert.That(entries[3], Is.SameAs(entries[1]));

        // Outside step memory every call records a new entry.
        Assert.That(Ops.Linear(x, w, b).CreatedBy, Is.Not.SameAs(Ops.Linear(x, w, b).CreatedBy));
    }

    /// <summary>
    /// A recurrent op's recycled entry, used in turn with initial and final states (six or five recorded inputs, one or two
    /// more outputs) and without them, gives the gradients a new entry gives: nothing of its last use leaks into the next
    /// (a stale initial state would receive a gradient; stale final states would be outputs of two ops).
    /// </summary>
    [TestCase("lstm")]
    [TestCase("gru")]
    [TestCase("simple_rnn")]
    public void ARecycledRecurrentEntryKeepsNothingOfItsLastUse(string kind)
    {
        const int n = 3, t = 4, d = 5, u = 6;
        int width = kind switch { "lstm" => 4 * u, "gru" => 3 * u, _ => u };
        var x = Tensor.RandomUniform([n, t, d], -1, 1, 1);
        var w = Tensor.RandomUniform([d, width], -0.5f, 0.5f, 2).AsParameter();
        var r = Tensor.RandomUniform([u, width], -0.5f, 0.5f, 3).AsParameter();
        var b = Tensor.RandomUniform(kind == "gru" ? [2, width] : [width], -0.5f, 0.5f, 4).AsParameter();
        var h0 = Tensor.RandomUniform([n, u], -1, 1, 5).AsParameter();
        var c0 = Tensor.RandomUniform([n, u], -1, 1, 6).AsParameter();
        Tensor[] gradientHolders = [w, r, b, h0, c0];

        float[] Gradients(bool withStates)
        {
            Tensor loss;
            if (withStates)
            {
                RecurrentOutputs o = kind switch
                {
                    "lstm" => Ops.LstmWithStates(x, w, r, b, returnSequences: true, initialHidden: h0, initialCell: c0),
                    "gru" => Ops.GruWithState(x, w, r, b, returnSequences: true, initialHidden: h0),
                    _ => Ops.SimpleRnnWithState(x, w, r, b, returnSequences: true, initialHidden: h0),
                };
                loss = Ops.Add(Ops.Sum(o.Output), Ops.Sum(Ops.Multiply(o.Hidden!, o.Hidden!)));
                if (o.Cell is { } cell)
                    loss = Ops.Add(loss, Ops.Sum(Ops.Multiply(cell, cell)));
            }
            else
            {
                loss = Ops.Sum(kind switch
                {
                    "lstm" => Ops.Lstm(x, w, r, b, returnSequences: true),
                    "gru" => Ops.Gru(x, w, r, b, returnSequences: true),
                    _ => Ops.SimpleRnn(x, w, r, b, returnSequences: true),
                });
            }
            loss.Backward();
            var all = new List<float>();
            foreach (Tensor holder in gradientHolders)
            {
                all.AddRange(holder.Grad?.ToArray() ?? new float[holder.Length]); // no gradient yet: zeros
                holder.ZeroGrad();
            }
            return [.. all];
        }

        float[] withStatesExpected = Gradients(withStates: true), withoutExpected = Gradients(withStates: false); // new entries
        var memory = new StepMemory();
        bool[] pattern = [true, true, false, false, true, false, true, true, false, false];
        for (int step = 0; step < pattern.Length; step++)
        {
            memory.Release();
            using (memory.Use())
                Assert.That(Gradients(pattern[step]), Is.EqualTo(pattern[step] ? withStatesExpected : withoutExpected),
                    $"step {step} ({(pattern[step] ? "with" : "without")} states): a recycled entry computes a new entry's gradients");
        }
    }

    [Test]
    public void AUserOpCanRentItsEntryToo()
    {
        var memory = new StepMemory();
        var x = Tensor.FromArray([1f, -2f, 3f], 3).AsParameter();
        var entries = new List<TapeEntry>();
        for (int step = 0; step < 3; step++)
        {
            memory.Release();
            using (memory.Use())
            {
                Tensor y = Cube(x);
                entries.Add(y.CreatedBy!);
                Ops.Sum(y).Backward();
                Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 3f, 12f, 27f }), $"step {step}: d(x³)/dx = 3x²");
                x.ZeroGrad();
            }
        }
        Assert.That(entries[2], Is.SameAs(entries[0]));
    }

    private static Tensor Cube(Tensor x)
    {
        Tensor y = Tensor.EmptyLike(x);
        for (int i = 0; i < x.Length; i++)
            y[i] = x[i] * x[i] * x[i];
        if (Tape.ShouldRecord(x))
            Tape.Record(CubeEntry.Rent(y, x), x);
        return y;
    }

    private sealed class CubeEntry : TapeEntry
    {
        private Tensor _x = null!;

        public static CubeEntry Rent(Tensor y, Tensor x)
        {
            CubeEntry entry = Rent<CubeEntry>(y);
            entry._x = x;
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            Span<float> dX = _x.EnsureGrad().Span;
            for (int i = 0; i < dX.Length; i++)
                dX[i] += dY[i] * 3 * _x[i] * _x[i];
        }
    }

    [Test]
    public void ARecycledTensorObjectStartsWithoutGradientHistoryOrMask()
    {
        var memory = new StepMemory();
        var x = Tensor.Ones(2, 3).AsParameter();
        for (int step = 0; step < 4; step++)
        {
            memory.Release();
            using (memory.Use())
            {
                Tensor y = Ops.Tanh(x);
                Assert.That(y.Mask, Is.Null, "a mask must never outlive its tensor");
                Assert.That(y.Grad, Is.Null);
                Assert.That(y.Name, Is.Null);
                y.Mask = Tensor.Ones(2, 3);
                y.Name = "tagged";
                Ops.Sum(y).Backward();
            }
        }
    }

    [Test]
    public void ParametersCannotLiveInStepMemory()
    {
        var memory = new StepMemory();
        using (memory.Use())
        {
            Tensor t = Tensor.Empty(3);
            Assert.Throws<InvalidOperationException>(() => t.AsParameter());
            Assert.That(Tensor.Zeros(3).IsStepMemory, Is.False, "Zeros is always a plain array, safe to keep");
        }
    }

    [Test]
    public void GradientsOfStepTensorsLiveInTheSameStep()
    {
        var memory = new StepMemory();
        var w = Tensor.Ones(3).AsParameter();
        using (memory.Use())
        {
            Tensor h = Ops.Tanh(w);
            Ops.Sum(Ops.Multiply(h, h)).Backward();
            Assert.That(h.Grad!.IsStepMemory, Is.True);
            Assert.That(w.Grad!.IsStepMemory, Is.False, "a parameter's gradient lives with the parameter");
        }
    }
}
