namespace NanoNet.Tests;

/// <summary>
/// The first backward writer of a gradient may store instead of adding to zeros (<see cref="Tensor.GradForFirstWrite"/>,
/// used by <see cref="Ops.Linear"/>): every other contribution must still be added, whoever comes first.
/// </summary>
public class GradForFirstWriteTests
{
    private static readonly Tensor X = Tensor.RandomUniform([5, 7], -1, 1, 90);
    private static readonly Tensor W = Tensor.RandomUniform([7, 3], -1, 1, 91);
    private static readonly Tensor Upstream = Tensor.RandomUniform([5, 3], -1, 1, 92);

    /// <summary>dX = U·Wᵀ and dW = Xᵀ·U of L = Σ U ⊙ (X·W + b), in double.</summary>
    private static (float[] dX, float[] dW) Expected()
    {
        float[] dX = new float[35], dW = new float[21];
        for (int n = 0; n < 5; n++)
            for (int i = 0; i < 7; i++)
                for (int o = 0; o < 3; o++)
                {
                    dX[n * 7 + i] += Upstream[n * 3 + o] * W[i * 3 + o];
                    dW[i * 3 + o] += X[n * 7 + i] * Upstream[n * 3 + o];
                }
        return (dX, dW);
    }

    private static Tensor LinearLoss(Tensor x, Tensor w) => Ops.Sum(Ops.Multiply(Ops.Linear(x, w, Tensor.Zeros(3)), Upstream));

    [Test]
    public void AnInputReadByTwoOpsGetsBothContributions()
    {
        // x feeds the Linear and a plain sum: whichever backward runs first, the other adds (dX + 1 everywhere).
        Tensor x = X.Clone().AsParameter(), w = W.Clone().AsParameter();
        Ops.Add(LinearLoss(x, w), Ops.Sum(x)).Backward();
        float[] expected = [.. Expected().dX.Select(v => v + 1f)];
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection);

        Tensor x2 = X.Clone().AsParameter(), w2 = W.Clone().AsParameter();
        Ops.Add(Ops.Sum(x2), LinearLoss(x2, w2)).Backward();
        Assert.That(x2.Grad!.ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection);
    }

    [Test]
    public void AWeightGradientAccumulatesAcrossBackwardsUntilZeroed()
    {
        Tensor x = X.Clone(), w = W.Clone().AsParameter();
        float[] once = Expected().dW;
        LinearLoss(x, w).Backward();
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(once).Within(1e-5f).AsCollection, "new gradient");
        LinearLoss(x, w).Backward();
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(once.Select(v => 2 * v).ToArray()).Within(1e-5f).AsCollection, "second backward adds");
        w.ZeroGrad();
        LinearLoss(x, w).Backward();
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(once).Within(1e-5f).AsCollection, "after ZeroGrad");
    }

    [Test]
    public void AGradientWrittenFromOutsideIsAddedTo()
    {
        Tensor x = X.Clone(), w = W.Clone().AsParameter();
        float[] once = Expected().dW;
        w.ZeroGrad(); // no gradient yet: nothing to zero
        w.Grad = Tensor.Ones(7, 3);
        LinearLoss(x, w).Backward();
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(once.Select(v => v + 1f).ToArray()).Within(1e-5f).AsCollection, "set with the setter");

        w.ZeroGrad();
        w.Grad!.Span[4] = 5f; // written through the getter after zeroing
        LinearLoss(x, w).Backward();
        float[] expected = [.. once];
        expected[4] += 5f;
        Assert.That(w.Grad!.ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection, "written through the getter");
    }

    [Test]
    public void AReshapedViewSharesItsBaseGradient()
    {
        // x (5, 7, 1) reaches the Linear through a reshape and a sum directly: both land in x's gradient.
        Tensor x = Tensor.FromArray(X.ToArray(), 5, 7, 1).AsParameter(), w = W.Clone().AsParameter();
        Ops.Add(LinearLoss(Ops.Reshape(x, 5, 7), w), Ops.Sum(x)).Backward();
        float[] expected = [.. Expected().dX.Select(v => v + 1f)];
        Assert.That(x.Grad!.ToArray(), Is.EqualTo(expected).Within(1e-5f).AsCollection);
    }
}
