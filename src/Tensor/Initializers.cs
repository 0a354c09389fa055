namespace NanoNet;

/// <summary>
/// Weight initializers, reproducible from a <see cref="RandomStream"/>. Fan-in/fan-out follow Keras: for a dense kernel
/// (in, out) they are in and out; for a convolution kernel they are multiplied by the receptive field.
/// </summary>
public static class Initializers
{
    /// <summary>Glorot (Xavier) uniform: U(-l, l) with l = √(6 / (fanIn + fanOut)). Keras' default.</summary>
    public static void GlorotUniform(Span<float> weights, int fanIn, int fanOut, RandomStream rng)
    {
        float limit = MathF.Sqrt(6f / (fanIn + fanOut));
        FillUniform(weights, rng, -limit, limit);
    }

    /// <summary>He (Kaiming) uniform: U(-l, l) with l = √(6 / fanIn), suited to ReLU layers.</summary>
    public static void HeUniform(Span<float> weights, int fanIn, RandomStream rng)
    {
        float limit = MathF.Sqrt(6f / fanIn);
        FillUniform(weights, rng, -limit, limit);
    }

    /// <summary>He (Kaiming) normal: N(0, 2 / fanIn).</summary>
    public static void HeNormal(Span<float> weights, int fanIn, RandomStream rng) =>
        FillNormal(weights, rng, 0f, MathF.Sqrt(2f / fanIn));

    /// <summary>
    /// Orthogonal (Saxe et al., 2014; Keras' <c>Orthogonal</c>, the default LSTM recurrent kernel): a
    /// rows×columns matrix whose columns (when rows ≥ columns) or rows (when rows &lt; columns) are
    /// orthonormal, times <paramref name="gain"/>.
    /// </summary>
    /// <remarks>
    /// As Keras: draw a max×min standard-normal matrix A, factor A = QR, multiply each column of Q by the
    /// sign of R's diagonal (so the result is uniformly distributed over orthogonal matrices), and
    /// transpose when rows &lt; columns. The QR factorisation is modified Gram–Schmidt in double precision,
    /// run twice ("twice is enough") so the columns are orthonormal to round-off; Gram–Schmidt's R has a
    /// positive diagonal, which is exactly the sign correction. For an LSTM's U×4U recurrent kernel the U
    /// rows are orthonormal: R·Rᵀ = I.
    /// </remarks>
    public static void Orthogonal(Span<float> weights, int rows, int columns, RandomStream rng, float gain = 1f)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (rows < 1 || columns < 1 || weights.Length != rows * columns)
            throw new ArgumentException($"Orthogonal: a {rows}x{columns} matrix needs {rows * columns} values, got {weights.Length}.");
        int m = Math.Max(rows, columns), k = Math.Min(rows, columns);
        var normal = new float[m * k];
        FillNormal(normal, rng, 0f, 1f);
        // q holds the k columns of the m×k matrix, column-major (column j at q[j·m .. j·m+m)).
        var q = new double[m * k];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++)
                q[j * m + i] = normal[i * k + j];
        for (int j = 0; j < k; j++)
        {
            Span<double> column = q.AsSpan(j * m, m);
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < j; p++)
                {
                    ReadOnlySpan<double> previous = q.AsSpan(p * m, m);
                    double dot = 0;
                    for (int i = 0; i < m; i++)
                        dot += previous[i] * column[i];
                    for (int i = 0; i < m; i++)
                        column[i] -= dot * previous[i];
                }
            double norm = 0;
            for (int i = 0; i < m; i++)
                norm += column[i] * column[i];
            norm = Math.Sqrt(norm);
            if (norm < 1e-6) // a (practically impossible) dependent draw: draw the column again
            {
                var fresh = new float[m];
                FillNormal(fresh, rng, 0f, 1f);
                for (int i = 0; i < m; i++)
                    column[i] = fresh[i];
                j--;
                continue;
            }
            for (int i = 0; i < m; i++)
                column[i] /= norm;
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < k; j++)
            {
                float value = (float)(gain * q[j * m + i]);
                if (rows >= columns)
                    weights[i * columns + j] = value;   // Q is rows×columns
                else
                    weights[j * columns + i] = value;   // Qᵀ is rows×columns
            }
    }

    /// <summary>
    /// Fills with N(mean, std²) truncated at two standard deviations (Keras's <c>TruncatedNormal</c>): values
    /// drawn outside [mean − 2·std, mean + 2·std] are drawn again, in order, from the same stream.
    /// </summary>
    public static void FillTruncatedNormal(Span<float> values, RandomStream rng, float mean, float std)
    {
        ArgumentNullException.ThrowIfNull(rng);
        rng.FillNormal(values, mean, std);
        Span<float> redraw = stackalloc float[1];
        for (int i = 0; i < values.Length; i++)
            while (MathF.Abs(values[i] - mean) > 2f * std)
            {
                rng.FillNormal(redraw, mean, std);
                values[i] = redraw[0];
            }
    }

    /// <summary>Fills with U(low, high): <see cref="RandomStream.FillUniform"/>.</summary>
    public static void FillUniform(Span<float> values, RandomStream rng, float low, float high)
    {
        ArgumentNullException.ThrowIfNull(rng);
        rng.FillUniform(values, low, high);
    }

    /// <summary>Fills with N(mean, std²) (Box–Muller): <see cref="RandomStream.FillNormal"/>.</summary>
    public static void FillNormal(Span<float> values, RandomStream rng, float mean, float std)
    {
        ArgumentNullException.ThrowIfNull(rng);
        rng.FillNormal(values, mean, std);
    }
}
