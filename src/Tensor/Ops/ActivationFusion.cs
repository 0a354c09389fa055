namespace NanoNet;

/// <summary>
/// Which activations run inside another op instead of as a pass of their own. Decided here, and only
/// here: the layers (Dense, Conv2D), the fused ops (<see cref="Ops.Linear"/>, <see cref="Ops.Conv2D(Tensor, Tensor, Tensor, int, int, bool, ActivationFunction)"/>) and
/// the training loop's loss fusion all ask this class.
/// </summary>
/// <remarks>
/// Why fuse: an activation is a cheap pass over a large tensor, so its cost is memory traffic. ReLU
/// fused into the bias pass of a GEMM-based op touches the output once instead of twice, and its
/// backward masks dY in place. Softmax followed by cross-entropy, and sigmoid followed by binary
/// cross-entropy, are fused for stability as much as speed: from the logits, the loss is a log-sum-exp
/// (a softplus for the sigmoid) and the gradient is softmax − one-hot (σ − t), with no log of 0.
/// </remarks>
public static class ActivationFusion
{
    /// <summary>
    /// The part of <paramref name="activation"/> that Linear and Conv2D apply inside their own kernel:
    /// ReLU (applied chunk by chunk in the bias pass), otherwise <see cref="ActivationFunction.Linear"/>.
    /// </summary>
    public static ActivationFunction InsideOp(ActivationFunction activation) =>
        activation == ActivationFunction.Relu ? ActivationFunction.Relu : ActivationFunction.Linear;

    /// <summary>The part left to apply as its own op after <see cref="InsideOp"/>.</summary>
    public static ActivationFunction AfterOp(ActivationFunction activation) =>
        activation == ActivationFunction.Relu ? ActivationFunction.Linear : activation;

    /// <summary>Whether a fused op can take <paramref name="activation"/> (<see cref="InsideOp"/> keeps all of it).</summary>
    public static bool CanRunInsideOp(ActivationFunction activation) => InsideOp(activation) == activation;

    /// <summary>
    /// Whether a model ending in <paramref name="activation"/> may hand the loss the pre-activation values
    /// instead (the loss then decides, through <c>Loss.ComputeFromLogits</c>): softmax and sigmoid.
    /// </summary>
    public static bool LossMayTakeLogits(ActivationFunction activation) =>
        activation is ActivationFunction.Softmax or ActivationFunction.Sigmoid;
}
