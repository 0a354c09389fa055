using System.Numerics;

namespace NanoNet.Kernels;

/// <summary>
/// The element-wise losses' per-sample work, vectorized: each function writes ∂ℓ/∂p of every element of one sample
/// into the gradient span and returns Σ ℓ(p, t) over the span (accumulated in float lanes, then in double).
/// <see cref="ElementwiseLossReference"/> holds their scalar twins, which the tests compare them with.
/// </summary>
/// <remarks>Shape legend: p (predictions or logits), t (targets) and g (gradient) have the same length.</remarks>
public static class ElementwiseLossKernels
{
    /// <summary>Keras's probability clip ε (1e-7).</summary>
    public const float Epsilon = 1e-7f;

    /// <summary>
    /// Binary cross-entropy from probabilities, targets smoothed to t·keep + half: p clipped to [ε, 1 − ε],
    /// ℓ = −[t·log p + (1 − t)·log(1 − p)], g = (p − t)/(p(1 − p)) where p was not clipped, else 0.
    /// </summary>
    public static double BinaryCrossEntropy(ReadOnlySpan<float> p, ReadOnlySpan<float> t, float keep, float half, Span<float> g)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && p.Length >= Vector<float>.Count)
        {
            int width = Vector<float>.Count;
            Vector<float> lanes = Vector<float>.Zero, low = new(Epsilon), high = new(1f - Epsilon), one = Vector<float>.One;
            for (; i <= p.Length - width; i += width)
            {
                var x = new Vector<float>(p.Slice(i));
                var target = new Vector<float>(t.Slice(i)) * keep + new Vector<float>(half);
                var clipped = Vector.Min(Vector.Max(x, low), high);
                lanes -= target * Vector.Log(clipped) + (one - target) * Vector.Log(one - clipped);
                var gradient = (clipped - target) / (clipped * (one - clipped));
                Vector.ConditionalSelect(Vector.Equals(clipped, x), gradient, Vector<float>.Zero).CopyTo(g.Slice(i));
            }
            sum = Vector.Sum(lanes);
        }
        for (; i < p.Length; i++)
        {
            float target = t[i] * keep + half;
            float x = p[i], clipped = Math.Clamp(x, Epsilon, 1f - Epsilon);
            sum -= target * MathF.Log(clipped) + (1f - target) * MathF.Log(1f - clipped);
            g[i] = clipped == x ? (clipped - target) / (clipped * (1f - clipped)) : 0f;
        }
        return sum;
    }

    /// <summary>
    /// Binary cross-entropy from logits z, targets smoothed to t·keep + half, in the stable form
    /// ℓ = max(z, 0) − z·t + log(1 + e^−|z|); g = σ(z) − t, σ from the same e^−|z| (no overflow).
    /// </summary>
    public static double BinaryCrossEntropyFromLogits(ReadOnlySpan<float> z, ReadOnlySpan<float> t, float keep, float half, Span<float> g)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && z.Length >= Vector<float>.Count)
        {
            int width = Vector<float>.Count;
            Vector<float> lanes = Vector<float>.Zero, one = Vector<float>.One;
            for (; i <= z.Length - width; i += width)
            {
                var x = new Vector<float>(z.Slice(i));
                var target = new Vector<float>(t.Slice(i)) * keep + new Vector<float>(half);
                var e = Vector.Exp(-Vector.Abs(x));
                lanes += Vector.Max(x, Vector<float>.Zero) - x * target + Vector.Log(one + e);
                var sigmoid = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), one, e) / (one + e);
                (sigmoid - target).CopyTo(g.Slice(i));
            }
            sum = Vector.Sum(lanes);
        }
        for (; i < z.Length; i++)
        {
            float target = t[i] * keep + half;
            float x = z[i], e = MathF.Exp(-MathF.Abs(x));
            sum += MathF.Max(x, 0f) - x * target + MathF.Log(1f + e);
            g[i] = (x >= 0 ? 1f : e) / (1f + e) - target;
        }
        return sum;
    }

    /// <summary>Huber on d = p − t: ½d² (g = d) where |d| ≤ δ, δ·(|d| − ½δ) (g = δ·sign d) beyond.</summary>
    public static double Huber(ReadOnlySpan<float> p, ReadOnlySpan<float> t, float delta, Span<float> g)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && p.Length >= Vector<float>.Count)
        {
            int width = Vector<float>.Count;
            Vector<float> lanes = Vector<float>.Zero, deltas = new(delta), half = new(0.5f);
            for (; i <= p.Length - width; i += width)
            {
                var d = new Vector<float>(p.Slice(i)) - new Vector<float>(t.Slice(i));
                var magnitude = Vector.Abs(d);
                var inside = Vector.LessThanOrEqual(magnitude, deltas);
                lanes += Vector.ConditionalSelect(inside, half * d * d, deltas * (magnitude - half * deltas));
                Vector.ConditionalSelect(inside, d, deltas * Sign(d)).CopyTo(g.Slice(i));
            }
            sum = Vector.Sum(lanes);
        }
        for (; i < p.Length; i++)
        {
            float d = p[i] - t[i], magnitude = MathF.Abs(d);
            bool inside = magnitude <= delta;
            sum += inside ? 0.5f * d * d : delta * (magnitude - 0.5f * delta);
            g[i] = inside ? d : delta * Sign(d);
        }
        return sum;
    }

    /// <summary>KL divergence: t and p clipped to [ε, 1]; ℓ = t·log(t/p), g = −t/p where p was not clipped, else 0.</summary>
    public static double KLDivergence(ReadOnlySpan<float> p, ReadOnlySpan<float> t, Span<float> g)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated && p.Length >= Vector<float>.Count)
        {
            int width = Vector<float>.Count;
            Vector<float> lanes = Vector<float>.Zero, low = new(Epsilon), one = Vector<float>.One;
            for (; i <= p.Length - width; i += width)
            {
                var x = new Vector<float>(p.Slice(i));
                var target = Vector.Min(Vector.Max(new Vector<float>(t.Slice(i)), low), one);
                var clipped = Vector.Min(Vector.Max(x, low), one);
                lanes += target * Vector.Log(target / clipped);
                Vector.ConditionalSelect(Vector.Equals(clipped, x), -target / clipped, Vector<float>.Zero).CopyTo(g.Slice(i));
            }
            sum = Vector.Sum(lanes);
        }
        for (; i < p.Length; i++)
        {
            float target = Math.Clamp(t[i], Epsilon, 1f), clipped = Math.Clamp(p[i], Epsilon, 1f);
            sum += target * MathF.Log(target / clipped);
            g[i] = clipped == p[i] ? -target / clipped : 0f;
        }
        return sum;
    }

    /// <summary>g ← sign(g): 1, −1, or 0 for 0 and NaN (the mean absolute error's gradient, in place).</summary>
    public static void SignInPlace(Span<float> g)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= g.Length - width; i += width)
                Sign(new Vector<float>(g.Slice(i))).CopyTo(g.Slice(i));
        }
        for (; i < g.Length; i++)
            g[i] = Sign(g[i]);
    }

    /// <summary>1 for d &gt; 0, −1 for d &lt; 0, 0 for 0 and NaN (<see cref="MathF.Sign(float)"/> throws on NaN).</summary>
    internal static float Sign(float d) => d > 0f ? 1f : d < 0f ? -1f : 0f;

    private static Vector<float> Sign(Vector<float> d) =>
        Vector.ConditionalSelect(Vector.GreaterThan(d, Vector<float>.Zero), Vector<float>.One,
            Vector.ConditionalSelect(Vector.LessThan(d, Vector<float>.Zero), -Vector<float>.One, Vector<float>.Zero));
}

