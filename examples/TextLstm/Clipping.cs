using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using NanoNet;

/// <summary>
/// Gradient clipping by global norm for the --clipnorm option: if ‖g‖ = √(Σ over every parameter's
/// gradient of g²) exceeds maxNorm, every gradient is scaled by maxNorm / ‖g‖ (Keras' clipnorm on the
/// whole model, TensorFlow's clip_by_global_norm). Installed through <c>Sequential.GradientTransform</c>.
/// </summary>
/// <remarks>
/// A local stand-in with the same signature as <c>NanoNet.Optim.GradientClipping.ClipByGlobalNorm</c>,
/// which lives on another branch: once that is merged, delete this file and call it instead.
/// </remarks>
internal static class Clipping
{
    /// <summary>Scales the gradients in place so their global norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static float ClipByGlobalNorm(IReadOnlyList<Tensor> parameters, float maxNorm)
    {
        double sum = 0;
        foreach (Tensor p in parameters)
            if (p.Grad is { } g)
                sum += TensorPrimitives.Dot<float>(g.Span, g.Span);
        double norm = Math.Sqrt(sum);
        if (norm > maxNorm)
        {
            float scale = (float)(maxNorm / norm);
            foreach (Tensor p in parameters)
                if (p.Grad is { } g)
                    TensorPrimitives.Multiply(g.Span, scale, g.Span);
        }
        return (float)norm;
    }
}
