namespace NanoNet.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019): Adam with decoupled weight decay. At step t = 1, 2, ...:
/// <code>
/// θ ← θ − η·λ·θ                               (decay, not through the gradient)
/// m ← β₁·m + (1−β₁)·g
/// v ← β₂·v + (1−β₂)·g²
/// AMSGrad: v̂ ← max(v̂, v), and v̂ replaces v below
/// θ ← θ − α_t·m / (√v + ε),   α_t = η·√(1−β₂ᵗ) / (1−β₁ᵗ)
/// </code>
/// The decay is scaled by the (scheduled) rate η and is not divided by √v, unlike L2 regularization
/// through the gradient, which Adam would rescale per element. Order and formula as in Keras
/// (decay first, applied to every parameter passed to <see cref="Optimizer.Step"/>).
/// Defaults (Keras): η = 0.001, λ = 0.004, β₁ = 0.9, β₂ = 0.999, ε = 1e-7.
/// State: as <see cref="Adam"/>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates an AdamW optimizer.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="weightDecay">λ, the decoupled weight decay (non-negative).</param>
    /// <param name="beta1">β₁, decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">β₂, decay of the second-moment average, in [0, 1).</param>
    /// <param name="epsilon">ε, added to √v for numerical stability (non-negative).</param>
    /// <param name="amsgrad">Whether to use the running maximum of v (AMSGrad).</param>
    /// <param name="lazy">
    /// Update only the rows of an embedding table this step touched, weights and state alike (<see cref="Optimizer.Lazy"/>);
    /// the decay then shrinks the touched rows only.
    /// </param>
    public AdamW(float learningRate = 0.001f, float weightDecay = 0.004f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f, bool amsgrad = false, bool lazy = false)
        : base(learningRate, beta1, beta2, epsilon, amsgrad, lazy) =>
        WeightDecay = CheckRange(weightDecay, 0f, float.PositiveInfinity, nameof(weightDecay));

    /// <summary>λ, the decoupled weight decay.</summary>
    public float WeightDecay { get; }

    /// <inheritdoc />
    protected override float DecoupledDecay(float learningRate) => learningRate * WeightDecay;
}
