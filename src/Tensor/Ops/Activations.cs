using NanoNet.Diagnostics;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>ReLU: y = max(x, 0). Backward: dX += dY where y &gt; 0.</summary>
    public static Tensor Relu(Tensor x) => Pointwise(x, ActivationFunction.Relu);

    /// <summary>Sigmoid: y = 1/(1+e^-x). Backward: dX += dY·y·(1−y).</summary>
    public static Tensor Sigmoid(Tensor x) => Pointwise(x, ActivationFunction.Sigmoid);

    /// <summary>Tanh: y = tanh x. Backward: dX += dY·(1−y²).</summary>
    public static Tensor Tanh(Tensor x) => Pointwise(x, ActivationFunction.Tanh);

    /// <summary>Softmax over the last axis. Backward: dX += y ⊙ (dY − Σ dY⊙y) per row.</summary>
    public static Tensor Softmax(Tensor x) => Pointwise(x, ActivationFunction.Softmax);

    /// <summary>Leaky ReLU with slope 0.2 below zero (<see cref="ActivationKernels.LeakySlope"/>, Keras's <c>leaky_relu</c> function default).</summary>
    public static Tensor LeakyRelu(Tensor x) => Pointwise(x, ActivationFunction.LeakyRelu);

    /// <summary>ELU, α = 1: y = x for x &gt; 0, else e^x − 1.</summary>
    public static Tensor Elu(Tensor x) => Pointwise(x, ActivationFunction.Elu);

    /// <summary>SELU with Keras's constants λ ≈ 1.0507, α ≈ 1.6733.</summary>
    public static Tensor Selu(Tensor x) => Pointwise(x, ActivationFunction.Selu);

    /// <summary>GELU, exact erf form: y = ½·x·(1 + erf(x/√2)).</summary>
    public static Tensor Gelu(Tensor x) => Pointwise(x, ActivationFunction.Gelu);

    /// <summary>SiLU (swish): y = x·σ(x).</summary>
    public static Tensor Silu(Tensor x) => Pointwise(x, ActivationFunction.Silu);

    /// <summary>Swish, the same function as <see cref="Silu"/>.</summary>
    public static Tensor Swish(Tensor x) => Silu(x);

    /// <summary>Softplus: y = log(1 + e^x).</summary>
    public static Tensor Softplus(Tensor x) => Pointwise(x, ActivationFunction.Softplus);

    /// <summary>Softsign: y = x / (1 + |x|).</summary>
    public static Tensor Softsign(Tensor x) => Pointwise(x, ActivationFunction.Softsign);

    /// <summary>Hard sigmoid as Keras 3: relu6(x + 3)/6.</summary>
    public static Tensor HardSigmoid(Tensor x) => Pointwise(x, ActivationFunction.HardSigmoid);

    /// <summary>Applies <paramref name="function"/> (identity returns <paramref name="x"/> itself).</summary>
    public static Tensor Activate(Tensor x, ActivationFunction function) =>
        function == ActivationFunction.Linear ? x : Pointwise(x, function);

    private static Tensor Pointwise(Tensor x, ActivationFunction function)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        int columns = x.Rank == 0 ? 1 : x.Dim(-1);
        switch (function)
        {
            case ActivationFunction.Relu: ActivationKernels.ReluForward(x.Span, y.Span); break;
            case ActivationFunction.Sigmoid: ActivationKernels.SigmoidForward(x.Span, y.Span); break;
            case ActivationFunction.Tanh: ActivationKernels.TanhForward(x.Span, y.Span); break;
            case ActivationFunction.Softmax: ActivationKernels.SoftmaxForward(x.Span, y.Span, columns); break;
            case ActivationFunction.LeakyRelu: ActivationKernels.LeakyReluForward(x.Span, y.Span); break;
            case ActivationFunction.Elu: ActivationKernels.EluForward(x.Span, y.Span); break;
            case ActivationFunction.Selu: ActivationKernels.SeluForward(x.Span, y.Span); break;
            case ActivationFunction.Gelu: ActivationKernels.GeluForward(x.Span, y.Span); break;
            case ActivationFunction.Silu: ActivationKernels.SiluForward(x.Span, y.Span); break;
            case ActivationFunction.Softplus: ActivationKernels.SoftplusForward(x.Span, y.Span); break;
            case ActivationFunction.Softsign: ActivationKernels.SoftsignForward(x.Span, y.Span); break;
            case ActivationFunction.HardSigmoid: ActivationKernels.HardSigmoidForward(x.Span, y.Span); break;
            default: throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown activation.");
        }
        if (Tape.ShouldRecord(x))
            Tape.Record(ActivationEntry.Rent(y, function, columns), x);
        if (started != 0) // the name is a string made per call: only when profiling
            Profiler.Stop(function.ToString(), started, bytes: 2.0 * sizeof(float) * x.Length); // read x, write y
        return y;
    }

    private sealed class ActivationEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private ActivationFunction function;
        private int columns;

        public static ActivationEntry Rent(Tensor y, ActivationFunction function, int columns)
        {
            ActivationEntry entry = Rent<ActivationEntry>(y);
            entry.function = function;
            entry.columns = columns;
            return entry;
        }

        public override string OpName => function.ToString();

        /// <summary>Read y (or x) and dY, read and write dX (it accumulates).</summary>
        public override double BackwardBytes => 4.0 * sizeof(float) * Output.Length;

        public override void Backward(Tensor dY)
        {
            Tensor x = GetInput(0); // read back from the entry rather than captured twice
            Span<float> dX = x.EnsureGrad().Span;
            ReadOnlySpan<float> ys = Output.Span;
            switch (function)
            {
                case ActivationFunction.Relu: ActivationKernels.ReluBackward(ys, dY.Span, dX); break;
                case ActivationFunction.Sigmoid: ActivationKernels.SigmoidBackward(ys, dY.Span, dX); break;
                case ActivationFunction.Tanh: ActivationKernels.TanhBackward(ys, dY.Span, dX); break;
                case ActivationFunction.Softmax: ActivationKernels.SoftmaxBackward(ys, dY.Span, dX, columns); break;
                case ActivationFunction.LeakyRelu: ActivationKernels.LeakyReluBackward(x.Span, dY.Span, dX); break;
                case ActivationFunction.Elu: ActivationKernels.EluBackward(x.Span, ys, dY.Span, dX); break;
                case ActivationFunction.Selu: ActivationKernels.SeluBackward(x.Span, ys, dY.Span, dX); break;
                case ActivationFunction.Gelu: ActivationKernels.GeluBackward(x.Span, dY.Span, dX); break;
                case ActivationFunction.Silu: ActivationKernels.SiluBackward(x.Span, dY.Span, dX); break;
                case ActivationFunction.Softplus: ActivationKernels.SoftplusBackward(x.Span, dY.Span, dX); break;
                case ActivationFunction.Softsign: ActivationKernels.SoftsignBackward(ys, dY.Span, dX); break;
                case ActivationFunction.HardSigmoid: ActivationKernels.HardSigmoidBackward(ys, dY.Span, dX); break;
            }
        }
    }
}

