using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba 2015), optionally with AMSGrad (Reddi et al. 2018). At step t = 1, 2, ...:
/// <code>
/// m ← β₁·m + (1−β₁)·g
/// v ← β₂·v + (1−β₂)·g²
/// AMSGrad: v̂ ← max(v̂, v), and v̂ replaces v below
/// α_t = η·√(1−β₂ᵗ) / (1−β₁ᵗ)                 (bias correction of both moments)
/// θ ← θ − α_t·m / (√v + ε)
/// </code>
/// with m₀ = v₀ (= v̂₀) = 0. This is Keras's form: ε is the paper's "ε-hat", added to √v before the
/// bias correction is folded into α_t (PyTorch adds ε to √v/√(1−β₂ᵗ) instead; the two agree when ε
/// is negligible). Defaults (Keras): η = 0.001, β₁ = 0.9, β₂ = 0.999, ε = 1e-7.
/// State: <c>"momentum"</c> (m), <c>"velocity"</c> (v), and <c>"velocity_hat"</c> (v̂) with AMSGrad.
/// </summary>
/// <remarks>
/// For L2-regularized Adam (PyTorch's <c>Adam(weight_decay=λ)</c>) set <see cref="Optimizer.L2"/>; for
/// decoupled weight decay use <see cref="AdamW"/>.
/// <para>
/// <c>lazy: true</c> gives LazyAdam (TensorFlow Addons' <c>LazyAdam</c>, PyTorch's <c>SparseAdam</c>): the rows of an
/// embedding table that the step's batch did not touch keep their m, v and weights, and a touched row takes the step
/// above with the global t, so α_t is the same for every row of a step (<see cref="Optimizer.Lazy"/>).
/// </para>
/// </remarks>
public class Adam : Optimizer
{
    /// <summary>Creates an Adam optimizer.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="beta1">β₁, decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">β₂, decay of the second-moment average, in [0, 1).</param>
    /// <param name="epsilon">ε, added to √v for numerical stability (non-negative).</param>
    /// <param name="amsgrad">Whether to use the running maximum of v (AMSGrad).</param>
    /// <param name="lazy">Update only the rows of an embedding table this step touched, weights and state alike (<see cref="Optimizer.Lazy"/>).</param>
    public Adam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-7f, bool amsgrad = false, bool lazy = false)
        : base(learningRate, amsgrad ? ["momentum", "velocity", "velocity_hat"] : ["momentum", "velocity"])
    {
        Lazy = lazy;
        Beta1 = CheckRange(beta1, 0f, 1f, nameof(beta1));
        Beta2 = CheckRange(beta2, 0f, 1f, nameof(beta2));
        Epsilon = CheckRange(epsilon, 0f, float.PositiveInfinity, nameof(epsilon));
        AmsGrad = amsgrad;
    }

    /// <summary>β₁, decay of the first-moment average.</summary>
    public float Beta1 { get; }

    /// <summary>β₂, decay of the second-moment average.</summary>
    public float Beta2 { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>Whether the AMSGrad variant is used.</summary>
    public bool AmsGrad { get; }

    /// <inheritdoc />
    protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform) =>
        UpdateRanges(weights, gradient, state, [new ElementRange(0, weights.Length)], learningRate, transform);

    /// <summary>Adam and AdamW as built (a subclass's own <see cref="Update"/> may not be safe on two threads at once).</summary>
    private protected override bool UpdatesConcurrently => GetType() == typeof(Adam) || GetType() == typeof(AdamW);

    private protected override void UpdateRanges(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, ReadOnlySpan<ElementRange> ranges,
        float learningRate, in GradientTransform transform)
    {
        var rule = AdamRule.ForStep(Iterations + 1, learningRate, Beta1, Beta2, Epsilon, decay: DecoupledDecay(learningRate), AmsGrad);
        FusedUpdate.Run(rule, transform, ranges, weights, gradient, state[0], state[1], AmsGrad ? state[2] : default);
    }

    /// <summary>The factor θ is shrunk by before the Adam step, θ ← θ − decay·θ (0 for Adam; see <see cref="AdamW"/>).</summary>
    protected virtual float DecoupledDecay(float learningRate) => 0f;
}
