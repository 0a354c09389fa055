using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// Every optimizer reaches the minimum of a convex problem (least-squares linear regression) and of the
/// Rosenbrock function from the standard start. Gradients are computed analytically here; learning rates
/// and step counts are tuned per optimizer (RMSprop's sign-like steps need a decaying rate to settle).
/// </summary>
public class ConvergenceTests
{
    // ---- linear regression: y = X·w + b, loss = mean((X·w + b − y)²) -------------------------------

    private static readonly float[,] X =
    {
        { 1f, 2f, -1f }, { 0.5f, -1f, 2f }, { -1.5f, 0.5f, 1f }, { 2f, 1f, 0.5f },
        { 0f, -2f, -1f }, { 1f, 1f, 1f }, { -0.5f, 1.5f, -2f }, { 1.5f, -0.5f, 0f },
    };
    private static readonly float[] TrueWeights = [2f, -1f, 0.5f];
    private const float TrueBias = 0.3f;

    public static IEnumerable<TestCaseData> RegressionCases()
    {
        yield return Case("Sgd", () => new Sgd(0.1f), 500);
        yield return Case("MomentumClassical", () => new Momentum(0.05f, 0.9f), 1000);
        yield return Case("MomentumExponentialAverage", () => new Momentum(0.1f, 0.9f, MomentumForm.ExponentialAverage), 1000);
        yield return Case("Nesterov", () => new Nesterov(0.05f, 0.9f), 1000);
        yield return Case("Adagrad", () => new Adagrad(0.5f), 1000);
        yield return Case("RmsProp", () => new RmsProp(0.01f) { Schedule = new CosineDecay(0.01f, 2000) }, 2000);
        yield return Case("RmsPropCenteredMomentum", () => new RmsProp(0.01f, momentum: 0.9f, centered: true) { Schedule = new CosineDecay(0.01f, 2000) }, 2000);
        yield return Case("Adam", () => new Adam(0.05f), 1000);
        yield return Case("AdamAmsGrad", () => new Adam(0.05f, amsgrad: true), 1000);
        yield return Case("AdamW", () => new AdamW(0.05f, weightDecay: 1e-4f), 1000);
    }

    [TestCaseSource(nameof(RegressionCases))]
    public void LinearRegressionReachesTheExactSolution(Func<Optimizer> create, int steps)
    {
        Optimizer optimizer = create();
        Tensor w = HandSteps.Parameter(0f, 0f, 0f), b = HandSteps.Parameter(0f);
        List<Tensor> parameters = [w, b];
        int n = X.GetLength(0);
        for (int step = 0; step < steps; step++)
        {
            Optimizer.ZeroGradients(parameters);
            Span<float> dW = w.Grad!.Span, dB = b.Grad!.Span;
            for (int i = 0; i < n; i++)
            {
                float target = TrueBias, prediction = b[0];
                for (int j = 0; j < 3; j++)
                {
                    target += X[i, j] * TrueWeights[j];
                    prediction += X[i, j] * w[j];
                }
                float r = 2f * (prediction - target) / n;   // ∂loss/∂prediction_i
                for (int j = 0; j < 3; j++)
                    dW[j] += r * X[i, j];
                dB[0] += r;
            }
            optimizer.Step(parameters);
        }

        double distance = Math.Sqrt(Square(b[0] - TrueBias) + Enumerable.Range(0, 3).Sum(j => Square(w[j] - TrueWeights[j])));
        Assert.That(distance, Is.LessThan(1e-3), $"w = [{string.Join(", ", w.ToArray())}], b = {b[0]}");
    }

    // ---- Rosenbrock: f(x, y) = (1 − x)² + 100·(y − x²)², minimum at (1, 1) ---------------------------

    public static IEnumerable<TestCaseData> RosenbrockCases()
    {
        yield return Case("Sgd", () => new Sgd(1.5e-3f), 20_000);
        yield return Case("MomentumClassical", () => new Momentum(1e-3f, 0.9f), 5_000);
        yield return Case("MomentumExponentialAverage", () => new Momentum(1e-2f, 0.9f, MomentumForm.ExponentialAverage), 5_000);
        yield return Case("Nesterov", () => new Nesterov(1e-3f, 0.9f), 5_000);
        yield return Case("Adagrad", () => new Adagrad(0.5f), 20_000);
        yield return Case("RmsProp", () => new RmsProp(1e-3f), 20_000);
        yield return Case("RmsPropCenteredMomentum", () => new RmsProp(1e-4f, momentum: 0.9f, centered: true), 10_000);
        yield return Case("Adam", () => new Adam(3e-3f), 10_000);
        yield return Case("AdamAmsGrad", () => new Adam(1e-2f, amsgrad: true), 20_000);
        yield return Case("AdamW", () => new AdamW(1e-2f, weightDecay: 1e-4f), 10_000);
    }

    [TestCaseSource(nameof(RosenbrockCases))]
    public void RosenbrockReachesTheMinimum(Func<Optimizer> create, int steps)
    {
        Optimizer optimizer = create();
        Tensor p = HandSteps.Parameter(-1.2f, 1f);
        List<Tensor> parameters = [p];
        Span<float> gradient = p.Grad!.Span;
        for (int step = 0; step < steps; step++)
        {
            float x = p[0], y = p[1];
            gradient[0] = -2f * (1f - x) - 400f * x * (y - x * x);
            gradient[1] = 200f * (y - x * x);
            optimizer.Step(parameters);
        }

        double distance = Math.Sqrt(Square(p[0] - 1f) + Square(p[1] - 1f));
        Assert.That(distance, Is.LessThan(2e-3), $"ended at ({p[0]}, {p[1]})");
    }

    private static double Square(double v) => v * v;

    private static TestCaseData Case(string name, Func<Optimizer> create, int steps) =>
        new TestCaseData(create, steps).SetArgDisplayNames(name, steps.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
