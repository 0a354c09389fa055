using NanoNet.Autograd;

namespace NanoNet.Tests;

/// <summary>What users rely on from backward: retained graphs, detach, gradient-ready notifications, no leaks.</summary>
public class AutogradTests
{
    [Test]
    public void RetainGraphAllowsASecondBackwardThatAddsTheSameGradientAgain()
    {
        var x = Tensor.FromArray([0.5f, -1f, 2f], 3).AsParameter();
        Tensor loss = Ops.Sum(Ops.Multiply(Ops.Tanh(x), x));
        loss.Backward(retainGraph: true);
        float[] once = x.Grad!.ToArray();
        loss.Backward();
        for (int i = 0; i < 3; i++)
            Assert.That(x.Grad![i], Is.EqualTo(2 * once[i]).Within(1e-6f), "intermediate gradients must restart from zero");
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
    }

    [Test]
    public void ANewLossOverAConsumedSubgraphThrows()
    {
        var x = Tensor.Ones(2).AsParameter();
        Tensor hidden = Ops.Tanh(x);
        Ops.Sum(hidden).Backward();
        var ex = Assert.Throws<InvalidOperationException>(() => Ops.Sum(Ops.Multiply(hidden, hidden)).Backward());
        Assert.That(ex!.Message, Does.Contain("Tanh"));
    }

    [Test]
    public void DetachStopsTheGradientButSharesValues()
    {
        var x = Tensor.FromArray([1f, 2f], 2).AsParameter();
        Tensor y = Ops.Multiply(x, x);
        Tensor frozen = y.Detach();
        Assert.That(frozen.RequiresGrad, Is.False);
        Assert.That(frozen.CreatedBy, Is.Null);
        Assert.That(frozen.ToArray(), Is.EqualTo(y.ToArray()));
        // d/dx Σ (x · stop(x²)) = x², not 3x².
        Ops.Sum(Ops.Multiply(x, frozen)).Backward();
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(new[] { 1f, 4f }));
    }

    [Test]
    public void GradientsOfNonParameterInputsAccumulateToo()
    {
        var input = Tensor.FromArray([1f, -2f], 1, 2);
        input.RequiresGrad = true;                       // e.g. a saliency map: ∂loss/∂input
        var w = Tensor.FromArray([3f, 4f], 2, 1).AsParameter();
        Ops.Sum(Ops.MatMul(input, w)).Backward();
        Assert.That(input.Grad!.ToArray(), Is.EqualTo(new[] { 3f, 4f }));
        Assert.That(input.IsParameter, Is.False);
    }

    [Test]
    public void GradientReadyFiresOnceForEachParameterWhenItsGradientIsFinal()
    {
        var w1 = Tensor.FromArray([0.5f, -0.5f, 1f, 2f], 2, 2).AsParameter("w1");
        var w2 = Tensor.FromArray([1f, -1f], 2, 1).AsParameter("w2");
        var unused = Tensor.Ones(3).AsParameter("unused");
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 2, 2);
        // w1 is used twice (shared weights), once through a reshaped view: its gradient is final only after both uses.
        Tensor h = Ops.Tanh(Ops.MatMul(Ops.MatMul(x, w1), w1.Reshape(2, 2)));
        Tensor loss = Ops.Sum(Ops.MatMul(h, w2));

        var seen = new List<(string Name, float[] GradientThen)>();
        void OnReady(Tensor p) => seen.Add((p.Name!, p.Grad!.ToArray()));
        Tape.Current.GradientReady += OnReady;
        try
        {
            loss.Backward();
        }
        finally
        {
            Tape.Current.GradientReady -= OnReady;
        }
        Assert.That(seen.Select(s => s.Name), Is.EqualTo(new[] { "w2", "w1" }), "later layers are ready first; unused never");
        Assert.That(seen[0].GradientThen, Is.EqualTo(w2.Grad!.ToArray()));
        Assert.That(seen[1].GradientThen, Is.EqualTo(w1.Grad!.ToArray()), "w1 reported only after its last contribution");
    }

    [Test]
    public void AForwardPassThatIsNeverBackpropagatedLeavesNothingBehind()
    {
        var w = Tensor.RandomUniform([8, 8], -1, 1, 3).AsParameter();
        WeakReference entry = RunAndDrop(w);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.That(entry.IsAlive, Is.False, "an unused graph must be garbage, not kept by a global tape");
    }

    private static WeakReference RunAndDrop(Tensor w)
    {
        Tensor y = Ops.Relu(Ops.MatMul(Tensor.Ones(4, 8), w));
        return new WeakReference(y.CreatedBy);
    }

    [Test]
    public void GradSetterChecksTheShape()
    {
        var p = Tensor.Zeros(2, 3).AsParameter("p");
        p.Grad = Tensor.Ones(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => p.Grad = Tensor.Ones(3, 2));
        Assert.That(ex!.Message, Does.Contain("(3, 2)").And.Contain("(2, 3)").And.Contain("'p'"));
        p.Grad = null;
        Assert.That(p.Grad, Is.Null);
    }

    [Test]
    public void ABackwardFromALeafSeedsItsOwnGradient()
    {
        var x = Tensor.Scalar(3f).AsParameter();
        x.Backward();
        Assert.That(x.Grad![0], Is.EqualTo(1f));
    }
}
