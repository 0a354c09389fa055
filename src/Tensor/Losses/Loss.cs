namespace NanoNet.Losses;

/// <summary>
/// A training objective: a differentiable scalar from a model's output and the targets. Every loss
/// lives in this folder, one per file, each with its forward computation and its backward pass.
/// </summary>
/// <remarks>
/// A loss is an op like any other (it records a <see cref="Autograd.TapeEntry"/>), so a custom loss can be
/// written from the element-wise ops, or as its own op with a hand-written backward for speed.
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
    /// When the model ends in a softmax (see <see cref="ActivationFusion.LossMayTakeLogits"/>), a loss may
    /// take the pre-softmax logits instead and fuse the two (more stable and cheaper). Returns null when
    /// this loss does not fuse, and the model applies the softmax itself.
    /// </summary>
    public virtual Tensor? ComputeFromSoftmaxLogits(Tensor logits, Tensor targets) => null;
}
