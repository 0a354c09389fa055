using NanoNet.Kernels;
using System.Runtime.CompilerServices;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// Gradient descent with (heavy-ball) momentum, in one of two common forms (<see cref="MomentumForm"/>):
/// <code>
/// Classical:          v ← β·v + g          θ ← θ − η·v
/// ExponentialAverage: v ← β·v + (1−β)·g    θ ← θ − η·v
/// </code>
/// with v₀ = 0. Defaults: η = 0.01 (Keras's SGD), β = 0.9. State: <c>"momentum"</c> (v).
/// </summary>
public sealed class Momentum : Optimizer
{
    /// <summary>Creates a momentum optimizer.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="beta">β, the momentum coefficient, in [0, 1).</param>
    /// <param name="form">How gradients are accumulated into the velocity.</param>
    /// <param name="lazy">Update only the rows of an embedding table this step touched, weights and state alike (<see cref="Optimizer.Lazy"/>).</param>
    public Momentum(float learningRate = 0.01f, float beta = 0.9f, MomentumForm form = MomentumForm.Classical, bool lazy = false)
        : base(learningRate, "momentum")
    {
        Lazy = lazy;
        if (form is not (MomentumForm.Classical or MomentumForm.ExponentialAverage))
            throw new ArgumentOutOfRangeException(nameof(form), form, "Unknown momentum form.");
        Beta = CheckRange(beta, 0f, 1f, nameof(beta));
        Form = form;
    }

    /// <summary>β, the momentum coefficient.</summary>
    public float Beta { get; }

    /// <summary>How gradients are accumulated into the velocity.</summary>
    public MomentumForm Form { get; }

    /// <inheritdoc />
    protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform) =>
        UpdateRanges(weights, gradient, state, [new ElementRange(0, weights.Length)], learningRate, transform);

    /// <summary>Built in: each parameter's update is its own, so many run on several workers at once.</summary>
    private protected override bool UpdatesConcurrently => true;

    private protected override void UpdateRanges(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, ReadOnlySpan<ElementRange> ranges,
        float learningRate, in GradientTransform transform)
    {
        float gradientWeight = Form == MomentumForm.Classical ? 1f : 1f - Beta;
        FusedUpdate.Run(new Rule(learningRate, Beta, gradientWeight), transform, ranges, weights, gradient, state[0]);
    }

    private readonly struct Rule(float learningRate, float beta, float gradientWeight) : IUpdateRule
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<T>(ref T weight, T gradient, ref T velocity, ref T unused1, ref T unused2) where T : struct, ILanes<T>
        {
            velocity = T.Create(beta) * velocity + T.Create(gradientWeight) * gradient;
            weight -= T.Create(learningRate) * velocity;
        }
    }
}
