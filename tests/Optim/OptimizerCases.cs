using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>One configuration of every optimizer and variant, for tests that run them all.</summary>
internal static class OptimizerCases
{
    public static IEnumerable<TestCaseData> All()
    {
        yield return Case("Sgd", () => new Sgd(0.1f));
        yield return Case("MomentumClassical", () => new Momentum(0.1f, 0.9f));
        yield return Case("MomentumExponentialAverage", () => new Momentum(0.1f, 0.9f, MomentumForm.ExponentialAverage));
        yield return Case("Nesterov", () => new Nesterov(0.1f, 0.9f));
        yield return Case("Adagrad", () => new Adagrad(0.1f));
        yield return Case("RmsProp", () => new RmsProp(0.01f));
        yield return Case("RmsPropCenteredMomentum", () => new RmsProp(0.01f, momentum: 0.9f, centered: true));
        yield return Case("RmsPropEpsilonOutsideRoot", () => new RmsProp(0.01f) { EpsilonOutsideSquareRoot = true });
        yield return Case("Adam", () => new Adam(0.01f));
        yield return Case("AdamAmsGrad", () => new Adam(0.01f, beta2: 0.5f, amsgrad: true));
        yield return Case("AdamW", () => new AdamW(0.01f, weightDecay: 0.1f));
    }

    private static TestCaseData Case(string name, Func<Optimizer> create) => new TestCaseData(create).SetArgDisplayNames(name);
}
