using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// <see cref="Optimizer.GradientReducer"/>: called first in every step (reduce → clip → regularize →
/// update) with the parameters that have gradients.
/// </summary>
public class GradientReducerTests
{
    private static readonly float[][] GradientsA = [[1f, -3f, 2f], [0.5f, 4f, -1f], [-2f, 1f, 0.25f]];
    private static readonly float[][] GradientsB = [[6f, -0.5f], [-1f, 2f], [3f, 3f]];

    /// <summary>Three steps on two parameters with gradients multiplied by <paramref name="byHand"/> before each step.</summary>
    private static (Tensor A, Tensor B) Run(Optimizer optimizer, float byHand)
    {
        Tensor a = HandSteps.Named("a", 1f, -2f, 3f), b = HandSteps.Named("b", 0.5f, 0.25f);
        for (int step = 0; step < 3; step++)
        {
            HandSteps.SetGradient(a, GradientsA[step].Select(g => g * byHand).ToArray());
            HandSteps.SetGradient(b, GradientsB[step].Select(g => g * byHand).ToArray());
            optimizer.Step([a, b]);
        }
        return (a, b);
    }

    private static void AssertBitwiseEqual(Tensor actual, Tensor expected, string what) =>
        Assert.That(actual.ToArray().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.ToArray().Select(BitConverter.SingleToInt32Bits)), what);

    [TestCaseSource(typeof(OptimizerCases), nameof(OptimizerCases.All))]
    public void HalvingReducerEqualsHalvingTheGradientsByHand(Func<Optimizer> create)
    {
        Optimizer reduced = create();
        reduced.GradientReducer = new ScalingReducer(0.5f);
        var (a, b) = Run(reduced, byHand: 1f);
        var (handA, handB) = Run(create(), byHand: 0.5f);
        AssertBitwiseEqual(a, handA, "a");
        AssertBitwiseEqual(b, handB, "b");
    }

    [Test]
    public void ReducerRunsBeforeGlobalNormClipping()
    {
        // A clip norm below every gradient norm: clipping happens in both runs, on the halved gradients.
        Optimizer reduced = new Adam(0.01f) { GlobalClipNorm = 1f, L2 = 0.01f, ClipValue = 2f, GradientReducer = new ScalingReducer(0.5f) };
        Optimizer byHand = new Adam(0.01f) { GlobalClipNorm = 1f, L2 = 0.01f, ClipValue = 2f };
        var (a, b) = Run(reduced, byHand: 1f);
        var (handA, handB) = Run(byHand, byHand: 0.5f);
        AssertBitwiseEqual(a, handA, "a");
        AssertBitwiseEqual(b, handB, "b");

        // The norm the last step clipped is that of the reduced gradients: ½·‖(−2, 1, 0.25, 3, 3)‖.
        double norm = Math.Sqrt(4 + 1 + 0.0625 + 9 + 9);
        Assert.That(reduced.LastGlobalNorm, Is.EqualTo(0.5 * norm).Within(1e-6));
        Assert.That(reduced.LastGlobalNorm, Is.EqualTo(byHand.LastGlobalNorm));
    }

    [Test]
    public void ReducerGetsOnlyParametersWithGradientsInListOrderOncePerStep()
    {
        var reducer = new ScalingReducer(1f) { LastNames = [] };
        var sgd = new Sgd { GradientReducer = reducer };
        Tensor withGradient = HandSteps.Named("with", 1f);
        Tensor without = Tensor.FromArray([2f], 1).AsParameter("without");   // no gradient yet
        Tensor other = HandSteps.Named("other", 3f);

        sgd.Step([other, without, withGradient]);
        sgd.Step([withGradient, other]);

        Assert.That(reducer.Calls, Is.EqualTo(2));
        Assert.That(reducer.LastNames, Is.EqualTo(new[] { "with", "other" }));
        Assert.That(without.Grad, Is.Null);
    }

    [Test]
    public void NoReducerByDefault() => Assert.That(new Adam().GradientReducer, Is.Null);
}
