using System.Numerics.Tensors;
using NanoNet.Autograd;
using NanoNet.Diagnostics;

namespace NanoNet.Losses;

/// <summary>
/// A loss made of one value per sample, reduced as Keras reduces by default (<c>sum_over_batch_size</c>):
/// L = (1/R) Σᵣ wᵣ·ℓᵣ. A subclass computes the per-sample values ℓᵣ and their gradients; this class
/// weights, reduces and records the op. Shape legend: predictions P (N, ..., C), C = the last axis,
/// R = |P| / C samples (rows of the last axis: N for (N, C), N·T for sequence outputs (N, T, C)); targets
/// as many values as P (or <see cref="TargetsPerSample"/> per sample); sample weights w (N), the weight
/// of example n applying to each of its R/N samples. A rank-1 output (N) is N samples of one column.
/// </summary>
/// <remarks>Backward: dP += dL · wᵣ/R · ∂ℓᵣ/∂P (the targets and weights get no gradient).</remarks>
public abstract class PerSampleLoss : Loss
{
    /// <inheritdoc />
    public sealed override Tensor Compute(Tensor predictions, Tensor targets) => Compute(predictions, targets, null);

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets, Tensor? sampleWeights) => Reduce(predictions, targets, sampleWeights, fromLogits: false);

    /// <summary>Target values per sample of <paramref name="columns"/> predictions: <paramref name="columns"/> (one target per prediction) unless a loss reads class ids.</summary>
    protected virtual int TargetsPerSample(int columns) => columns;

    /// <summary>
    /// Writes each sample's loss ℓᵣ into <paramref name="sampleLoss"/> (R) and ∂ℓᵣ/∂P into
    /// <paramref name="gradient"/> (R×C, unweighted). With <paramref name="fromLogits"/> the predictions
    /// are the pre-activation values of the activation this loss fuses with.
    /// </summary>
    protected abstract void SampleLosses(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns,
        Span<float> sampleLoss, Span<float> gradient, bool fromLogits);

    /// <summary>The weighted mean of the per-sample losses, recorded for backward.</summary>
    /// <exception cref="ArgumentException">The targets or weights do not match the predictions; the message names the loss and the shapes.</exception>
    protected Tensor Reduce(Tensor predictions, Tensor targets, Tensor? sampleWeights, bool fromLogits)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(targets);
        long started = Profiler.Start();
        int columns = predictions.Rank <= 1 ? 1 : predictions.Dim(-1);
        int samples = columns == 0 ? 0 : predictions.Length / columns;
        if (targets.Length != samples * TargetsPerSample(columns))
            throw new ArgumentException(
                $"Loss '{Name}': predictions {Shapes.Format(predictions.Shape)} need {samples * TargetsPerSample(columns)} target values " +
                $"({TargetsPerSample(columns)} per sample of the last axis), got targets {Shapes.Format(targets.Shape)}.");
        int perExample = 1;
        if (sampleWeights is not null)
        {
            int examples = predictions.Rank == 0 ? 1 : predictions.Dim(0);
            if (sampleWeights.Length != examples || examples == 0 || samples % examples != 0)
                throw new ArgumentException(
                    $"Loss '{Name}': sample weights {Shapes.Format(sampleWeights.Shape)} must hold one weight per example of predictions {Shapes.Format(predictions.Shape)} ({examples}).");
            perExample = samples / examples;
        }
        Tensor sampleLoss = Tensor.Empty(samples);
        Tensor gradient = Tensor.EmptyLike(predictions);
        SampleLosses(predictions.Span, targets.Span, columns, sampleLoss.Span, gradient.Span, fromLogits);
        ReadOnlySpan<float> losses = sampleLoss.Span;
        double total = 0;
        if (sampleWeights is null)
            for (int r = 0; r < losses.Length; r++)
                total += losses[r];
        else
            for (int r = 0; r < losses.Length; r++)
                total += (double)sampleWeights[r / perExample] * losses[r];
        Tensor y = Tensor.Empty([]);
        y[0] = samples == 0 ? 0f : (float)(total / samples);
        if (Tape.ShouldRecord(predictions))
            Tape.Record(PerSampleLossEntry.Rent(y, predictions, gradient, sampleWeights, perExample, Name), predictions);
        Profiler.Stop(GetType().Name, started, 0);
        return y;
    }

    /// <summary>dP += dL · wᵣ/R · ∂ℓᵣ/∂P, sample by sample.</summary>
    private sealed class PerSampleLossEntry : TapeEntry
    {
        // The call's arguments: set again each time the entry is rented (see TapeEntry.Rent).
        private Tensor predictions = null!;
        private Tensor gradient = null!;
        private Tensor? weights;
        private int perExample;
        private string name = null!;

        public static PerSampleLossEntry Rent(Tensor y, Tensor predictions, Tensor gradient, Tensor? weights, int perExample, string name)
        {
            PerSampleLossEntry entry = Rent<PerSampleLossEntry>(y);
            entry.predictions = predictions;
            entry.gradient = gradient;
            entry.weights = weights;
            entry.perExample = perExample;
            entry.name = name;
            return entry;
        }

        public override string OpName => name;

        public override void Backward(Tensor dY)
        {
            Span<float> dP = predictions.EnsureGrad().Span;
            ReadOnlySpan<float> g = gradient.Span;
            int columns = predictions.Rank <= 1 ? 1 : predictions.Dim(-1);
            int samples = columns == 0 ? 0 : g.Length / columns;
            if (samples == 0)
                return;
            float scale = dY[0] / samples;
            if (weights is null)
            {
                TensorPrimitives.MultiplyAdd(g, scale, dP, dP);
                return;
            }
            for (int r = 0; r < samples; r++)
            {
                Span<float> row = dP.Slice(r * columns, columns);
                TensorPrimitives.MultiplyAdd(g.Slice(r * columns, columns), scale * weights[r / perExample], row, row);
            }
        }
    }
}

/// <summary>
/// A <see cref="PerSampleLoss"/> whose sample loss is the mean (or, for <see cref="AveragesLastAxis"/> false,
/// the sum) over the last axis of an element-wise function ℓ(p, t), as Keras's regression losses are.
/// </summary>
public abstract class ElementwiseLoss : PerSampleLoss
{
    /// <summary>Whether a sample's loss is the mean of its elements (Keras's MSE, MAE, Huber, binary cross-entropy) rather than their sum (KL divergence).</summary>
    protected virtual bool AveragesLastAxis => true;

    /// <summary>
    /// Writes ∂ℓ/∂p of every element into <paramref name="gradient"/> and returns Σ ℓ(p, t) over the span
    /// (one sample's elements).
    /// </summary>
    protected abstract float Elementwise(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, Span<float> gradient, bool fromLogits);

    /// <inheritdoc />
    protected sealed override void SampleLosses(ReadOnlySpan<float> predictions, ReadOnlySpan<float> targets, int columns,
        Span<float> sampleLoss, Span<float> gradient, bool fromLogits)
    {
        float scale = AveragesLastAxis ? 1f / columns : 1f;
        for (int r = 0; r < sampleLoss.Length; r++)
        {
            Span<float> g = gradient.Slice(r * columns, columns);
            sampleLoss[r] = scale * Elementwise(predictions.Slice(r * columns, columns), targets.Slice(r * columns, columns), g, fromLogits);
            if (scale != 1f)
                TensorPrimitives.Multiply(g, scale, g);
        }
    }
}
