namespace NanoNet.Kernels;

/// <summary>
/// Plain reference batch normalisation over rows × C, in double, two-pass statistics and the textbook
/// backward: what <see cref="BatchNormKernels"/> is tested against.
/// </summary>
/// <remarks>Shape legend: x, y, dY, dX are rows × C, element (r, c) at r·C + c; gamma, beta, mean, variance are C.</remarks>
public static class BatchNormReference
{
    /// <summary>Per channel, the mean and the biased variance of the rows.</summary>
    public static void Statistics(ReadOnlySpan<float> x, int rows, int channels, Span<float> mean, Span<float> variance)
    {
        for (int c = 0; c < channels; c++)
        {
            double sum = 0, squares = 0;
            for (int r = 0; r < rows; r++)
                sum += x[r * channels + c];
            double m = sum / rows;
            for (int r = 0; r < rows; r++)
                squares += (x[r * channels + c] - m) * (x[r * channels + c] - m);
            mean[c] = (float)m;
            variance[c] = (float)(squares / rows);
        }
    }

    /// <summary>y = (x − mean)/√(variance + ε)·γ + β (γ = 1, β = 0 when null).</summary>
    public static void Forward(ReadOnlySpan<float> x, int rows, int channels, ReadOnlySpan<float> mean, ReadOnlySpan<float> variance,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, float epsilon, Span<float> y)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < channels; c++)
            {
                double normalized = (x[r * channels + c] - (double)mean[c]) / Math.Sqrt(variance[c] + (double)epsilon);
                y[r * channels + c] = (float)(normalized * (gamma.IsEmpty ? 1 : gamma[c]) + (beta.IsEmpty ? 0 : beta[c]));
            }
    }

    /// <summary>
    /// Accumulates the gradients. Training (the statistics are the batch's own, so they depend on x):
    /// dx = γ/σ·(dy − mean(dy) − x̂·mean(dy·x̂)); inference (fixed statistics): dx = γ/σ·dy. Both:
    /// dγ += Σ dy·x̂, dβ += Σ dy. Empty spans skip that gradient.
    /// </summary>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, int rows, int channels, ReadOnlySpan<float> mean,
        ReadOnlySpan<float> variance, ReadOnlySpan<float> gamma, float epsilon, bool training, Span<float> dX, Span<float> dGamma, Span<float> dBeta)
    {
        for (int c = 0; c < channels; c++)
        {
            double sigma = Math.Sqrt(variance[c] + (double)epsilon), g = gamma.IsEmpty ? 1 : gamma[c];
            double sumDy = 0, sumDyXhat = 0;
            for (int r = 0; r < rows; r++)
            {
                double xhat = (x[r * channels + c] - (double)mean[c]) / sigma;
                sumDy += dY[r * channels + c];
                sumDyXhat += dY[r * channels + c] * xhat;
            }
            if (!dGamma.IsEmpty)
                dGamma[c] += (float)sumDyXhat;
            if (!dBeta.IsEmpty)
                dBeta[c] += (float)sumDy;
            if (dX.IsEmpty)
                continue;
            for (int r = 0; r < rows; r++)
            {
                double xhat = (x[r * channels + c] - (double)mean[c]) / sigma;
                double dy = dY[r * channels + c];
                dX[r * channels + c] += (float)(training ? g / sigma * (dy - sumDy / rows - xhat * sumDyXhat / rows) : g / sigma * dy);
            }
        }
    }
}
