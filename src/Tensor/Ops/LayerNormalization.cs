using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Layer normalisation over the last axis (Keras's <c>LayerNormalization(axis=-1)</c>): each row of
    /// x (..., C) becomes (x − μ)/√(σ² + ε)·γ + β, μ and σ² (biased) over that row.
    /// </summary>
    /// <remarks>
    /// <paramref name="gamma"/> and <paramref name="beta"/> (C) may be null (Keras's scale=False, center=False).
    /// Backward: the closed form in <see cref="LayerNormKernels"/>; each row's μ and 1/σ are kept for it.
    /// </remarks>
    /// <exception cref="ArgumentException">A rank below 1, or γ, β not of shape (C).</exception>
    public static Tensor LayerNormalization(Tensor x, Tensor? gamma, Tensor? beta, float epsilon = 1e-3f)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 1 || x.Dim(-1) == 0)
            throw new ArgumentException($"LayerNormalization needs a non-empty last axis, got shape {Shapes.Format(x.Shape)}.");
        int channels = x.Dim(-1), rows = x.Length / channels;
        foreach ((Tensor? vector, string name) in (ReadOnlySpan<(Tensor?, string)>)[(gamma, "gamma"), (beta, "beta")])
            if (vector is not null && (vector.Rank != 1 || vector.Length != channels))
                throw new ArgumentException($"LayerNormalization: {name} must be ({channels}) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(vector.Shape)}.");
        if (!(epsilon > 0f))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "LayerNormalization's epsilon must be positive.");

        long started = Profiler.Start();
        Tensor y = Tensor.EmptyLike(x), stats = Tensor.Empty(2 * rows); // each row's mean, then each row's 1/σ
        LayerNormKernels.Forward(x.Span, rows, channels, gamma is null ? default : gamma.Span, beta is null ? default : beta.Span, epsilon,
            y.Span, stats.Span[..rows], stats.Span[rows..]);
        if (Tape.IsRecording && (x.RequiresGrad || gamma?.RequiresGrad == true || beta?.RequiresGrad == true))
            RecordNormalization(LayerNormEntry.Rent(y, x, gamma, beta, stats), x, gamma, beta);
        Profiler.Stop("LayerNormalization", started, 0);
        return y;
    }

    private sealed class LayerNormEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private Tensor? gamma;
        private Tensor? beta;
        private Tensor stats = null!;

        public static LayerNormEntry Rent(Tensor y, Tensor x, Tensor? gamma, Tensor? beta, Tensor stats)
        {
            LayerNormEntry entry = Rent<LayerNormEntry>(y);
            entry.x = x;
            entry.gamma = gamma;
            entry.beta = beta;
            entry.stats = stats;
            return entry;
        }

        public override string OpName => "LayerNormalization";

        public override void Backward(Tensor dY)
        {
            int channels = x.Dim(-1), rows = x.Length / channels;
            Tensor scratch = Tensor.Empty(LayerNormKernels.ScratchLength(rows, channels));
            LayerNormKernels.Backward(x.Span, dY.Span, rows, channels, gamma is null ? default : gamma.Span, stats.Span[..rows], stats.Span[rows..],
                x.RequiresGrad ? x.EnsureGrad().Span : default,
                gamma is { RequiresGrad: true } ? gamma.EnsureGrad().Span : default,
                beta is { RequiresGrad: true } ? beta.EnsureGrad().Span : default, scratch.Span);
        }
    }
}
