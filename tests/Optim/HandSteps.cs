using NanoNet.Optim;

namespace NanoNet.Tests.Optim;

/// <summary>
/// The small fixed problem every optimizer's hand-checked test runs: three weights and three hand-set
/// gradients, one per step. Expected values in the tests were computed by hand (a calculator in double
/// precision) from each class's documented formula and are written there as literals.
/// </summary>
internal static class HandSteps
{
    /// <summary>θ₀.</summary>
    public static readonly float[] Start = [1f, -2f, 3f];

    /// <summary>g₁, g₂, g₃ (exact in binary, so only the optimizer's own arithmetic rounds).</summary>
    public static readonly float[][] Gradients =
    [
        [0.5f, -1f, 2f],
        [0.25f, 0.5f, -1f],
        [-0.5f, 1f, 0.125f],
    ];

    /// <summary>Relative tolerance of the hand checks.</summary>
    public const double Tolerance = 1e-6;

    /// <summary>A parameter tensor holding <paramref name="values"/>, with a zero gradient attached.</summary>
    public static Tensor Parameter(params float[] values)
    {
        var p = Tensor.FromArray((float[])values.Clone(), values.Length).AsParameter();
        p.Grad = Tensor.Zeros(values.Length);
        return p;
    }

    /// <summary>A parameter named <paramref name="name"/> (the key of its optimizer state in checkpoints).</summary>
    public static Tensor Named(string name, params float[] values) => Parameter(values).AsParameter(name);

    /// <summary>Name of the parameter <see cref="Check"/> trains.</summary>
    public const string CheckedName = "weights";

    /// <summary>Overwrites the gradient of <paramref name="parameter"/>.</summary>
    public static void SetGradient(Tensor parameter, params float[] gradient)
    {
        parameter.Grad ??= Tensor.Zeros(parameter.Length);
        gradient.CopyTo(parameter.Grad.Span);
    }

    /// <summary>
    /// Runs the three steps on <see cref="Start"/> with <see cref="Gradients"/> and checks the weights
    /// after each against <paramref name="expected"/> (one row per step).
    /// </summary>
    public static void Check(Optimizer optimizer, double[][] expected)
    {
        Tensor p = Named(CheckedName, Start);
        List<Tensor> parameters = [p];
        for (int step = 0; step < 3; step++)
        {
            SetGradient(p, Gradients[step]);
            optimizer.Step(parameters);
            AssertClose(p.ToArray(), expected[step], $"weights after step {step + 1}");
        }
        Assert.That(optimizer.Iterations, Is.EqualTo(3));
    }

    /// <summary>The state buffer <paramref name="name"/> of the parameter named <paramref name="parameter"/>.</summary>
    public static float[] State(Optimizer optimizer, string name, string parameter = CheckedName) =>
        optimizer.GetState().Single(b => b.ParameterName == parameter && b.StateName == name).Values.ToArray();

    /// <summary>Element-wise |actual − expected| ≤ <see cref="Tolerance"/>·|expected|.</summary>
    public static void AssertClose(float[] actual, double[] expected, string what, double tolerance = Tolerance)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(Math.Abs(expected[i]) * tolerance), $"{what}, element {i}");
    }
}
