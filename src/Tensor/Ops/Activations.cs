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
            default: throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown activation.");
        }
        if (Tape.ShouldRecord(x))
            Tape.Record(new ActivationEntry(y, x, function, columns), x);
        Profiler.Stop(function.ToString(), started);
        return y;
    }

    private sealed class ActivationEntry(Tensor y, Tensor x, ActivationFunction function, int columns) : TapeEntry(y)
    {
        public override string OpName => function.ToString();

        public override void Backward(Tensor dY)
        {
            Span<float> dX = x.EnsureGrad().Span;
            ReadOnlySpan<float> ys = Output.Span;
            switch (function)
            {
                case ActivationFunction.Relu: ActivationKernels.ReluBackward(ys, dY.Span, dX); break;
                case ActivationFunction.Sigmoid: ActivationKernels.SigmoidBackward(ys, dY.Span, dX); break;
                case ActivationFunction.Tanh: ActivationKernels.TanhBackward(ys, dY.Span, dX); break;
                case ActivationFunction.Softmax: ActivationKernels.SoftmaxBackward(ys, dY.Span, dX, columns); break;
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
}
