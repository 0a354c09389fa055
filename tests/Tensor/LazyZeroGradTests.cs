namespace NanoNet.Tests;

/// <summary>
/// <see cref="Tensor.ZeroGrad"/> defers clearing a whole gradient until something needs the storage, and skips it when
/// the first backward writer stores every element (a Dense weight gradient): to every reader the gradient is zeros.
/// </summary>
public class LazyZeroGradTests
{
    private static readonly Tensor X = Tensor.RandomUniform([4, 6], -1, 1, 70);
    private static readonly Tensor W = Tensor.RandomUniform([6, 3], -1, 1, 71);

    private static Tensor DenseLoss(Tensor w) => Ops.Sum(Ops.Linear(X, w, Tensor.Zeros(3)));

    /// <summary>dW of Σ X·W: row i of dW is Σₙ X[n, i] in every column.</summary>
    private static float[] ExpectedDenseGradient()
    {
        float[] dW = new float[18];
        for (int n = 0; n < 4; n++)
            for (int i = 0; i < 6; i++)
                for (int o = 0; o < 3; o++)
                    dW[i * 3 + o] += X[n * 6 + i];
        return dW;
    }

    [Test]
    public void AZeroedGradientReadsAsZerosThoughItsClearingWasDeferred()
    {
        Tensor w = W.Clone().AsParameter();
        DenseLoss(w).Backward();
        w.ZeroGrad();
        Assert.That(w.GradClearPending, Is.True, "a whole owned gradient is not cleared at once");
        Assert.That(w.Grad!.ToArray(), Is.All.EqualTo(0f), "reading it clears it");
        Assert.That(w.GradClearPending, Is.False);
    }

    [Test]
    public void AFirstWriterThatStoresEveryElementSkipsTheClear()
    {
        Tensor w = W.Clone().AsParameter();
        DenseLoss(w).Backward();
        DenseLoss(w).Backward(); // 2·dW: old values a missed clear would leave behind
        w.ZeroGrad();
        DenseLoss(w).Backward();
        Assert.That(w.GradClearPending, Is.False, "the Dense backward stored dW over the old values");
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(ExpectedDenseGradient()).Within(1e-5f).AsCollection);
    }

    [Test]
    public void AFirstWriterThatAddsFindsZeros()
    {
        // Σ w adds 1 to every element of dW (EnsureGrad): the deferred clear must run first.
        Tensor w = W.Clone().AsParameter();
        DenseLoss(w).Backward();
        w.ZeroGrad();
        Ops.Sum(w).Backward();
        Assert.That(w.Grad!.ToArray(), Is.All.EqualTo(1f));
    }

    [Test]
    public void BothContributionsLandAfterAZeroGradWhicheverWritesFirst()
    {
        float[] expected = [.. ExpectedDenseGradient().Select(v => v + 1f)];
        Tensor w = W.Clone().AsParameter();
        DenseLoss(w).Backward();
        w.ZeroGrad();
        Ops.Add(DenseLoss(w), Ops.Sum(w)).Backward();
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection, "the Linear first");
        w.ZeroGrad();
        Ops.Add(Ops.Sum(w), DenseLoss(w)).Backward();
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection, "the sum first");
    }

    [Test]
    public void AViewWritingIntoItsBaseGradientFindsZeros()
    {
        // w (6, 3, 1) reaches the sum through a reshape: the view's gradient is w's storage.
        Tensor w = Tensor.FromArray(W.ToArray(), 6, 3, 1).AsParameter();
        Ops.Sum(Ops.Reshape(w, 6, 3)).Backward();
        w.ZeroGrad();
        Ops.Sum(Ops.Reshape(w, 6, 3)).Backward();
        Assert.That(w.Grad!.ToArray(), Is.All.EqualTo(1f));
    }

    [Test]
    public void AnOptimizerStepOnAParameterNoBackwardReachedSeesZeros()
    {
        // Adam's first step on g = 0 leaves w unchanged (m = v = 0); with the old dW read instead, w would move.
        Tensor w = W.Clone().AsParameter();
        DenseLoss(w).Backward();
        w.ZeroGrad();
        float[] before = w.ToArray();
        new NanoNet.Optim.Adam(0.1f).Step([w]);
        Assert.That(w.ToArray(), Is.EqualTo(before).AsCollection);
    }
}
