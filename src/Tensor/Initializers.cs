namespace NanoNet;

/// <summary>
/// Weight initializers, seeded and reproducible. Fan-in/fan-out follow Keras: for a dense kernel
/// (in, out) they are in and out; for a convolution kernel they are multiplied by the receptive field.
/// </summary>
public static class Initializers
{
    /// <summary>Glorot (Xavier) uniform: U(-l, l) with l = √(6 / (fanIn + fanOut)). Keras' default.</summary>
    public static void GlorotUniform(Span<float> weights, int fanIn, int fanOut, Random rng)
    {
        float limit = MathF.Sqrt(6f / (fanIn + fanOut));
        FillUniform(weights, rng, -limit, limit);
    }

    /// <summary>He (Kaiming) uniform: U(-l, l) with l = √(6 / fanIn), suited to ReLU layers.</summary>
    public static void HeUniform(Span<float> weights, int fanIn, Random rng)
    {
        float limit = MathF.Sqrt(6f / fanIn);
        FillUniform(weights, rng, -limit, limit);
    }

    /// <summary>He (Kaiming) normal: N(0, 2 / fanIn).</summary>
    public static void HeNormal(Span<float> weights, int fanIn, Random rng) =>
        FillNormal(weights, rng, 0f, MathF.Sqrt(2f / fanIn));

    /// <summary>Fills with U(low, high).</summary>
    public static void FillUniform(Span<float> values, Random rng, float low, float high)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = low + (high - low) * rng.NextSingle();
    }

    /// <summary>Fills with N(mean, std²) using the Box–Muller transform.</summary>
    public static void FillNormal(Span<float> values, Random rng, float mean, float std)
    {
        for (int i = 0; i < values.Length; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(); // (0, 1]: log is finite
            double u2 = rng.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            values[i] = mean + std * (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < values.Length)
                values[i + 1] = mean + std * (float)(radius * Math.Sin(2 * Math.PI * u2));
        }
    }
}
