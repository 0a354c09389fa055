namespace NanoNet.Losses;

/// <summary>
/// A training objective: a differentiable scalar from a model's output and the targets. Every loss
/// lives in this folder, one per file, each with its forward computation and its backward pass.
/// </summary>
/// <remarks>
/// <para>
/// A loss is an op like any other (it records a <see cref="Autograd.TapeEntry"/>), so a custom loss can be
/// written from the element-wise ops, or as its own op with a hand-written backward for speed.
/// </para>
/// <para>
/// Reduction follows Keras's default (<c>sum_over_batch_size</c>): a loss value per sample (per row of
/// the last axis: one per example for (N, C) outputs, one per step for (N, T, C)), each multiplied by its
/// sample weight when weights are given, summed and divided by the number of such values.
/// </para>
/// </remarks>
public abstract class Loss
{
    /// <summary>Name shown in logs, e.g. "sparse_categorical_crossentropy".</summary>
    public abstract string Name { get; }

    /// <summary>Whether accuracy (argmax of the output = label) is a meaningful metric for this loss.</summary>
    public virtual bool IsClassification => false;

    /// <summary>The mean loss over the batch, recorded for backward.</summary>
    public abstract Tensor Compute(Tensor predictions, Tensor targets);

    /// <summary>
    /// The loss with one weight per example (Keras's <c>sample_weight</c>): Σ wₙ·ℓₙ / (number of loss
    /// values), the weight of example n applying to every loss value of its row. Null weights give
    /// <see cref="Compute(Tensor, Tensor)"/>.
    /// </summary>
    /// <param name="predictions">The model's output (N, ...).</param>
    /// <param name="targets">The targets.</param>
    /// <param name="sampleWeights">One weight per example, shape (N), or null.</param>
    /// <exception cref="NotSupportedException">This loss does not take sample weights (a custom loss that did not override this).</exception>
    public virtual Tensor Compute(Tensor predictions, Tensor targets, Tensor? sampleWeights) =>
        sampleWeights is null ? Compute(predictions, targets)
            : throw new NotSupportedException($"Loss '{Name}' ({GetType().Name}) does not take sample weights: override Compute(predictions, targets, sampleWeights).");

    /// <summary>
    /// When the model ends in a softmax (see <see cref="ActivationFusion.LossMayTakeLogits"/>), a loss may
    /// take the pre-softmax logits instead and fuse the two (more stable and cheaper). Returns null when
    /// this loss does not fuse, and the model applies the softmax itself.
    /// </summary>
    public virtual Tensor? ComputeFromSoftmaxLogits(Tensor logits, Tensor targets) => null;

    /// <summary>
    /// When the model ends in an activation a loss may fuse with (<see cref="ActivationFusion.LossMayTakeLogits"/>:
    /// softmax or sigmoid), the loss from the pre-activation values <paramref name="logits"/>, or null when
    /// this loss does not fuse with <paramref name="activation"/> (the model then applies it itself). The
    /// default fuses softmax through <see cref="ComputeFromSoftmaxLogits"/> when there are no sample weights.
    /// </summary>
    public virtual Tensor? ComputeFromLogits(ActivationFunction activation, Tensor logits, Tensor targets, Tensor? sampleWeights) =>
        activation == ActivationFunction.Softmax && sampleWeights is null ? ComputeFromSoftmaxLogits(logits, targets) : null;
}
