using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    // Arithmetic with a constant: one vectorised pass, no broadcasting machinery, and only x can get a
    // gradient (a float is not a tensor).

    /// <summary>y = x + s, element-wise. Backward: dX += dY.</summary>
    public static Tensor Add(Tensor x, float s)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Add(x.Span, s, y.Span);
        RecordScaled(y, x, 1f, "AddScalar");
        Profiler.Stop("AddScalar", started, 0);
        return y;
    }

    /// <summary>y = x − s, element-wise. Backward: dX += dY.</summary>
    public static Tensor Subtract(Tensor x, float s)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Subtract(x.Span, s, y.Span);
        RecordScaled(y, x, 1f, "SubtractScalar");
        Profiler.Stop("SubtractScalar", started, 0);
        return y;
    }

    /// <summary>y = s − x, element-wise (e.g. <c>1 − p</c>). Backward: dX −= dY.</summary>
    public static Tensor Subtract(float s, Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Subtract(s, x.Span, y.Span);
        RecordScaled(y, x, -1f, "SubtractFromScalar");
        Profiler.Stop("SubtractFromScalar", started, 0);
        return y;
    }

    /// <summary>y = s · x, element-wise. Backward: dX += s · dY.</summary>
    public static Tensor Multiply(Tensor x, float s)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Multiply(x.Span, s, y.Span);
        RecordScaled(y, x, s, "MultiplyScalar");
        Profiler.Stop("MultiplyScalar", started, 0);
        return y;
    }

    /// <summary>y = x / s, element-wise (a true division, not a multiplication by 1/s). Backward: dX += dY · (1/s).</summary>
    public static Tensor Divide(Tensor x, float s)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Divide(x.Span, s, y.Span);
        RecordScaled(y, x, 1f / s, "DivideScalar");
        Profiler.Stop("DivideScalar", started, 0);
        return y;
    }

    /// <summary>y = s / x, element-wise (e.g. a reciprocal with s = 1). Backward: dX += dY · (−s / x²) = −dY · y / x.</summary>
    public static Tensor Divide(float s, Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Divide(s, x.Span, y.Span);
        RecordUnary<ConstantOverXDerivative>(y, x, "DivideScalarBy");
        Profiler.Stop("DivideScalarBy", started, 0);
        return y;
    }

    private static void RecordScaled(Tensor y, Tensor x, float scale, string name)
    {
        if (Tape.ShouldRecord(x))
            Tape.Record(ScaledGradientEntry.Rent(y, scale, name), x);
    }

    /// <summary>Backward of every op whose derivative is a constant: dX += scale · dY.</summary>
    private sealed class ScaledGradientEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private float scale;
        private string name = null!;

        public static ScaledGradientEntry Rent(Tensor y, float scale, string name)
        {
            ScaledGradientEntry entry = Rent<ScaledGradientEntry>(y);
            entry.scale = scale;
            entry.name = name;
            return entry;
        }

        public override string OpName => name;

        public override void Backward(Tensor dY)
        {
            Span<float> dX = GetInput(0).EnsureGrad().Span;
            if (scale == 1f)
                TensorPrimitives.Add(dX, dY.Span, dX);
            else if (scale == -1f)
                TensorPrimitives.Subtract(dX, dY.Span, dX);
            else
                TensorPrimitives.MultiplyAdd(dY.Span, scale, dX, dX);
        }
    }
}
