using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// The fully connected layer as one op: Y = act(X·W + b), X (N, in), W (in, out), b (out), with
    /// act = identity or ReLU fused into the bias pass.
    /// </summary>
    /// <remarks>
    /// Forward: one GEMM, then one pass adding b (and clamping at 0). Backward: dZ = dY ⊙ act'(Y)
    /// (computed in place: this entry is the last reader of its output's gradient), then
    /// db += Σ rows of dZ, dW += Xᵀ·dZ and dX += dZ·Wᵀ, two GEMMs with the transposes in the flags.
    /// Same result as <c>Relu(AddBias(MatMul(X, W), b))</c> with one tape entry and one tensor instead of three.
    /// </remarks>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor bias, ActivationFunction activation = ActivationFunction.Linear)
    {
        long started = Profiler.Start();
        if (!ActivationFusion.CanRunInsideOp(activation))
            throw new ArgumentException($"Linear fuses only {ActivationFusion.InsideOp(ActivationFunction.Relu)}; apply {activation} with Ops.Activate (see ActivationFusion).", nameof(activation));
        if (x.Rank != 2 || weight.Rank != 2 || x.Dim(1) != weight.Dim(0))
            throw new ArgumentException($"Linear: input {Shapes.Format(x.Shape)} and weight {Shapes.Format(weight.Shape)} do not chain as (N, in)·(in, out).");
        int n = x.Dim(0), inputs = x.Dim(1), outputs = weight.Dim(1);
        if (bias.Rank != 1 || bias.Length != outputs)
            throw new ArgumentException($"Linear: bias must be ({outputs}), got {Shapes.Format(bias.Shape)}.");
        bool relu = activation == ActivationFunction.Relu;
        var y = Tensor.Empty(n, outputs);
        Gemm.Multiply(false, false, n, outputs, inputs, x.Span, inputs, weight.Span, outputs, y.Span, outputs);
        ActivationKernels.AddBiasRows(y.Span, bias.Span, relu);
        if (Tape.ShouldRecord(x, weight) || bias.RequiresGrad && Tape.IsRecording)
            Tape.Record(LinearEntry.Rent(y, relu), x, weight, bias);
        Profiler.Stop("Linear", started, 2.0 * n * inputs * outputs);
        return y;
    }

    // The inputs are read back from the entry (x, weight, bias in recording order), not captured again.
    private sealed class LinearEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private bool relu;

        public static LinearEntry Rent(Tensor y, bool relu)
        {
            LinearEntry entry = Rent<LinearEntry>(y);
            entry.relu = relu;
            return entry;
        }

        public override double BackwardFlops => 2.0 * Output.Length * GetInput(0).Dim(1) * ((GetInput(0).RequiresGrad ? 1 : 0) + (GetInput(1).RequiresGrad ? 1 : 0));

        public override void Backward(Tensor dY)
        {
            Tensor x = GetInput(0), weight = GetInput(1), bias = GetInput(2);
            int n = x.Dim(0), inputs = x.Dim(1), outputs = weight.Dim(1);
            Span<float> dZ = dY.Span;
            if (relu)
                ActivationKernels.ReluMask(Output.Span, dZ);
            if (bias.RequiresGrad)
                SumRowsInto(dZ, bias.EnsureGrad().Span);
            // Each product is stored rather than added when its gradient holds nothing yet (Tensor.GradForFirstWrite):
            // for the big layers that spares reading (and first clearing) megabytes of zeros.
            if (weight.RequiresGrad) // dW (in×out) += Xᵀ·dZ
            {
                Tensor dW = weight.GradForFirstWrite(out bool overwrite);
                Gemm.Multiply(true, false, inputs, outputs, n, x.Span, inputs, dZ, outputs, dW.Span, outputs, accumulate: !overwrite);
            }
            if (x.RequiresGrad)      // dX (N×in) += dZ·Wᵀ
            {
                Tensor dX = x.GradForFirstWrite(out bool overwrite);
                Gemm.Multiply(false, true, n, inputs, outputs, dZ, outputs, weight.Span, outputs, dX.Span, inputs, accumulate: !overwrite);
            }
        }
    }
}
