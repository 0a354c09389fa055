using NanoNet.Autograd;
using NanoNet.Diagnostics;
using NanoNet.Kernels;

namespace NanoNet;

public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over the last axis (Keras's <c>BatchNormalization(axis=-1)</c>): each channel c of
    /// x (..., C) is normalised with statistics over every other axis, y = (x − μ_c)/√(σ²_c + ε)·γ_c + β_c.
    /// </summary>
    /// <remarks>
    /// <para><paramref name="training"/>: μ and σ² are the batch's (biased variance), and the moving
    /// statistics are updated in place, moving = moving·momentum + batch·(1 − momentum), as Keras does;
    /// the gradient flows through the batch statistics (the closed form in <see cref="BatchNormKernels"/>).
    /// Otherwise μ and σ² are the moving ones, nothing is updated, and dx = γ/σ·dy.</para>
    /// <para><paramref name="gamma"/> and <paramref name="beta"/> (C) may be null (Keras's scale=False,
    /// center=False). The moving statistics are never differentiated.</para>
    /// </remarks>
    /// <exception cref="ArgumentException">A rank below 2, or per-channel vectors that are not (C).</exception>
    public static Tensor BatchNormalization(Tensor x, Tensor? gamma, Tensor? beta, Tensor movingMean, Tensor movingVariance,
        bool training, float momentum = 0.99f, float epsilon = 1e-3f)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(movingMean);
        ArgumentNullException.ThrowIfNull(movingVariance);
        if (x.Rank < 2)
            throw new ArgumentException($"BatchNormalization needs a batch axis and a channel axis, got shape {Shapes.Format(x.Shape)}.");
        int channels = x.Dim(-1), rows = x.Length / Math.Max(channels, 1);
        foreach ((Tensor? vector, string name) in (ReadOnlySpan<(Tensor?, string)>)[(gamma, "gamma"), (beta, "beta"), (movingMean, "moving mean"), (movingVariance, "moving variance")])
            if (vector is not null && (vector.Rank != 1 || vector.Length != channels))
                throw new ArgumentException($"BatchNormalization: {name} must be ({channels}) for input {Shapes.Format(x.Shape)}, got {Shapes.Format(vector.Shape)}.");
        if (!(epsilon > 0f))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "BatchNormalization's epsilon must be positive.");

        long started = Profiler.Start();
        // Per-channel vectors in one step-memory tensor: mean, invStd, a, b (and the batch variance).
        Tensor stats = Tensor.Empty(5 * channels);
        Span<float> all = stats.Span;
        Span<float> mean = all[..channels], invStd = all.Slice(channels, channels), a = all.Slice(2 * channels, channels),
            b = all.Slice(3 * channels, channels), variance = all.Slice(4 * channels, channels);
        if (training)
        {
            Tensor scratch = Tensor.Empty(BatchNormKernels.ScratchLength(rows, channels));
            BatchNormKernels.Statistics(x.Span, rows, channels, mean, variance, scratch.Span);
            Span<float> movingM = movingMean.Span, movingV = movingVariance.Span;
            for (int c = 0; c < channels; c++)
            {
                movingM[c] = movingM[c] * momentum + mean[c] * (1f - momentum);
                movingV[c] = movingV[c] * momentum + variance[c] * (1f - momentum);
            }
        }
        else
        {
            movingMean.Span.CopyTo(mean);
            movingVariance.Span.CopyTo(variance);
        }
        ReadOnlySpan<float> g = gamma is null ? default : gamma.Span, be = beta is null ? default : beta.Span;
        for (int c = 0; c < channels; c++)
        {
            invStd[c] = 1f / MathF.Sqrt(variance[c] + epsilon);
            a[c] = (g.IsEmpty ? 1f : g[c]) * invStd[c];
            b[c] = (be.IsEmpty ? 0f : be[c]) - mean[c] * a[c];
        }
        Tensor y = Tensor.EmptyLike(x);
        BatchNormKernels.Normalize(x.Span, rows, channels, a, b, y.Span);
        if (Tape.IsRecording && (x.RequiresGrad || gamma?.RequiresGrad == true || beta?.RequiresGrad == true))
            RecordNormalization(BatchNormEntry.Rent(y, x, gamma, beta, stats, training), x, gamma, beta);
        Profiler.Stop("BatchNormalization", started, 0);
        return y;
    }

    /// <summary>Records a normalisation's entry with x and whichever of γ and β exist as its inputs.</summary>
    private static void RecordNormalization(TapeEntry entry, Tensor x, Tensor? gamma, Tensor? beta)
    {
        if (gamma is not null && beta is not null)
            Tape.Record(entry, x, gamma, beta);
        else if (gamma is not null || beta is not null)
            Tape.Record(entry, x, (gamma ?? beta)!);
        else
            Tape.Record(entry, x);
    }

    /// <summary>Backward in two passes over x and dY (sums, then dx); see <see cref="BatchNormKernels"/> for the formulas.</summary>
    private sealed class BatchNormEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor x = null!;
        private Tensor? gamma;
        private Tensor? beta;
        private Tensor stats = null!;
        private bool training;

        public static BatchNormEntry Rent(Tensor y, Tensor x, Tensor? gamma, Tensor? beta, Tensor stats, bool training)
        {
            BatchNormEntry entry = Rent<BatchNormEntry>(y);
            entry.x = x;
            entry.gamma = gamma;
            entry.beta = beta;
            entry.stats = stats;
            entry.training = training;
            return entry;
        }

        public override string OpName => "BatchNormalization";

        public override void Backward(Tensor dY)
        {
            int channels = x.Dim(-1), rows = x.Length / channels;
            ReadOnlySpan<float> mean = stats.Span[..channels], invStd = stats.Span.Slice(channels, channels), a = stats.Span.Slice(2 * channels, channels);
            Tensor work = Tensor.Empty(5 * channels);
            Span<float> w = work.Span;
            Span<float> sumDy = w[..channels], sumDyCentered = w.Slice(channels, channels);
            Tensor scratch = Tensor.Empty(BatchNormKernels.ScratchLength(rows, channels));
            BatchNormKernels.BackwardSums(x.Span, dY.Span, rows, channels, mean, sumDy, sumDyCentered, scratch.Span);
            if (gamma is { RequiresGrad: true })
            {
                Span<float> dGamma = gamma.EnsureGrad().Span;
                for (int c = 0; c < channels; c++)
                    dGamma[c] += invStd[c] * sumDyCentered[c];
            }
            if (beta is { RequiresGrad: true })
            {
                Span<float> dBeta = beta.EnsureGrad().Span;
                for (int c = 0; c < channels; c++)
                    dBeta[c] += sumDy[c];
            }
            if (!x.RequiresGrad)
                return;
            Span<float> k2 = w.Slice(2 * channels, channels), k0 = w.Slice(3 * channels, channels);
            for (int c = 0; c < channels; c++)
            {
                if (!training)
                {
                    k2[c] = k0[c] = 0f;
                    continue;
                }
                float k1 = a[c]; // γ·invStd
                k2[c] = -k1 * invStd[c] * invStd[c] * sumDyCentered[c] / rows;
                k0[c] = -k1 * sumDy[c] / rows - k2[c] * mean[c];
            }
            BatchNormKernels.BackwardInput(x.Span, dY.Span, rows, channels, a, k2, k0, x.EnsureGrad().Span);
        }
    }
}
