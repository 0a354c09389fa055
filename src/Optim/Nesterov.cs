using NanoNet.Kernels;
using System.Runtime.CompilerServices;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// Nesterov accelerated gradient, in PyTorch's formulation (<c>SGD(momentum=β, nesterov=True)</c>):
/// <code>
/// v ← β·v + g
/// θ ← θ − η·(g + β·v)
/// </code>
/// with v₀ = 0. Defaults: η = 0.01 (Keras's SGD), β = 0.9. State: <c>"momentum"</c> (v).
/// </summary>
/// <remarks>
/// This is Sutskever et al.'s look-ahead gradient rewritten so the gradient is taken at the current
/// weights: the step applies the new velocity "one more time" (β·v) on top of the fresh gradient.
/// With a constant rate it matches Keras's <c>SGD(momentum=β, nesterov=True)</c>, whose velocity is
/// −η times this one (u ← β·u − η·g; θ ← θ + β·u − η·g).
/// </remarks>
public sealed class Nesterov : Optimizer
{
    /// <summary>Creates a Nesterov momentum optimizer.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="beta">β, the momentum coefficient, in [0, 1).</param>
    /// <param name="lazy">Update only the rows of an embedding table this step touched, weights and state alike (<see cref="Optimizer.Lazy"/>).</param>
    public Nesterov(float learningRate = 0.01f, float beta = 0.9f, bool lazy = false) : base(learningRate, "momentum")
    {
        Beta = CheckRange(beta, 0f, 1f, nameof(beta));
        Lazy = lazy;
    }

    /// <summary>β, the momentum coefficient.</summary>
    public float Beta { get; }

    /// <inheritdoc />
    protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform) =>
        UpdateRanges(weights, gradient, state, [new ElementRange(0, weights.Length)], learningRate, transform);

    /// <summary>Built in: each parameter's update is its own, so many run on several workers at once.</summary>
    private protected override bool UpdatesConcurrently => true;

    private protected override void UpdateRanges(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, ReadOnlySpan<ElementRange> ranges,
        float learningRate, in GradientTransform transform) =>
        FusedUpdate.Run(new Rule(learningRate, Beta), transform, ranges, weights, gradient, state[0]);

    private readonly struct Rule(float learningRate, float beta) : IUpdateRule
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<T>(ref T weight, T gradient, ref T velocity, ref T unused1, ref T unused2) where T : struct, ILanes<T>
        {
            T b = T.Create(beta);
            velocity = b * velocity + gradient;
            weight -= T.Create(learningRate) * (gradient + b * velocity);
        }
    }
}
