using System.Numerics.Tensors;

namespace NanoNet.Losses;

/// <summary>
/// Cosine similarity as a loss, with Keras's sign: per sample ℓ = −cos(p, t) = −Σ p̂·t̂ over the last
/// axis, where x̂ = x / √max(Σx², 1e-12) (Keras's <c>l2_normalize</c>), so −1 is perfect agreement and
/// training minimises it.
/// </summary>
/// <remarks>
/// Backward, with n = √max(Σp², 1e-12) and c = p̂·t̂: ∂ℓ/∂p = −(t̂ − c·p̂)/n (the part of t̂ orthogonal to p,
/// scaled); where Σp² is below 1e-12 the norm is the constant 1e-6 and ∂ℓ/∂p = −t̂/n.
/// </remarks>
public sealed class CosineSimilarity : PerSampleLoss
{
    private const float MinSquaredNorm = 1e-12f;

    /// <inheritdoc />
    public override string Name => "cosine_similarity";

    /// <inheritdoc />
    protected override void SampleLosses(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns,
        Span<float> sampleLoss, Span<float> gradient, bool fromLogits)
    {
        for (int r = 0; r < sampleLoss.Length; r++)
        {
            ReadOnlySpan<float> p = predictions.Slice(r * columns, columns), t = targets.Slice(r * columns, columns);
            Span<float> g = gradient.Slice(r * columns, columns);
            float pSquared = TensorPrimitives.SumOfSquares(p);
            float pNorm = MathF.Sqrt(MathF.Max(pSquared, MinSquaredNorm));
            float tNorm = MathF.Sqrt(MathF.Max(TensorPrimitives.SumOfSquares(t), MinSquaredNorm));
            float cosine = TensorPrimitives.Dot(p, t) / (pNorm * tNorm);
            sampleLoss[r] = -cosine;
            // g = −t̂/n + (c/n)·p̂ (the second term only where the norm is not clamped)
            float along = pSquared >= MinSquaredNorm ? cosine / (pNorm * pNorm) : 0f;
            TensorPrimitives.Multiply(t, -1f / (tNorm * pNorm), g);
            TensorPrimitives.MultiplyAdd(p, along, g, g);
        }
    }
}
