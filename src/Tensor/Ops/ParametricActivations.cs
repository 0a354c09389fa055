using NanoNet.Kernels;
using NanoNet.Autograd;
using NanoNet.Diagnostics;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Leaky ReLU with a chosen slope (Keras's LeakyReLU layer, default 0.3): y = x for x &gt; 0, else slope·x.
    /// Backward: dX += dY, or slope·dY where x ≤ 0. Any shape.
    /// </summary>
    public static Tensor LeakyRelu(Tensor x, float slope) => Parametric(x, slope, exponential: false);

    /// <summary>
    /// ELU with a chosen α (Keras's ELU layer): y = x for x &gt; 0, else α·(eˣ − 1). Backward: dX += dY, or
    /// dY·(y + α) where x ≤ 0 (the derivative α·eˣ from the output). Any shape.
    /// </summary>
    public static Tensor Elu(Tensor x, float alpha) => Parametric(x, alpha, exponential: true);

    private static Tensor Parametric(Tensor x, float parameter, bool exponential)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (!float.IsFinite(parameter))
            throw new ArgumentOutOfRangeException(nameof(parameter), parameter, "An activation's parameter must be finite.");
        long started = Profiler.Start();
        Tensor y = Tensor.EmptyLike(x);
        if (exponential)
            ActivationKernels.EluForward(x.Span, y.Span, parameter);
        else
            ActivationKernels.LeakyReluForward(x.Span, y.Span, parameter);
        if (Tape.ShouldRecord(x))
            Tape.Record(ParametricEntry.Rent(y, x, parameter, exponential), x);
        Profiler.Stop(exponential ? "Elu" : "LeakyRelu", started);
        return y;
    }

    private sealed class ParametricEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private float parameter;
        private bool exponential;

        public static ParametricEntry Rent(Tensor y, Tensor x, float parameter, bool exponential)
        {
            ParametricEntry entry = Rent<ParametricEntry>(y);
            (entry.x, entry.parameter, entry.exponential) = (x, parameter, exponential);
            return entry;
        }

        public override string OpName => exponential ? "Elu" : "LeakyRelu";

        public override void Backward(Tensor dY)
        {
            Span<float> dX = x.EnsureGrad().Span;
            if (exponential)
                ActivationKernels.EluBackward(x.Span, Output.Span, dY.Span, dX, parameter);
            else
                ActivationKernels.LeakyReluBackward(x.Span, dY.Span, dX, parameter);
        }
    }
}
