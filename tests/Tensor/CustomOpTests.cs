using NanoNet.Autograd;

namespace NanoNet.Tests;

/// <summary>
/// Ops defined outside the library, exactly as the built-in ones are: a forward function that records a
/// <see cref="TapeEntry"/>, and the entry's backward pass. Each is gradient-checked like a built-in op.
/// </summary>
public class CustomOpTests
{
    /// <summary>softplus(x) = log(1 + eˣ), written stably; d/dx = σ(x).</summary>
    private static Tensor Softplus(Tensor x)
    {
        Tensor y = Tensor.EmptyLike(x);
        ReadOnlySpan<float> xs = x.Span;
        Span<float> ys = y.Span;
        for (int i = 0; i < xs.Length; i++)
            ys[i] = MathF.Max(xs[i], 0f) + MathF.Log(1f + MathF.Exp(-MathF.Abs(xs[i])));
        if (Tape.ShouldRecord(x))
            Tape.Record(new SoftplusBackward(y, x), x);
        return y;
    }

    private sealed class SoftplusBackward(Tensor y, Tensor x) : TapeEntry(y)
    {
        public override void Backward(Tensor dY)
        {
            ReadOnlySpan<float> xs = x.Span, dy = dY.Span;
            Span<float> dX = x.EnsureGrad().Span;
            for (int i = 0; i < dX.Length; i++)
                dX[i] += dy[i] / (1f + MathF.Exp(-xs[i]));
        }
    }

    /// <summary>Element-wise Huber loss between two tensors of one shape, differentiable in both.</summary>
    private static Tensor Huber(Tensor predictions, Tensor targets, float delta)
    {
        Tensor y = Tensor.EmptyLike(predictions);
        for (int i = 0; i < y.Length; i++)
        {
            float r = predictions[i] - targets[i];
            y[i] = MathF.Abs(r) <= delta ? 0.5f * r * r : delta * (MathF.Abs(r) - 0.5f * delta);
        }
        if (Tape.ShouldRecord(predictions, targets))
            Tape.Record(new HuberBackward(y, predictions, targets, delta), predictions, targets);
        return y;
    }

    private sealed class HuberBackward(Tensor y, Tensor predictions, Tensor targets, float delta) : TapeEntry(y)
    {
        public override void Backward(Tensor dY)
        {
            for (int i = 0; i < dY.Length; i++)
            {
                float r = predictions[i] - targets[i];
                float slope = Math.Clamp(r, -delta, delta) * dY[i]; // ∂/∂r
                if (predictions.RequiresGrad)
                    predictions.EnsureGrad()[i] += slope;
                if (targets.RequiresGrad)
                    targets.EnsureGrad()[i] -= slope;
            }
        }
    }

    /// <summary>y = Σₖ wₖ·xₖ over any number of same-shaped inputs: the variadic Record overload.</summary>
    private static Tensor WeightedSum(Tensor[] inputs, float[] weights)
    {
        Tensor y = Tensor.EmptyLike(inputs[0]);
        y.Span.Clear();
        for (int k = 0; k < inputs.Length; k++)
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(inputs[k].Span, weights[k], y.Span, y.Span);
        if (Tape.ShouldRecord(inputs))
            Tape.Record(new WeightedSumBackward(y, inputs, weights), inputs);
        return y;
    }

    private sealed class WeightedSumBackward(Tensor y, Tensor[] inputs, float[] weights) : TapeEntry(y)
    {
        public override void Backward(Tensor dY)
        {
            for (int k = 0; k < inputs.Length; k++)
                if (inputs[k].RequiresGrad)
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(dY.Span, weights[k], inputs[k].EnsureGrad().Span, inputs[k].Grad!.Span);
        }
    }

    [Test]
    public void SoftplusDefinedHereIsGradientChecked() =>
        GradientCheck.Check(x => Softplus(x[0]), [GradientCheck.Random([3, 5], 1)]);

    [Test]
    public void HuberDefinedHereIsGradientCheckedInBothInputs()
    {
        // Residuals kept away from ±delta so the kink is out of reach of ε.
        var p = Tensor.FromArray([0.1f, -2f, 1.6f, -0.3f, 3f, 0.05f], 2, 3);
        var t = Tensor.FromArray([0.4f, 0.5f, -0.2f, 0.2f, -1f, 0.4f], 2, 3);
        GradientCheck.Check(x => Huber(x[0], x[1], delta: 1f), [p, t], epsilon: 1e-3f);
    }

    [Test]
    public void VariadicOpReachesEveryInput() =>
        GradientCheck.Check(x => WeightedSum(x, [0.5f, -2f, 3f, 1f, 0.25f]),
            [.. Enumerable.Range(0, 5).Select(k => GradientCheck.Random([2, 3], 10 + k))]);

    [Test]
    public void CustomOpsComposeWithBuiltInOnesInATrainingStep()
    {
        // A tiny regression model with a custom activation and a custom loss, trained by plain SGD.
        var w = Tensor.FromArray([0.5f, -0.5f], 2, 1).AsParameter("w");
        var x = Tensor.FromArray([1, 2, 2, 1, 3, 0, 0, 3], 4, 2);
        Tensor target;
        using (Tape.NoGrad())
            target = Softplus(Ops.MatMul(x, Tensor.FromArray([1f, 0.5f], 2, 1))); // reachable: w = (1, 0.5)
        float first = 0, last = 0;
        for (int step = 0; step < 300; step++)
        {
            Tensor loss = Ops.Mean(Huber(Softplus(Ops.MatMul(x, w)), target, delta: 1f));
            loss.Backward();
            if (step == 0) first = loss[0];
            last = loss[0];
            for (int i = 0; i < w.Length; i++)
                w[i] -= 0.1f * w.Grad![i];
            w.ZeroGrad();
        }
        Assert.That(last, Is.LessThan(first * 0.01f), $"loss went from {first} to {last}");
    }
}
