using System.Numerics;
using System.Numerics.Tensors;

namespace NanoNet.Kernels;

/// <summary>
/// Forward and backward of the point-wise activations, on spans. Backward kernels accumulate:
/// dX += dY ⊙ f'(·), written in terms of the forward output y where that is cheaper.
/// </summary>
/// <remarks>Shape legend: every span has the same length n; y is the forward output.</remarks>
public static class ActivationKernels
{
    /// <summary>y = max(x, 0).</summary>
    public static void ReluForward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Max(x, 0f, y);

    /// <summary>dX += dY where y &gt; 0 (the ReLU derivative is the step function).</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var positive = Vector.GreaterThan(new Vector<float>(y.Slice(i)), Vector<float>.Zero);
                var grad = Vector.ConditionalSelect(positive, new Vector<float>(dY.Slice(i)), Vector<float>.Zero);
                (new Vector<float>(dX.Slice(i)) + grad).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            if (y[i] > 0f)
                dX[i] += dY[i];
    }

    /// <summary>y[r, :] += b, then (when <paramref name="relu"/>) y = max(y, 0): one pass over rows of length b.Length.</summary>
    public static void AddBiasRows(Span<float> y, ReadOnlySpan<float> bias, bool relu)
    {
        int columns = bias.Length;
        for (int r = 0; r < y.Length; r += columns)
        {
            Span<float> row = y.Slice(r, columns);
            TensorPrimitives.Add(row, bias, row);
            if (relu)
                TensorPrimitives.Max(row, 0f, row);
        }
    }

    /// <summary>dZ = dY ⊙ [y &gt; 0], in place (the ReLU backward of a fused layer).</summary>
    public static void ReluMask(ReadOnlySpan<float> y, Span<float> dY)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var positive = Vector.GreaterThan(new Vector<float>(y.Slice(i)), Vector<float>.Zero);
                Vector.ConditionalSelect(positive, new Vector<float>(dY.Slice(i)), Vector<float>.Zero).CopyTo(dY.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            if (!(y[i] > 0f))
                dY[i] = 0f;
    }

    /// <summary>y = 1 / (1 + e^-x).</summary>
    public static void SigmoidForward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Sigmoid(x, y);

    /// <summary>dX += dY · y · (1 − y).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var yv = new Vector<float>(y.Slice(i));
                var g = new Vector<float>(dY.Slice(i)) * yv * (Vector<float>.One - yv);
                (new Vector<float>(dX.Slice(i)) + g).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            dX[i] += dY[i] * y[i] * (1f - y[i]);
    }

    /// <summary>y = tanh(x).</summary>
    public static void TanhForward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);

    /// <summary>dX += dY · (1 − y²).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var yv = new Vector<float>(y.Slice(i));
                var g = new Vector<float>(dY.Slice(i)) * (Vector<float>.One - yv * yv);
                (new Vector<float>(dX.Slice(i)) + g).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            dX[i] += dY[i] * (1f - y[i] * y[i]);
    }

    /// <summary>Row-wise softmax over the last axis: y = e^(x − max) / Σ e^(x − max).</summary>
    /// <remarks>
    /// One fused pass per row for the max, one for e^(x − max) and its sum, one for the scaling, in vector lanes: short
    /// rows (attention's T = 64) paid the fixed cost of several library calls per row before.
    /// <see cref="ActivationReference.SoftmaxForward"/> is its scalar twin.
    /// </remarks>
    public static void SoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int columns)
    {
        for (int r = 0; r < x.Length; r += columns)
            _ = SoftmaxRow(x.Slice(r, columns), y.Slice(r, columns));
    }

    /// <summary>One row's softmax into <paramref name="y"/>; returns log Σ e^x (= max + log Σ e^(x − max)), which the fused cross-entropy needs.</summary>
    internal static float SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, width = Vector<float>.Count, i = 0;
        float max = float.NegativeInfinity, sum = 0f;
        bool vectors = Vector.IsHardwareAccelerated && n >= width;
        if (vectors)
        {
            var lanes = new Vector<float>(float.NegativeInfinity);
            for (; i <= n - width; i += width)
                lanes = Vector.Max(lanes, new Vector<float>(x.Slice(i)));
            max = lanes[0];
            for (int j = 1; j < width; j++)
                max = MathF.Max(max, lanes[j]);
        }
        for (; i < n; i++)
            max = MathF.Max(max, x[i]);

        i = 0;
        if (vectors)
        {
            var shift = new Vector<float>(max);
            Vector<float> sums = Vector<float>.Zero;
            for (; i <= n - width; i += width)
            {
                Vector<float> e = Vector.Exp(new Vector<float>(x.Slice(i)) - shift);
                e.CopyTo(y.Slice(i));
                sums += e;
            }
            sum = Vector.Sum(sums);
        }
        for (; i < n; i++)
        {
            float e = MathF.Exp(x[i] - max);
            y[i] = e;
            sum += e;
        }
        TensorPrimitives.Multiply(y, 1f / sum, y);
        return max + MathF.Log(sum);
    }

    /// <summary>Row-wise softmax backward: dX += y ⊙ (dY − Σⱼ dYⱼ·yⱼ).</summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, int columns)
    {
        int width = Vector<float>.Count;
        for (int r = 0; r < y.Length; r += columns)
        {
            ReadOnlySpan<float> yRow = y.Slice(r, columns), dyRow = dY.Slice(r, columns);
            Span<float> dxRow = dX.Slice(r, columns);
            float dot = TensorPrimitives.Dot(yRow, dyRow);
            int j = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var dots = new Vector<float>(dot);
                for (; j <= columns - width; j += width)
                    (new Vector<float>(dxRow.Slice(j)) + new Vector<float>(yRow.Slice(j)) * (new Vector<float>(dyRow.Slice(j)) - dots)).CopyTo(dxRow.Slice(j));
            }
            for (; j < columns; j++)
                dxRow[j] += yRow[j] * (dyRow[j] - dot);
        }
    }

    /// <summary>The negative-side slope of <see cref="ActivationFunction.LeakyRelu"/>: 0.2, the default of Keras's <c>keras.activations.leaky_relu</c> (the LeakyReLU layer's default is 0.3).</summary>
    public const float LeakySlope = 0.2f;

    /// <summary>SELU's α (Klambauer et al. 2017; the constant Keras uses).</summary>
    public const float SeluAlpha = 1.6732632423543772848170429916717f;

    /// <summary>SELU's scale λ (Klambauer et al. 2017; the constant Keras uses).</summary>
    public const float SeluScale = 1.0507009873554804934193349852946f;

    /// <summary>y = x for x &gt; 0, else 0.2·x (<see cref="LeakySlope"/>).</summary>
    public static void LeakyReluForward(ReadOnlySpan<float> x, Span<float> y) => LeakyReluForward(x, y, LeakySlope);

    /// <summary>y = x for x &gt; 0, else <paramref name="slope"/>·x (the LeakyReLU layer's α).</summary>
    public static void LeakyReluForward(ReadOnlySpan<float> x, Span<float> y, float slope)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= x.Length - width; i += width)
            {
                var xv = new Vector<float>(x.Slice(i));
                Vector.ConditionalSelect(Vector.GreaterThan(xv, Vector<float>.Zero), xv, xv * slope).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++)
            y[i] = x[i] > 0f ? x[i] : slope * x[i];
    }

    /// <summary>dX += dY · (x &gt; 0 ? 1 : 0.2).</summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX) => LeakyReluBackward(x, dY, dX, LeakySlope);

    /// <summary>dX += dY · (x &gt; 0 ? 1 : <paramref name="slope"/>).</summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX, float slope)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= x.Length - width; i += width)
            {
                var dy = new Vector<float>(dY.Slice(i));
                var g = Vector.ConditionalSelect(Vector.GreaterThan(new Vector<float>(x.Slice(i)), Vector<float>.Zero), dy, dy * slope);
                (new Vector<float>(dX.Slice(i)) + g).CopyTo(dX.Slice(i));
            }
        }
        for (; i < x.Length; i++)
            dX[i] += x[i] > 0f ? dY[i] : slope * dY[i];
    }

    /// <summary>ELU with α = 1: y = x for x &gt; 0, else e^x − 1.</summary>
    public static void EluForward(ReadOnlySpan<float> x, Span<float> y) => ExponentialLinear(x, y, 1f, 1f);

    /// <summary>ELU: y = x for x &gt; 0, else <paramref name="alpha"/>·(e^x − 1) (the ELU layer's α).</summary>
    public static void EluForward(ReadOnlySpan<float> x, Span<float> y, float alpha) => ExponentialLinear(x, y, alpha, 1f);

    /// <summary>dX += dY · (x &gt; 0 ? 1 : y + 1).</summary>
    public static void EluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX) =>
        ExponentialLinearBackward(x, y, dY, dX, 1f, 1f);

    /// <summary>dX += dY · (x &gt; 0 ? 1 : y + <paramref name="alpha"/>).</summary>
    public static void EluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, float alpha) =>
        ExponentialLinearBackward(x, y, dY, dX, alpha, 1f);

    /// <summary>SELU: y = λ·x for x &gt; 0, else λ·α·(e^x − 1) (<see cref="SeluScale"/>, <see cref="SeluAlpha"/>).</summary>
    public static void SeluForward(ReadOnlySpan<float> x, Span<float> y) => ExponentialLinear(x, y, SeluAlpha, SeluScale);

    /// <summary>dX += dY · (x &gt; 0 ? λ : y + λ·α).</summary>
    public static void SeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX) =>
        ExponentialLinearBackward(x, y, dY, dX, SeluAlpha, SeluScale);

    /// <summary>y = scale · (x &gt; 0 ? x : α·(e^min(x,0) − 1)): e^ by TensorPrimitives, then one select pass.</summary>
    private static void ExponentialLinear(ReadOnlySpan<float> x, Span<float> y, float alpha, float scale)
    {
        TensorPrimitives.Min(x, 0f, y);
        TensorPrimitives.Exp(y, y);
        float negativeScale = scale * alpha;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= x.Length - width; i += width)
            {
                var xv = new Vector<float>(x.Slice(i));
                var negative = (new Vector<float>(y.Slice(i)) - Vector<float>.One) * negativeScale;
                Vector.ConditionalSelect(Vector.GreaterThan(xv, Vector<float>.Zero), xv * scale, negative).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++)
            y[i] = x[i] > 0f ? scale * x[i] : negativeScale * (y[i] - 1f);
    }

    /// <summary>dX += dY · (x &gt; 0 ? scale : y + scale·α), since d/dx scale·α·(e^x − 1) = y + scale·α.</summary>
    private static void ExponentialLinearBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, float alpha, float scale)
    {
        float negativeScale = scale * alpha;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            var scaleV = new Vector<float>(scale);
            var negativeV = new Vector<float>(negativeScale);
            for (; i <= x.Length - width; i += width)
            {
                var slope = Vector.ConditionalSelect(Vector.GreaterThan(new Vector<float>(x.Slice(i)), Vector<float>.Zero), scaleV, new Vector<float>(y.Slice(i)) + negativeV);
                (new Vector<float>(dX.Slice(i)) + new Vector<float>(dY.Slice(i)) * slope).CopyTo(dX.Slice(i));
            }
        }
        for (; i < x.Length; i++)
            dX[i] += dY[i] * (x[i] > 0f ? scale : y[i] + negativeScale);
    }

    /// <summary>GELU, exact (erf) form as Keras's default approximate=False: y = ½·x·(1 + erf(x/√2)).</summary>
    /// <remarks>Vectorized; <see cref="ActivationReference.GeluForward"/> is its scalar twin (same formula, same erf).</remarks>
    public static void GeluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= x.Length - width; i += width)
            {
                var xv = new Vector<float>(x.Slice(i));
                (new Vector<float>(0.5f) * xv * (Vector<float>.One + Erf(xv * InvSqrt2))).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++)
            y[i] = 0.5f * x[i] * (1f + Erf(x[i] * InvSqrt2));
    }

    /// <summary>dX += dY · (½·(1 + erf(x/√2)) + x·φ(x)), φ the standard normal density e^(−x²/2)/√(2π).</summary>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            var half = new Vector<float>(0.5f);
            for (; i <= x.Length - width; i += width)
            {
                var xv = new Vector<float>(x.Slice(i));
                var cdf = half * (Vector<float>.One + Erf(xv * InvSqrt2));
                var slope = cdf + xv * InvSqrt2Pi * Vector.Exp(-half * xv * xv);
                (new Vector<float>(dX.Slice(i)) + new Vector<float>(dY.Slice(i)) * slope).CopyTo(dX.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            float xi = x[i];
            float cdf = 0.5f * (1f + Erf(xi * InvSqrt2));
            dX[i] += dY[i] * (cdf + xi * InvSqrt2Pi * MathF.Exp(-0.5f * xi * xi));
        }
    }

    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>
    /// erf(z) by Abramowitz &amp; Stegun 7.1.26 (absolute error ≤ 1.5·10⁻⁷, below float32's resolution of erf near ±1):
    /// erf(z) = 1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^(−z²), t = 1/(1 + p·z), for z ≥ 0; odd for z &lt; 0.
    /// </summary>
    public static float Erf(float z)
    {
        float a = MathF.Abs(z);
        float t = 1f / (1f + 0.3275911f * a);
        float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        float r = 1f - poly * MathF.Exp(-a * a);
        return z < 0f ? -r : r;
    }

    /// <summary><see cref="Erf(float)"/> on a vector (the same polynomial; e^ by <see cref="Vector.Exp(Vector{float})"/>).</summary>
    private static Vector<float> Erf(Vector<float> z)
    {
        Vector<float> a = Vector.Abs(z);
        Vector<float> t = Vector<float>.One / (Vector<float>.One + new Vector<float>(0.3275911f) * a);
        Vector<float> poly = t * (new Vector<float>(0.254829592f) + t * (new Vector<float>(-0.284496736f) + t * (new Vector<float>(1.421413741f)
            + t * (new Vector<float>(-1.453152027f) + t * 1.061405429f))));
        Vector<float> r = Vector<float>.One - poly * Vector.Exp(-(a * a));
        return Vector.ConditionalSelect(Vector.LessThan(z, Vector<float>.Zero), -r, r);
    }

    /// <summary>σ(x) = 1/(1 + e^−x) on a vector.</summary>
    private static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));

    /// <summary>SiLU (swish): y = x·σ(x).</summary>
    public static void SiluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Sigmoid(x, y);
        TensorPrimitives.Multiply(x, y, y);
    }

    /// <summary>dX += dY · σ(x)·(1 + x·(1 − σ(x))).</summary>
    /// <remarks>Vectorized; <see cref="ActivationReference.SiluBackward"/> is its scalar twin.</remarks>
    public static void SiluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= x.Length - width; i += width)
            {
                var xv = new Vector<float>(x.Slice(i));
                var sig = Sigmoid(xv);
                (new Vector<float>(dX.Slice(i)) + new Vector<float>(dY.Slice(i)) * sig * (Vector<float>.One + xv * (Vector<float>.One - sig))).CopyTo(dX.Slice(i));
            }
        }
        for (; i < x.Length; i++)
        {
            float sig = 1f / (1f + MathF.Exp(-x[i]));
            dX[i] += dY[i] * sig * (1f + x[i] * (1f - sig));
        }
    }

    /// <summary>Softplus, overflow-free: y = max(x, 0) + log1p(e^−|x|).</summary>
    /// <remarks>Vectorized; <see cref="ActivationReference.SoftplusForward"/> is its scalar twin.</remarks>
    public static void SoftplusForward(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= x.Length - width; i += width)
            {
                var xv = new Vector<float>(x.Slice(i));
                (Vector.Max(xv, Vector<float>.Zero) + Log1p(Vector.Exp(-Vector.Abs(xv)))).CopyTo(y.Slice(i));
            }
        }
        for (; i < x.Length; i++)
            y[i] = MathF.Max(x[i], 0f) + Log1p(MathF.Exp(-MathF.Abs(x[i])));
    }

    /// <summary>log(1 + e) for e ≥ 0, accurate when e is tiny (the u−1 correction of Goldberg's log1p).</summary>
    internal static float Log1p(float e)
    {
        float u = 1f + e;
        return u == 1f ? e : MathF.Log(u) * e / (u - 1f);
    }

    /// <summary><see cref="Log1p(float)"/> on a vector (where u = 1 the quotient is 0/0 and the select takes e).</summary>
    private static Vector<float> Log1p(Vector<float> e)
    {
        Vector<float> u = Vector<float>.One + e;
        Vector<float> corrected = Vector.Log(u) * e / (u - Vector<float>.One);
        return Vector.ConditionalSelect(Vector.Equals(u, Vector<float>.One), e, corrected);
    }

    /// <summary>dX += dY · σ(x).</summary>
    public static void SoftplusBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= x.Length - width; i += width)
                (new Vector<float>(dX.Slice(i)) + new Vector<float>(dY.Slice(i)) * Sigmoid(new Vector<float>(x.Slice(i)))).CopyTo(dX.Slice(i));
        }
        for (; i < x.Length; i++)
            dX[i] += dY[i] / (1f + MathF.Exp(-x[i]));
    }

    /// <summary>Softsign: y = x / (1 + |x|).</summary>
    public static void SoftsignForward(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Abs(x, y);
        TensorPrimitives.Add(y, 1f, y);
        TensorPrimitives.Divide(x, y, y);
    }

    /// <summary>dX += dY · 1/(1 + |x|)² = dY · (1 − |y|)².</summary>
    public static void SoftsignBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var d = Vector<float>.One - Vector.Abs(new Vector<float>(y.Slice(i)));
                (new Vector<float>(dX.Slice(i)) + new Vector<float>(dY.Slice(i)) * d * d).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
        {
            float d = 1f - MathF.Abs(y[i]);
            dX[i] += dY[i] * d * d;
        }
    }

    /// <summary>Hard sigmoid as Keras 3: relu6(x + 3)/6 = clamp(x/6 + ½, 0, 1).</summary>
    public static void HardSigmoidForward(ReadOnlySpan<float> x, Span<float> y)
    {
        TensorPrimitives.Multiply(x, 1f / 6f, y);
        TensorPrimitives.Add(y, 0.5f, y);
        TensorPrimitives.Max(y, 0f, y);
        TensorPrimitives.Min(y, 1f, y);
    }

    /// <summary>dX += dY / 6 where −3 &lt; x &lt; 3 (0 &lt; y &lt; 1).</summary>
    public static void HardSigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            for (; i <= y.Length - width; i += width)
            {
                var yv = new Vector<float>(y.Slice(i));
                var inside = Vector.BitwiseAnd(Vector.GreaterThan(yv, Vector<float>.Zero), Vector.LessThan(yv, Vector<float>.One));
                var g = Vector.ConditionalSelect(inside, new Vector<float>(dY.Slice(i)) * (1f / 6f), Vector<float>.Zero);
                (new Vector<float>(dX.Slice(i)) + g).CopyTo(dX.Slice(i));
            }
        }
        for (; i < y.Length; i++)
            if (y[i] > 0f && y[i] < 1f)
                dX[i] += dY[i] * (1f / 6f);
    }
}
