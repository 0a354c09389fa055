using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NanoNet.Optim;

/// <summary>
/// Gradient clipping over a list of parameters, usable with or without an optimizer (an
/// <see cref="Optimizer"/> does the same through <see cref="Optimizer.ClipValue"/> and
/// <see cref="Optimizer.GlobalClipNorm"/>, fused into its update).
/// </summary>
/// <remarks>
/// The global norm is ‖g‖ = √(Σ over parameters Σ over elements g²), over every parameter that has a
/// gradient. It is summed in double precision parameter by parameter, in list order, and within a
/// parameter in a fixed order that does not depend on the machine's vector width, so it is
/// reproducible bit for bit (for the same list order).
/// </remarks>
public static class GradientClipping
{
    /// <summary>The L2 norm of all gradients of <paramref name="parameters"/> taken together (parameters without a gradient are skipped).</summary>
    public static float GlobalNorm(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        double sum = 0;
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } gradient)
                sum += SumOfSquares(gradient.Span);
        return (float)Math.Sqrt(sum);
    }

    /// <summary>The index of the first parameter whose gradient holds a NaN or an infinity, or −1.</summary>
    internal static int FirstNonFinite(IReadOnlyList<Tensor> parameters)
    {
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } gradient && !double.IsFinite(SumOfSquares(gradient.Span)))
                return i;
        return -1;
    }

    /// <summary>
    /// Rescales all gradients by maxNorm / ‖g‖ when their global norm ‖g‖ exceeds <paramref name="maxNorm"/>
    /// (so the clipped global norm is <paramref name="maxNorm"/> and the direction is kept), as Keras's
    /// <c>global_clipnorm</c> and <c>tf.clip_by_global_norm</c> do.
    /// </summary>
    /// <returns>The global norm before clipping. If it is not finite the gradients are left unchanged.</returns>
    public static float ClipByGlobalNorm(IReadOnlyList<Tensor> parameters, float maxNorm)
    {
        CheckPositive(maxNorm, nameof(maxNorm));
        float norm = GlobalNorm(parameters);
        float scale = ScaleFor(norm, maxNorm);
        if (scale != 1f)
            for (int i = 0; i < parameters.Count; i++)
                if (parameters[i].Grad is { } gradient)
                    TensorPrimitives.Multiply(gradient.Span, scale, gradient.Span);
        return norm;
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue] (Keras's <c>clipvalue</c>).</summary>
    public static void ClipByValue(IReadOnlyList<Tensor> parameters, float clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckPositive(clipValue, nameof(clipValue));
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is { } gradient)
                TensorPrimitives.Clamp(gradient.Span, -clipValue, clipValue, gradient.Span);
    }

    /// <summary>The factor that brings a global norm down to <paramref name="maxNorm"/>: maxNorm / norm, or 1 if no clipping is needed or possible.</summary>
    internal static float ScaleFor(float norm, float maxNorm) =>
        float.IsFinite(norm) && norm > maxNorm ? maxNorm / norm : 1f;

    internal static void CheckPositive(float value, string name)
    {
        if (!(value > 0f) || float.IsInfinity(value))
            throw new ArgumentOutOfRangeException(name, value, "The clipping bound must be a positive finite number.");
    }

    /// <summary>
    /// Σ x² in double. Eight accumulators: lane j sums the elements with index ≡ j (mod 8) of the
    /// first 8·⌊n/8⌋, lanes are then added 0..7 and the tail last, in that order. Squares of floats are
    /// exact in double. Vector256&lt;double&gt; is used even when not accelerated (it is then emulated
    /// with the same per-lane arithmetic), so the result is the same on every machine.
    /// </summary>
    internal static double SumOfSquares(ReadOnlySpan<float> values)
    {
        ref float x = ref MemoryMarshal.GetReference(values);
        var low = Vector256<double>.Zero;   // lanes 0..3
        var high = Vector256<double>.Zero;  // lanes 4..7
        int i = 0;
        for (; i <= values.Length - 8; i += 8)
        {
            (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(Vector256.LoadUnsafe(ref x, (nuint)i));
            low += lo * lo;
            high += hi * hi;
        }
        double sum = 0;
        for (int lane = 0; lane < 4; lane++)
            sum += low.GetElement(lane);
        for (int lane = 0; lane < 4; lane++)
            sum += high.GetElement(lane);
        for (; i < values.Length; i++)
        {
            double v = Unsafe.Add(ref x, i);
            sum += v * v;
        }
        return sum;
    }
}