/// <summary>The point-wise (or row-wise, for softmax) activation functions.</summary>
public enum ActivationFunction
{
    /// <summary>Identity: y = x.</summary>
    Linear,
    /// <summary>y = max(x, 0).</summary>
    Relu,
    /// <summary>y = 1/(1+e^-x).</summary>
    Sigmoid,
    /// <summary>y = tanh x.</summary>
    Tanh,
    /// <summary>Softmax over the last axis.</summary>
    Softmax,
    /// <summary>y = x for x &gt; 0, else 0.2·x: one fixed slope, Keras's <c>keras.activations.leaky_relu</c> default (its LeakyReLU layer defaults to 0.3).</summary>
    LeakyRelu,
    /// <summary>ELU with α = 1: y = x for x &gt; 0, else e^x − 1.</summary>
    Elu,
    /// <summary>SELU: y = λ·x for x &gt; 0, else λ·α·(e^x − 1), with Keras's λ ≈ 1.0507, α ≈ 1.6733.</summary>
    Selu,
    /// <summary>GELU, exact form (Keras's default approximate=False): y = ½·x·(1 + erf(x/√2)).</summary>
    Gelu,
    /// <summary>SiLU, also called swish: y = x·σ(x).</summary>
    Silu,
    /// <summary>y = log(1 + e^x).</summary>
    Softplus,
    /// <summary>y = x / (1 + |x|).</summary>
    Softsign,
    /// <summary>Keras 3's hard sigmoid: y = relu6(x + 3)/6 = clamp(x/6 + ½, 0, 1).</summary>
    HardSigmoid,
}
