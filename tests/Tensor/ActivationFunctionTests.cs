using NanoNet.Layers;
using NanoNet.Optim;

namespace NanoNet.Tests;

/// <summary>
/// The activations beyond ReLU/sigmoid/tanh/softmax: forward against a plain double-precision reference,
/// a central-difference gradient check, and the Keras name / Activation layer config round-trip.
/// </summary>
public class ActivationFunctionTests
{
    private const double SeluAlpha = 1.6732632423543772848170429916717;
    private const double SeluScale = 1.0507009873554804934193349852946;

    public static readonly ActivationFunction[] Added =
    [
        ActivationFunction.LeakyRelu, ActivationFunction.Elu, ActivationFunction.Selu, ActivationFunction.Gelu,
        ActivationFunction.Silu, ActivationFunction.Softplus, ActivationFunction.Softsign, ActivationFunction.HardSigmoid,
    ];

    /// <summary>The plain reference formula, in double.</summary>
    private static double Reference(ActivationFunction function, double x) => function switch
    {
        ActivationFunction.LeakyRelu => x > 0 ? x : 0.2 * x,
        ActivationFunction.Elu => x > 0 ? x : Math.Exp(x) - 1,
        ActivationFunction.Selu => SeluScale * (x > 0 ? x : SeluAlpha * (Math.Exp(x) - 1)),
        ActivationFunction.Gelu => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        ActivationFunction.Silu => x / (1 + Math.Exp(-x)),
        ActivationFunction.Softplus => Math.Log(1 + Math.Exp(x)),
        ActivationFunction.Softsign => x / (1 + Math.Abs(x)),
        ActivationFunction.HardSigmoid => Math.Min(Math.Max(x + 3, 0), 6) / 6,
        _ => throw new ArgumentOutOfRangeException(nameof(function)),
    };

    /// <summary>erf by its definition, 2/√π ∫₀^z e^(−t²) dt, with composite Simpson (4000 intervals: error far below 1e-12 on |z| ≤ 10).</summary>
    private static double Erf(double z)
    {
        const int n = 4000;
        double h = z / n, sum = 1 + Math.Exp(-z * z);
        for (int i = 1; i < n; i++)
            sum += (i % 2 == 1 ? 4 : 2) * Math.Exp(-(i * h) * (i * h));
        return 2 / Math.Sqrt(Math.PI) * sum * h / 3;
    }

    private static Tensor Apply(ActivationFunction function, Tensor x) => function switch
    {
        ActivationFunction.LeakyRelu => Ops.LeakyRelu(x),
        ActivationFunction.Elu => Ops.Elu(x),
        ActivationFunction.Selu => Ops.Selu(x),
        ActivationFunction.Gelu => Ops.Gelu(x),
        ActivationFunction.Silu => Ops.Silu(x),
        ActivationFunction.Softplus => Ops.Softplus(x),
        ActivationFunction.Softsign => Ops.Softsign(x),
        ActivationFunction.HardSigmoid => Ops.HardSigmoid(x),
        _ => throw new ArgumentOutOfRangeException(nameof(function)),
    };

    [TestCaseSource(nameof(Added))]
    public void ForwardMatchesReference(ActivationFunction function)
    {
        // 203 values over [-8, 8] (an odd length exercises the scalar tails of the vector loops), plus extremes.
        var values = new List<float>();
        for (int i = 0; i < 203; i++)
            values.Add(-8f + 16f * i / 202f);
        values.AddRange([0f, -0f, 1e-4f, -1e-4f, 20f, -20f, 3f, -3f]);
        Tensor x = Tensor.FromArray([.. values], [values.Count]);
        float[] y = Apply(function, x).ToArray();
        float[] viaActivate = Ops.Activate(x, function).ToArray();
        for (int i = 0; i < values.Count; i++)
        {
            double expected = Reference(function, values[i]);
            Assert.That(y[i], Is.EqualTo(expected).Within(1e-6 + 2e-6 * Math.Abs(expected)), $"{function}({values[i]})");
            Assert.That(viaActivate[i], Is.EqualTo(y[i]), "Ops.Activate and the named op agree");
        }
    }

