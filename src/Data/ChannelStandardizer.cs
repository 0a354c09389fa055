namespace NanoNet.Data;

/// <summary>
/// Per-channel standardisation of channels-last images (N, H, W, C): x ← (x − mean[c]) / std[c].
/// Fit the statistics on the training set only, then apply them to both splits.
/// </summary>
/// <example><code>
/// var standardizer = ChannelStandardizer.Fit(train.Features);
/// standardizer.Apply(train.Features);
/// standardizer.Apply(test.Features);
/// </code></example>
public sealed class ChannelStandardizer
{
    /// <summary>Uses the given per-channel statistics.</summary>
    public ChannelStandardizer(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"ChannelStandardizer: mean ({mean.Length}) and std ({std.Length}) need the same, non-zero number of channels.");
        foreach (float s in std)
            if (!(s > 0) || float.IsInfinity(s))
                throw new ArgumentException($"ChannelStandardizer: every std must be positive and finite, got {s}.", nameof(std));
        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    /// <summary>Mean of each channel.</summary>
    public IReadOnlyList<float> Mean { get; }

    /// <summary>Standard deviation of each channel (population, i.e. divided by the count).</summary>
    public IReadOnlyList<float> Std { get; }

    /// <summary>Number of channels (the last dimension of the images).</summary>
    public int Channels => Mean.Count;

    /// <summary>
    /// Computes each channel's mean and standard deviation over all images and pixels of
    /// <paramref name="images"/> (channels last). A channel that is constant gets std 1, so it is only centred.
    /// </summary>
    public static ChannelStandardizer Fit(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank < 2 || images.Length == 0)
            throw new ArgumentException($"ChannelStandardizer.Fit needs non-empty channels-last images (N, ..., C), got {Shapes.Format(images.Shape)}.");
        int channels = images.Dim(-1);
        ReadOnlySpan<float> x = images.Span;
        long pixels = x.Length / channels;
        // Two passes in double precision: the mean first, then the squared deviations from it.
        var sum = new double[channels];
        for (int i = 0; i < x.Length; i += channels)
            for (int c = 0; c < channels; c++)
                sum[c] += x[i + c];
        var mean = new double[channels];
        for (int c = 0; c < channels; c++)
            mean[c] = sum[c] / pixels;
        var squares = new double[channels];
        for (int i = 0; i < x.Length; i += channels)
            for (int c = 0; c < channels; c++)
            {
                double d = x[i + c] - mean[c];
                squares[c] += d * d;
            }
        var meanF = new float[channels];
        var stdF = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            meanF[c] = (float)mean[c];
            double std = Math.Sqrt(squares[c] / pixels);
            stdF[c] = std > 1e-12 ? (float)std : 1f;
        }
        return new ChannelStandardizer(meanF, stdF);
    }

    /// <summary>Standardises <paramref name="images"/> (channels last) in place.</summary>
    public void Apply(Tensor images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank < 2 || images.Dim(-1) != Channels)
            throw new ArgumentException($"ChannelStandardizer: expected channels-last images with {Channels} channels, got {Shapes.Format(images.Shape)}.");
        Span<float> x = images.Span;
        var shift = new float[Channels];
        var scale = new float[Channels];
        for (int c = 0; c < Channels; c++)
        {
            shift[c] = Mean[c];
            scale[c] = 1f / Std[c];
        }
        for (int i = 0; i < x.Length; i += Channels)
            for (int c = 0; c < Channels; c++)
                x[i + c] = (x[i + c] - shift[c]) * scale[c];
    }
}
