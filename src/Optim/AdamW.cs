using NanoNet.Optim.Kernels;

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
public sealed class AdamW : Optimizer
{
    /// <summary>Creates an AdamW optimizer.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="weightDecay">λ, the decoupled weight decay (non-negative).</param>
    /// <param name="beta1">β₁, decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">β₂, decay of the second-moment average, in [0, 1).</param>
    /// <param name="epsilon">ε, added to √v for numerical stability (non-negative).</param>
    /// <param name="amsgrad">Whether to use the running maximum of v (AMSGrad).</param>
    public AdamW(float learningRate = 0.001f, float weightDecay = 0.004f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f, bool amsgrad = false)
        : base(learningRate, amsgrad ? ["momentum", "velocity", "velocity_hat"] : ["momentum", "velocity"])
    {
        WeightDecay = CheckRange(weightDecay, 0f, float.PositiveInfinity, nameof(weightDecay));
        Beta1 = CheckRange(beta1, 0f, 1f, nameof(beta1));
        Beta2 = CheckRange(beta2, 0f, 1f, nameof(beta2));
        Epsilon = CheckRange(epsilon, 0f, float.PositiveInfinity, nameof(epsilon));
        AmsGrad = amsgrad;
    }

    /// <summary>λ, the decoupled weight decay.</summary>
    public float WeightDecay { get; }

    /// <summary>β₁, decay of the first-moment average.</summary>
    public float Beta1 { get; }

    /// <summary>β₂, decay of the second-moment average.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>Whether the AMSGrad variant is used.</summary>
    public bool AmsGrad { get; }

    /// <inheritdoc />
    protected override void Update(int slot, Span<float> weights, ReadOnlySpan<float> gradient, float learningRate, in GradientTransform transform)
    {
        float[][] state = SlotState(slot, weights.Length);
        var rule = AdamRule.ForStep(Iterations + 1, learningRate, Beta1, Beta2, Epsilon, decay: learningRate * WeightDecay, AmsGrad);
        FusedUpdate.Run(rule, transform, weights, gradient, state[0], state[1], AmsGrad ? state[2] : default);
    }
}
