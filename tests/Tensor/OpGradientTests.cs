using NanoNet.Autograd;

namespace NanoNet.Tests;

/// <summary>A central-difference gradient check for every op with a backward pass.</summary>
public class OpGradientTests
{
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void MatMul(bool transA, bool transB)
    {
        int m = 5, k = 7, n = 3;
        var a = GradientCheck.Random(transA ? [k, m] : [m, k], 1);
        var b = GradientCheck.Random(transB ? [n, k] : [k, n], 2);
        GradientCheck.Check(x => Ops.MatMul(x[0], x[1], transA, transB), [a, b]);
    }

    [Test]
    public void MatMulLargeEnoughToRunInParallel()
    {
        var a = GradientCheck.Random([40, 70], 3);
        var b = GradientCheck.Random([70, 60], 4);
        GradientCheck.Check(x => Ops.MatMul(x[0], x[1]), [a, b], absoluteTolerance: 5e-3f);
    }

    [Test]
    public void AddBias() =>
        GradientCheck.Check(x => Ops.AddBias(x[0], x[1]), [GradientCheck.Random([2, 3, 4], 5), GradientCheck.Random([4], 6)]);

    [Test]
    public void Add() =>
        GradientCheck.Check(x => Ops.Add(x[0], x[1]), [GradientCheck.Random([3, 4], 7), GradientCheck.Random([3, 4], 8)]);

    [Test]
    public void Multiply() =>
        GradientCheck.Check(x => Ops.Multiply(x[0], x[1]), [GradientCheck.Random([3, 4], 9), GradientCheck.Random([3, 4], 10)]);

    [Test]
    public void Relu() =>
        GradientCheck.Check(x => Ops.Relu(x[0]), [GradientCheck.Random([4, 5], 11, awayFromZero: 0.05f)]);

    [Test]
    public void Sigmoid() =>
        GradientCheck.Check(x => Ops.Sigmoid(x[0]), [GradientCheck.Random([4, 5], 12)]);

    [Test]
    public void Tanh() =>
        GradientCheck.Check(x => Ops.Tanh(x[0]), [GradientCheck.Random([4, 5], 13)]);

    [Test]
    public void Softmax() =>
        GradientCheck.Check(x => Ops.Softmax(x[0]), [GradientCheck.Random([3, 6], 14)]);

    [Test]
    public void Reshape() =>
        GradientCheck.Check(x => Ops.Multiply(Ops.Reshape(x[0], 6, -1), Ops.Reshape(x[1], 6, 2)),
            [GradientCheck.Random([3, 4], 15), GradientCheck.Random([2, 6], 16)]);

    [Test]
    public void SumAndMean() =>
        GradientCheck.Check(x => Ops.Add(Ops.Sum(x[0]), Ops.Mean(x[1])), [GradientCheck.Random([3, 4], 17), GradientCheck.Random([5], 18)]);

    [Test]
    public void Log()
    {
        var x = Tensor.RandomUniform([3, 4], 0.2f, 2f, 19);
        GradientCheck.Check(t => Ops.Log(t[0]), [x], epsilon: 1e-3f);
    }

    [Test]
    public void SoftmaxCrossEntropy()
    {
        var logits = GradientCheck.Random([5, 4], 20);
        var labels = Tensor.FromArray([0, 3, 1, 1, 2], 5);
        GradientCheck.Check(x => new SparseCategoricalCrossEntropy(fromLogits: true).Compute(x[0], labels), [logits]);
    }

    [Test]
    public void MeanSquaredError()
    {
        var targets = GradientCheck.Random([3, 2], 21);
        GradientCheck.Check(x => new MeanSquaredError().Compute(x[0], targets), [GradientCheck.Random([3, 2], 22)]);
    }

    [Test]
    public void ComposedDenseNetwork()
    {
        // x·W1 + b1 -> tanh -> ·W2 + b2 -> softmax: the chain rule across several ops.
        GradientCheck.Check(x => Ops.Softmax(Ops.AddBias(Ops.MatMul(Ops.Tanh(Ops.AddBias(Ops.MatMul(x[0], x[1]), x[2])), x[3]), x[4])),
            [GradientCheck.Random([4, 6], 23), GradientCheck.Random([6, 5], 24), GradientCheck.Random([5], 25),
             GradientCheck.Random([5, 3], 26), GradientCheck.Random([3], 27)]);
    }
}

public class TapeTests
{
    [Test]
    public void GradientsAccumulateWhenATensorIsUsedTwice()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3).AsParameter();
        Ops.Sum(Ops.Multiply(x, x)).Backward(); // d/dx Σx² = 2x, reached through both operands
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 2f, 4f, 6f }).AsCollection);

        Ops.Sum(x).Backward(); // a second backward pass adds to the existing gradient
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 3f, 5f, 7f }).AsCollection);
    }

    [Test]
    public void NoGradRecordsNothing()
    {
        var x = Tensor.Ones(2, 2).AsParameter();
        Tensor y;
        using (Tape.NoGrad())
            y = Ops.Relu(Ops.Add(x, x));
        Assert.That(y.CreatedBy, Is.Null);
        Assert.That(y.RequiresGrad, Is.False);
        var ex = Assert.Throws<InvalidOperationException>(() => Ops.Sum(y).Backward());
        Assert.That(ex!.Message, Does.Contain("does not depend"));
    }

    [Test]
    public void BackwardNeedsAScalar()
    {
        var x = Tensor.Ones(2, 2).AsParameter();
        var ex = Assert.Throws<InvalidOperationException>(() => Ops.Relu(x).Backward());
        Assert.That(ex!.Message, Does.Contain("(2, 2)"));
    }

    [Test]
    public void ASecondBackwardThroughAConsumedGraphThrows()
    {
        var x = Tensor.Ones(3).AsParameter();
        Tensor loss = Ops.Sum(Ops.Tanh(x));
        loss.Backward();
        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.That(ex!.Message, Does.Contain("already consumed").And.Contain("retainGraph"));
    }
}

public class FusedLinearTests
{
    [TestCase(ActivationFunction.Linear)]
    [TestCase(ActivationFunction.Relu)]
    public void LinearGradientCheck(ActivationFunction activation) =>
        GradientCheck.Check(x => Ops.Linear(x[0], x[1], x[2], activation),
            [GradientCheck.Random([5, 7], 41, awayFromZero: 0.1f), GradientCheck.Random([7, 4], 42, awayFromZero: 0.1f), GradientCheck.Random([4], 43)],
            epsilon: 1e-3f);

    [Test]
    public void LinearEqualsMatMulAddBiasRelu()
    {
        Tensor x = Tensor.RandomUniform([6, 9], -1, 1, 44), w = Tensor.RandomUniform([9, 5], -1, 1, 45), b = Tensor.RandomUniform([5], -1, 1, 46);
        Assert.That(Ops.Linear(x, w, b, ActivationFunction.Relu).ToArray(),
            Is.EqualTo(Ops.Relu(Ops.AddBias(Ops.MatMul(x, w), b)).ToArray()).AsCollection);
    }

    [Test]
    public void ReshapeRecordsNothingAndSharesTheGradient()
    {
        var x = Tensor.RandomUniform([2, 3, 4], -1, 1, 47).AsParameter();
        Tensor flat = x.Reshape(2, 12);
        Assert.That(flat.CreatedBy, Is.Null);
        Ops.Sum(Ops.Multiply(flat, flat)).Backward();
        for (int i = 0; i < x.Length; i++)
            Assert.That(x.Grad![i], Is.EqualTo(2 * x[i]).Within(1e-6f));
    }
}
