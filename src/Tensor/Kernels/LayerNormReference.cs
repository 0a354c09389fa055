namespace NanoNet.Kernels;

/// <summary>
/// Plain reference layer normalisation over the last axis, in double, with the textbook backward: what
/// <see cref="LayerNormKernels"/> is tested against.
/// </summary>
/// <remarks>Shape legend: x, y, dY, dX are rows × C, element (r, c) at r·C + c; gamma, beta, dGamma, dBeta are C (empty: γ = 1, β = 0, or gradient skipped).</remarks>
public static class LayerNormReference
{
    /// <summary>y = (x − μ)/√(σ² + ε)·γ + β per row, μ and σ² (biased) over the row.</summary>
    public static void Forward(ReadOnlySpan<float> x, int rows, int channels, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
        {
            (double mean, double sigma) = Moments(x, r, channels, epsilon);
            for (int c = 0; c < channels; c++)
                y[r * channels + c] = (float)((x[r * channels + c] - mean) / sigma * (gamma.IsEmpty ? 1 : gamma[c]) + (beta.IsEmpty ? 0 : beta[c]));
        }
    }

    /// <summary>dx = (1/σ)·(g − mean(g) − x̂·mean(g·x̂)) with g = dy·γ; dγ += Σ dy·x̂; dβ += Σ dy.</summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, int rows, int channels, ReadOnlySpan<float> gamma, float epsilon,
        Span<float> dX, Span<float> dGamma, Span<float> dBeta)
    {
        for (int r = 0; r < rows; r++)
        {
            (double mean, double sigma) = Moments(x, r, channels, epsilon);
            double sumG = 0, sumGX = 0;
            for (int c = 0; c < channels; c++)
            {
                double xhat = (x[r * channels + c] - mean) / sigma, dy = dY[r * channels + c];
                double g = dy * (gamma.IsEmpty ? 1 : gamma[c]);
                sumG += g;
                sumGX += g * xhat;
                if (!dGamma.IsEmpty)
                    dGamma[c] += (float)(dy * xhat);
                if (!dBeta.IsEmpty)
                    dBeta[c] += (float)dy;
            }
            if (dX.IsEmpty)
                continue;
            for (int c = 0; c < channels; c++)
            {
                double xhat = (x[r * channels + c] - mean) / sigma;
                double g = dY[r * channels + c] * (gamma.IsEmpty ? 1 : gamma[c]);
                dX[r * channels + c] += (float)((g - sumG / channels - xhat * sumGX / channels) / sigma);
            }
        }
    }

    private static (double Mean, double Sigma) Moments(ReadOnlySpan<float> x, int r, int channels, float epsilon)
    {
        double sum = 0, squares = 0;
        for (int c = 0; c < channels; c++)
            sum += x[r * channels + c];
        double mean = sum / channels;
        for (int c = 0; c < channels; c++)
            squares += (x[r * channels + c] - mean) * (x[r * channels + c] - mean);
        return (mean, Math.Sqrt(squares / channels + epsilon));
    }
}
