using NanoNet.Autograd;

namespace NanoNet.Tests;

/// <summary>
/// Central-difference gradient checking: compares the tape's analytic gradients with
/// (f(x+ε) − f(x−ε)) / 2ε for every element of every input.
/// </summary>
/// <remarks>
/// The scalar checked is L = Σ wᵢ·yᵢ with fixed random weights w, so every output element's
/// gradient path is exercised (a plain Σ y would hide errors that cancel across elements, e.g. in
/// softmax). The numeric side sums in double to keep float32 round-off out of the difference.
/// </remarks>
internal static class GradientCheck
{
    public static void Check(Func<Tensor[], Tensor> op, Tensor[] inputs, float epsilon = 1e-2f,
        float absoluteTolerance = 2e-3f, float relativeTolerance = 2e-2f, int seed = 123)
    {
        foreach (Tensor input in inputs)
        {
            input.RequiresGrad = true;
            input.Grad = null;
        }
        Tensor y = op(inputs);
        Tensor weights = Tensor.RandomUniform(y.Shape.ToArray(), -1f, 1f, seed);
        Tensor loss = Ops.Sum(Ops.Multiply(y, weights));
        loss.Backward();

        for (int t = 0; t < inputs.Length; t++)
        {
            Tensor input = inputs[t];
            Assert.That(input.Grad, Is.Not.Null, $"input {t} received no gradient");
            Span<float> values = input.Span;
            for (int i = 0; i < input.Length; i++)
            {
                float original = values[i];
                values[i] = original + epsilon;
                double plus = WeightedSum(op, inputs, weights);
                values[i] = original - epsilon;
                double minus = WeightedSum(op, inputs, weights);
                values[i] = original;
                double numeric = (plus - minus) / (2 * epsilon);
                double analytic = input.Grad![i];
                double tolerance = absoluteTolerance + relativeTolerance * Math.Max(Math.Abs(numeric), Math.Abs(analytic));
                Assert.That(analytic, Is.EqualTo(numeric).Within(tolerance),
                    $"input {t} {Shapes.Format(input.Shape)}, element {i}: analytic {analytic}, numeric {numeric}");
            }
        }
    }

    private static double WeightedSum(Func<Tensor[], Tensor> op, Tensor[] inputs, Tensor weights)
    {
        using (Tape.NoGrad())
        {
            Tensor y = op(inputs);
            double sum = 0;
            for (int i = 0; i < y.Length; i++)
                sum += (double)y[i] * weights[i];
            return sum;
        }
    }

    /// <summary>Random values in [-1, 1) whose magnitude is at least <paramref name="awayFromZero"/> (keeps ReLU kinks out of reach of ε).</summary>
    public static Tensor Random(int[] shape, int seed, float awayFromZero = 0f)
    {
        Tensor t = Tensor.RandomUniform(shape, -1f, 1f, seed);
        Span<float> s = t.Span;
        for (int i = 0; i < s.Length; i++)
            if (MathF.Abs(s[i]) < awayFromZero)
                s[i] = s[i] < 0 ? s[i] - awayFromZero : s[i] + awayFromZero;
        return t;
    }
}
