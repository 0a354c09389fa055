namespace NanoNet.Kernels;

/// <summary>
/// Plain scalar twins of the vectorized activation kernels in <see cref="ActivationKernels"/> (one element at a time,
/// <see cref="MathF"/> functions, the same formulas), written to be obviously right: the tests compare the fast
/// kernels with them. Backward functions accumulate into dX as the kernels do.
/// </summary>
public static class ActivationReference
{
    private const float InvSqrt2 = 0.70710678118654752f;
    private const float InvSqrt2Pi = 0.39894228040143268f;

    /// <summary>Row-wise softmax over rows of <paramref name="columns"/>: y = e^(x − max) / Σ e^(x − max), in double.</summary>
    public static void SoftmaxForward(ReadOnlySpan<float> x, Span<float> y, int columns)
    {
        for (int r = 0; r < x.Length; r += columns)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < columns; j++)
                max = Math.Max(max, x[r + j]);
            for (int j = 0; j < columns; j++)
                sum += Math.Exp(x[r + j] - max);
            for (int j = 0; j < columns; j++)
                y[r + j] = (float)(Math.Exp(x[r + j] - max) / sum);
        }
    }

    /// <summary>dX += y ⊙ (dY − Σⱼ dYⱼ·yⱼ), row by row, in double.</summary>
    public static void SoftmaxBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, int columns)
    {
        for (int r = 0; r < y.Length; r += columns)
        {
            double dot = 0;
            for (int j = 0; j < columns; j++)
                dot += (double)y[r + j] * dY[r + j];
            for (int j = 0; j < columns; j++)
                dX[r + j] += (float)(y[r + j] * (dY[r + j] - dot));
        }
    }

    /// <summary>y = x for x &gt; 0, else slope·x.</summary>
    public static void LeakyReluForward(ReadOnlySpan<float> x, Span<float> y, float slope)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = x[i] > 0f ? x[i] : slope * x[i];
    }

    /// <summary>dX += dY · (x &gt; 0 ? 1 : slope).</summary>
    public static void LeakyReluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX, float slope)
    {
        for (int i = 0; i < x.Length; i++)
            dX[i] += x[i] > 0f ? dY[i] : slope * dY[i];
    }

    /// <summary>y = x for x &gt; 0, else α·(e^x − 1).</summary>
    public static void EluForward(ReadOnlySpan<float> x, Span<float> y, float alpha)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = x[i] > 0f ? x[i] : alpha * (MathF.Exp(x[i]) - 1f);
    }

    /// <summary>dX += dY · (x &gt; 0 ? 1 : y + α).</summary>
    public static void EluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dY, Span<float> dX, float alpha)
    {
        for (int i = 0; i < x.Length; i++)
            dX[i] += x[i] > 0f ? dY[i] : dY[i] * (y[i] + alpha);
    }

    /// <summary>GELU (erf form): y = ½·x·(1 + erf(x/√2)), erf by <see cref="ActivationKernels.Erf(float)"/>.</summary>
    public static void GeluForward(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = 0.5f * x[i] * (1f + ActivationKernels.Erf(x[i] * InvSqrt2));
    }

    /// <summary>dX += dY · (½·(1 + erf(x/√2)) + x·e^(−x²/2)/√(2π)).</summary>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float xi = x[i];
            float cdf = 0.5f * (1f + ActivationKernels.Erf(xi * InvSqrt2));
            dX[i] += dY[i] * (cdf + xi * InvSqrt2Pi * MathF.Exp(-0.5f * xi * xi));
        }
    }

    /// <summary>dX += dY · σ(x)·(1 + x·(1 − σ(x))).</summary>
    public static void SiluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX)
    {
        for (int i = 0; i < x.Length; i++)
        {
            float s = 1f / (1f + MathF.Exp(-x[i]));
            dX[i] += dY[i] * s * (1f + x[i] * (1f - s));
        }
    }

    /// <summary>y = max(x, 0) + log1p(e^−|x|).</summary>
    public static void SoftplusForward(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = MathF.Max(x[i], 0f) + ActivationKernels.Log1p(MathF.Exp(-MathF.Abs(x[i])));
    }

    /// <summary>dX += dY · σ(x).</summary>
    public static void SoftplusBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, Span<float> dX)
    {
        for (int i = 0; i < x.Length; i++)
            dX[i] += dY[i] / (1f + MathF.Exp(-x[i]));
    }
}