    /// <summary>
    /// The vectorized kernels against their scalar twins (<see cref="Kernels.ActivationReference"/>), forward and the
    /// accumulating backward, on an odd length (the scalar tail runs too) over [−12, 12] plus extremes where e^x
    /// overflows or underflows.
    /// </summary>
    [TestCase("gelu")]
    [TestCase("silu")]
    [TestCase("softplus")]
    [TestCase("leaky_relu(0.3)")]
    [TestCase("elu(0.5)")]
    public void VectorKernelsMatchTheirScalarTwins(string kernel)
    {
        var values = new List<float>();
        for (int i = 0; i < 401; i++)
            values.Add(-12f + 24f * i / 400f);
        values.AddRange([0f, -0f, 1e-4f, -1e-4f, 1e-30f, 60f, -60f, 100f, -100f, 3f]);
        float[] x = [.. values];
        var rng = new Random(4);
        float[] dY = [.. x.Select(_ => rng.NextSingle() * 2 - 1)];
        float[] start = [.. x.Select(_ => rng.NextSingle())];
        float[] y = new float[x.Length], yRef = new float[x.Length];
        float[] dX = (float[])start.Clone(), dXRef = (float[])start.Clone();
        switch (kernel)
        {
            case "gelu":
                Kernels.ActivationKernels.GeluForward(x, y); Kernels.ActivationReference.GeluForward(x, yRef);
                Kernels.ActivationKernels.GeluBackward(x, dY, dX); Kernels.ActivationReference.GeluBackward(x, dY, dXRef);
                break;
            case "silu":
                Kernels.ActivationKernels.SiluForward(x, y); yRef = [.. x.Select(v => v / (1f + MathF.Exp(-v)))];
                Kernels.ActivationKernels.SiluBackward(x, dY, dX); Kernels.ActivationReference.SiluBackward(x, dY, dXRef);
                break;
            case "softplus":
                Kernels.ActivationKernels.SoftplusForward(x, y); Kernels.ActivationReference.SoftplusForward(x, yRef);
                Kernels.ActivationKernels.SoftplusBackward(x, dY, dX); Kernels.ActivationReference.SoftplusBackward(x, dY, dXRef);
                break;
            case "leaky_relu(0.3)":
                Kernels.ActivationKernels.LeakyReluForward(x, y, 0.3f); Kernels.ActivationReference.LeakyReluForward(x, yRef, 0.3f);
                Kernels.ActivationKernels.LeakyReluBackward(x, dY, dX, 0.3f); Kernels.ActivationReference.LeakyReluBackward(x, dY, dXRef, 0.3f);
                break;
            default:
                Kernels.ActivationKernels.EluForward(x, y, 0.5f); Kernels.ActivationReference.EluForward(x, yRef, 0.5f);
                Kernels.ActivationKernels.EluBackward(x, y, dY, dX, 0.5f); Kernels.ActivationReference.EluBackward(x, yRef, dY, dXRef, 0.5f);
                break;
        }
        Assert.That(y.All(float.IsFinite) && dX.All(float.IsFinite), Is.True, "no overflow at the extremes");
        KernelAssert.Close(y, yRef, kernel + " forward", 2e-6f);
        KernelAssert.Close(dX, dXRef, kernel + " backward", 2e-6f);
    }

    /// <summary>
    /// The fused row softmax against its double-precision twin on row widths below, at and above a vector (and
    /// attention's 64), with logits up to 1000 (e^x alone would overflow: the max is subtracted first); backward too.
    /// </summary>
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(8)]
    [TestCase(64)]
    [TestCase(203)]
    public void SoftmaxRowKernelMatchesItsScalarTwin(int columns)
    {
        const int rows = 5;
        var rng = new Random(columns);
        float[] x = [.. Enumerable.Range(0, rows * columns).Select(i => i / columns == 3 ? 1000f - i % 7 : rng.NextSingle() * 60 - 30)];
        float[] dY = [.. x.Select(_ => rng.NextSingle() * 2 - 1)];
        float[] y = new float[x.Length], yRef = new float[x.Length];
        Kernels.ActivationKernels.SoftmaxForward(x, y, columns);
        Kernels.ActivationReference.SoftmaxForward(x, yRef, columns);
        KernelAssert.Close(y, yRef, $"softmax over {columns}", 1e-5f);
        float[] dX = [.. x.Select(_ => 0.5f)], dXRef = [.. x.Select(_ => 0.5f)];
        Kernels.ActivationKernels.SoftmaxBackward(y, dY, dX, columns);
        Kernels.ActivationReference.SoftmaxBackward(y, dY, dXRef, columns);
        KernelAssert.Close(dX, dXRef, $"softmax backward over {columns}", 1e-5f);
    }

    [TestCaseSource(nameof(Added))]
    public void GradientCheck(ActivationFunction function)
    {
        // Values in ±[0.1, 4] (scaled from [-1, 1) away from zero), away from the kinks at 0 (leaky ReLU, ELU, SELU) and
        // from hard sigmoid's at ±3 (|x| < 2.9 for it).
        Tensor x = Tests.GradientCheck.Random([4, 9], 40 + (int)function, awayFromZero: 0.05f);
        float scale = function == ActivationFunction.HardSigmoid ? 2.8f : 4f;
        Span<float> s = x.Span;
        for (int i = 0; i < s.Length; i++)
            s[i] *= scale;
        Tests.GradientCheck.Check(t => Apply(function, t[0]), [x], epsilon: 1e-2f);
        Tests.GradientCheck.Check(t => Ops.Activate(t[0], function), [x], epsilon: 1e-2f);
    }

    [TestCaseSource(nameof(Added))]
    public void ActivationLayerConfigRoundTrips(ActivationFunction function)
    {
        var layer = new Activation(function, "act");
        LayerConfig config = layer.GetConfig();
        var rebuilt = (Activation)LayerRegistry.Create(config);
        Assert.That(rebuilt.Function, Is.EqualTo(function));
        Assert.That(ActivationNames.Parse(ActivationNames.Of(function)), Is.EqualTo(function));
    }

    [Test]
    public void KerasNames()
    {
        Assert.That(Added.Select(ActivationNames.Of), Is.EqualTo(new[]
            { "leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "softsign", "hard_sigmoid" }));
        Assert.That(ActivationNames.Parse("swish"), Is.EqualTo(ActivationFunction.Silu));
        Assert.That(ActivationNames.Parse("LEAKY_RELU"), Is.EqualTo(ActivationFunction.LeakyRelu));
    }

    [TestCaseSource(nameof(Added))]
    public void DenseAndConv2DTakeTheActivation(ActivationFunction function)
    {
        var dense = new Dense(3, function, "d");
        Assert.That(((Dense)LayerRegistry.Create(dense.GetConfig())).Activation, Is.EqualTo(function));
        var model = new Sequential([5, 5, 2], new Conv2D(2, 3, activation: function), new Flatten(), dense);
        model.Compile(new Sgd(0.01f), new MeanSquaredError(), seed: 3);
        Tensor y = model.Predict(Tensor.RandomUniform([2, 5, 5, 2], -1f, 1f, 3), 2);
        Assert.That(y.Shape.ToArray(), Is.EqualTo(new[] { 2, 3 }));
    }
}