/// <summary>
/// Scalar twins of <see cref="ElementwiseLossKernels"/>: one element at a time, double sums, <see cref="MathF"/>
/// functions, the same formulas, written to be obviously right.
/// </summary>
public static class ElementwiseLossReference
{
    /// <summary>See <see cref="ElementwiseLossKernels.BinaryCrossEntropy"/>.</summary>
    public static double BinaryCrossEntropy(ReadOnlySpan<float> p, ReadOnlySpan<float> t, float keep, float half, Span<float> g)
    {
        const float epsilon = ElementwiseLossKernels.Epsilon;
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            float target = t[i] * keep + half;
            float clipped = Math.Clamp(p[i], epsilon, 1f - epsilon);
            sum -= target * MathF.Log(clipped) + (1f - target) * MathF.Log(1f - clipped);
            g[i] = clipped == p[i] ? (clipped - target) / (clipped * (1f - clipped)) : 0f;
        }
        return sum;
    }

    /// <summary>See <see cref="ElementwiseLossKernels.BinaryCrossEntropyFromLogits"/>.</summary>
    public static double BinaryCrossEntropyFromLogits(ReadOnlySpan<float> z, ReadOnlySpan<float> t, float keep, float half, Span<float> g)
    {
        double sum = 0;
        for (int i = 0; i < z.Length; i++)
        {
            float target = t[i] * keep + half;
            float x = z[i], e = MathF.Exp(-MathF.Abs(x));
            sum += MathF.Max(x, 0f) - x * target + MathF.Log(1f + e);
            float sigmoid = x >= 0 ? 1f / (1f + e) : e / (1f + e);
            g[i] = sigmoid - target;
        }
        return sum;
    }

    /// <summary>See <see cref="ElementwiseLossKernels.Huber"/>.</summary>
    public static double Huber(ReadOnlySpan<float> p, ReadOnlySpan<float> t, float delta, Span<float> g)
    {
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            float d = p[i] - t[i], magnitude = MathF.Abs(d);
            if (magnitude <= delta)
            {
                sum += 0.5f * d * d;
                g[i] = d;
            }
            else
            {
                sum += delta * (magnitude - 0.5f * delta);
                g[i] = delta * (d > 0f ? 1f : d < 0f ? -1f : 0f);
            }
        }
        return sum;
    }

    /// <summary>See <see cref="ElementwiseLossKernels.KLDivergence"/>.</summary>
    public static double KLDivergence(ReadOnlySpan<float> p, ReadOnlySpan<float> t, Span<float> g)
    {
        const float epsilon = ElementwiseLossKernels.Epsilon;
        double sum = 0;
        for (int i = 0; i < p.Length; i++)
        {
            float target = Math.Clamp(t[i], epsilon, 1f), clipped = Math.Clamp(p[i], epsilon, 1f);
            sum += target * MathF.Log(target / clipped);
            g[i] = clipped == p[i] ? -target / clipped : 0f;
        }
        return sum;
    }
}
