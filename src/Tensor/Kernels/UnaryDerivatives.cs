using System.Numerics;
using System.Runtime.InteropServices;

namespace NanoNet.Kernels;

/// <summary>
/// f′ of a point-wise function y = f(x), written from the input x and the saved output y (whichever is
/// cheaper), for one vector of lanes and for one value.
/// </summary>
internal interface IDerivative
{
    /// <summary>f′ at one element.</summary>
    static abstract float Invoke(float x, float y);

    /// <summary>f′ lane by lane.</summary>
    static abstract Vector<float> Invoke(Vector<float> x, Vector<float> y);
}

/// <summary>
/// The backward pass of the point-wise unary ops: dX += dY ⊙ f′(x, y), one vectorised loop for every f
/// (the derivative is a generic struct, so it inlines).
/// </summary>
/// <remarks>Shape legend: x, y, dY, dX all have the same length n (x the input, y the forward output).</remarks>
internal static class UnaryDerivatives
{
    /// <summary>dX[i] += dY[i] · f′(x[i], y[i]).</summary>
    public static void Accumulate<TDerivative>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
        where TDerivative : struct, IDerivative
    {
        int n = dX.Length, i = 0;
        if (x.Length != n || y.Length != n || dY.Length != n)
            throw new ArgumentException($"Unary backward: lengths differ (x {x.Length}, y {y.Length}, dY {dY.Length}, dX {n}).");
        if (Vector.IsHardwareAccelerated)
        {
            ref float xs = ref MemoryMarshal.GetReference(x), ys = ref MemoryMarshal.GetReference(y);
            ref float dys = ref MemoryMarshal.GetReference(dY), dxs = ref MemoryMarshal.GetReference(dX);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> grad = Vector.LoadUnsafe(ref dys, (nuint)i)
                    * TDerivative.Invoke(Vector.LoadUnsafe(ref xs, (nuint)i), Vector.LoadUnsafe(ref ys, (nuint)i));
                (Vector.LoadUnsafe(ref dxs, (nuint)i) + grad).StoreUnsafe(ref dxs, (nuint)i);
            }
        }
        for (; i < n; i++)
            dX[i] += dY[i] * TDerivative.Invoke(x[i], y[i]);
    }
}

/// <summary>(eˣ)′ = eˣ = y.</summary>
internal readonly struct ExpDerivative : IDerivative
{
    public static float Invoke(float x, float y) => y;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => y;
}

/// <summary>(√x)′ = 1 / (2√x) = 0.5 / y (infinite at x = 0).</summary>
internal readonly struct SqrtDerivative : IDerivative
{
    public static float Invoke(float x, float y) => 0.5f / y;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => new Vector<float>(0.5f) / y;
}

/// <summary>(x^−½)′ = −½ x^−³ᐟ² = −0.5 · y³.</summary>
internal readonly struct RsqrtDerivative : IDerivative
{
    public static float Invoke(float x, float y) => -0.5f * y * y * y;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => new Vector<float>(-0.5f) * y * y * y;
}

/// <summary>(x²)′ = 2x.</summary>
internal readonly struct SquareDerivative : IDerivative
{
    public static float Invoke(float x, float y) => 2f * x;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => x + x;
}

/// <summary>|x|′ = sign(x), taken as 0 at x = 0 (the subgradient PyTorch and TensorFlow use).</summary>
internal readonly struct AbsDerivative : IDerivative
{
    public static float Invoke(float x, float y) => x > 0f ? 1f : x < 0f ? -1f : 0f;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) =>
        VectorLoop.Mask(Vector.GreaterThan(x, Vector<float>.Zero)) - VectorLoop.Mask(Vector.LessThan(x, Vector<float>.Zero));
}

/// <summary>
/// clamp(x, lo, hi)′ = 1 where lo ≤ x ≤ hi (the bounds included), else 0. Read off the output: x was left
/// alone exactly when y = x.
/// </summary>
internal readonly struct ClampDerivative : IDerivative
{
    public static float Invoke(float x, float y) => x == y ? 1f : 0f;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => VectorLoop.Mask(Vector.Equals(x, y));
}

/// <summary>(s / x)′ = −s / x² = −y / x.</summary>
internal readonly struct ConstantOverXDerivative : IDerivative
{
    public static float Invoke(float x, float y) => -y / x;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => -y / x;
}
