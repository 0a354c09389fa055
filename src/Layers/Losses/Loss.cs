namespace NanoNet.Layers;

/// <summary>A training objective: a differentiable scalar from the model's output and the targets.</summary>
public abstract class Loss
{
    /// <summary>Name shown in logs, e.g. "sparse_categorical_crossentropy".</summary>
    public abstract string Name { get; }

    /// <summary>Whether accuracy (argmax of the output = label) is a meaningful metric for this loss.</summary>
    public virtual bool IsClassification => false;

    /// <summary>The mean loss over the batch, recorded on the tape.</summary>
    public abstract Tensor Compute(Tensor predictions, Tensor targets);

    /// <summary>
    /// When the model ends in a softmax, a loss may take the pre-softmax logits instead and fuse the
    /// two (more stable and cheaper). Returns null when this loss does not fuse.
    /// </summary>
    public virtual Tensor? ComputeFromSoftmaxLogits(Tensor logits, Tensor targets) => null;
}

/// <summary>
/// Cross-entropy between integer class labels and predicted class probabilities:
/// L = −(1/N) Σᵢ log pᵢ,yᵢ. Labels are class ids (N); predictions are (N, C).
/// </summary>
/// <remarks>
/// When the model's last layer is a softmax, the training loop hands this loss the logits instead and
/// it runs the fused, numerically stable <see cref="Ops.SoftmaxCrossEntropy"/> (gradient = softmax −
/// one-hot). With <paramref name="fromLogits"/> the model's outputs are treated as logits directly.
/// </remarks>
public sealed class SparseCategoricalCrossEntropy(bool fromLogits = false) : Loss
{
    /// <summary>Whether predictions are logits rather than probabilities.</summary>
    public bool FromLogits { get; } = fromLogits;

    /// <inheritdoc />
    public override string Name => "sparse_categorical_crossentropy";

    /// <inheritdoc />
    public override bool IsClassification => true;

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets)
    {
        Tensor rows = predictions.Rank == 2 ? predictions : Ops.Reshape(predictions, -1, predictions.Dim(-1));
        // For probabilities p (rows summing to 1), softmax(log p) = p, so the fused op computes −log p_y.
        return Ops.SoftmaxCrossEntropy(FromLogits ? rows : Ops.Log(rows), targets);
    }

    /// <inheritdoc />
    public override Tensor? ComputeFromSoftmaxLogits(Tensor logits, Tensor targets) =>
        Ops.SoftmaxCrossEntropy(logits.Rank == 2 ? logits : Ops.Reshape(logits, -1, logits.Dim(-1)), targets);
}

/// <summary>Mean squared error: L = (1/n) Σ (p − t)² over every element.</summary>
public sealed class MeanSquaredError : Loss
{
    /// <inheritdoc />
    public override string Name => "mean_squared_error";

    /// <inheritdoc />
    public override Tensor Compute(Tensor predictions, Tensor targets) => Ops.MeanSquaredError(predictions, targets);
}
