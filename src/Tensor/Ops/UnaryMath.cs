using NanoNet.Diagnostics;
using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    // Point-wise math on one tensor. Forward: one TensorPrimitives call. Backward: dX += dY ⊙ f′, through
    // UnaryDerivatives with f′ written from x and the saved output y.

    /// <summary>y = −x. Backward: dX −= dY.</summary>
    public static Tensor Negate(Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Negate(x.Span, y.Span);
        RecordScaled(y, x, -1f, "Negate");
        Profiler.Stop("Negate", started, 0);
        return y;
    }

    /// <summary>y = eˣ. Backward: dX += dY · y.</summary>
    public static Tensor Exp(Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Exp(x.Span, y.Span);
        RecordUnary<ExpDerivative>(y, x, "Exp");
        Profiler.Stop("Exp", started, 0);
        return y;
    }

    /// <summary>y = √x (NaN for x &lt; 0). Backward: dX += dY · 0.5 / y (infinite at x = 0).</summary>
    public static Tensor Sqrt(Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Sqrt(x.Span, y.Span);
        RecordUnary<SqrtDerivative>(y, x, "Sqrt");
        Profiler.Stop("Sqrt", started, 0);
        return y;
    }

    /// <summary>y = 1 / √x (the reciprocal square root, as in normalisation layers). Backward: dX += dY · (−0.5 · y³).</summary>
    public static Tensor Rsqrt(Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.ReciprocalSqrt(x.Span, y.Span);
        RecordUnary<RsqrtDerivative>(y, x, "Rsqrt");
        Profiler.Stop("Rsqrt", started, 0);
        return y;
    }

    /// <summary>y = x². Backward: dX += dY · 2x.</summary>
    public static Tensor Square(Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Multiply(x.Span, x.Span, y.Span);
        RecordUnary<SquareDerivative>(y, x, "Square");
        Profiler.Stop("Square", started, 0);
        return y;
    }

    /// <summary>y = |x|. Backward: dX += dY · sign(x), with sign(0) = 0.</summary>
    public static Tensor Abs(Tensor x)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Abs(x.Span, y.Span);
        RecordUnary<AbsDerivative>(y, x, "Abs");
        Profiler.Stop("Abs", started, 0);
        return y;
    }

    /// <summary>
    /// y = min(max(x, <paramref name="min"/>), <paramref name="max"/>). Backward: dX += dY where
    /// min ≤ x ≤ max (the bounds pass the gradient, as in PyTorch), 0 where x was clipped.
    /// </summary>
    public static Tensor Clamp(Tensor x, float min, float max)
    {
        if (!(min <= max))
            throw new ArgumentException($"Clamp: min ({min}) must not exceed max ({max}).");
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Clamp(x.Span, min, max, y.Span);
        RecordUnary<ClampDerivative>(y, x, "Clamp");
        Profiler.Stop("Clamp", started, 0);
        return y;
    }

    /// <summary>
    /// y = x^<paramref name="exponent"/> (IEEE pow: a negative x with a non-integer exponent gives NaN).
    /// Backward: dX += dY · p · x^(p−1); nothing for p = 0 (y is the constant 1).
    /// </summary>
    public static Tensor Pow(Tensor x, float exponent)
    {
        long started = Profiler.Start();
        var y = Tensor.EmptyLike(x);
        TensorPrimitives.Pow(x.Span, exponent, y.Span);
        if (Tape.ShouldRecord(x))
            Tape.Record(PowEntry.Rent(y, x, exponent), x);
        Profiler.Stop("Pow", started, 0);
        return y;
    }

    private sealed class PowEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private float exponent;

        public static PowEntry Rent(Tensor y, Tensor x, float exponent)
        {
            PowEntry entry = Rent<PowEntry>(y);
            (entry.x, entry.exponent) = (x, exponent);
            return entry;
        }

        public override void Backward(Tensor dY)
        {
            Span<float> dX = x.EnsureGrad().Span;
            if (exponent == 0f)
                return;
            // p · x^(p−1) from its own pow, not p·y/x, so x = 0 gives the right 0 (p > 1) or ∞ (p < 1).
            Tensor slope = Tensor.EmptyLike(x);
            TensorPrimitives.Pow(x.Span, exponent - 1f, slope.Span);
            TensorPrimitives.Multiply(slope.Span, exponent, slope.Span);
            TensorPrimitives.MultiplyAdd(dY.Span, slope.Span, dX, dX);
        }
    }

    private static void RecordUnary<TDerivative>(Tensor y, Tensor x, string name) where TDerivative : struct, IDerivative
    {
        if (Tape.ShouldRecord(x))
            Tape.Record(UnaryEntry<TDerivative>.Rent(y, x, name), x);
    }

    /// <summary>Backward of a point-wise op: dX += dY ⊙ f′(x, y).</summary>
    private sealed class UnaryEntry<TDerivative> : TapeEntry where TDerivative : struct, IDerivative
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private string name = null!;

        public static UnaryEntry<TDerivative> Rent(Tensor y, Tensor x, string name)
        {
            UnaryEntry<TDerivative> entry = Rent<UnaryEntry<TDerivative>>(y);
            (entry.x, entry.name) = (x, name);
            return entry;
        }

        public override string OpName => name;

        public override void Backward(Tensor dY) =>
            UnaryDerivatives.Accumulate<TDerivative>(x.Span, Output.Span, dY.Span, x.EnsureGrad().Span);
    }
}
