using NanoNet.Kernels;
using System.Runtime.CompilerServices;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// Adagrad (Duchi, Hazan &amp; Singer 2011): a per-element rate that shrinks with the sum of squared gradients.
/// <code>
/// a ← a + g²
/// θ ← θ − η·g / √(a + ε)
/// </code>
/// with a₀ = <c>initialAccumulatorValue</c>. This is Keras 3's form (ε inside the square root).
/// Defaults (Keras): η = 0.001, a₀ = 0.1, ε = 1e-7. State: <c>"accumulator"</c> (a).
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates an Adagrad optimizer.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="initialAccumulatorValue">a₀, the starting value of every accumulator (non-negative).</param>
    /// <param name="epsilon">ε, added under the square root for numerical stability (non-negative).</param>
    /// <param name="lazy">Update only the rows of an embedding table this step touched, weights and state alike (<see cref="Optimizer.Lazy"/>).</param>
    public Adagrad(float learningRate = 0.001f, float initialAccumulatorValue = 0.1f, float epsilon = 1e-7f, bool lazy = false)
        : base(learningRate, "accumulator")
    {
        Lazy = lazy;
        InitialAccumulatorValue = CheckRange(initialAccumulatorValue, 0f, float.PositiveInfinity, nameof(initialAccumulatorValue));
        Epsilon = CheckRange(epsilon, 0f, float.PositiveInfinity, nameof(epsilon));
    }

    /// <summary>a₀, the starting value of every accumulator.</summary>
    public float InitialAccumulatorValue { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>
    /// a + 0 = a and θ − η·0/√(a + ε) = θ: a zero gradient changes nothing (unless a₀ = ε = 0, where 0/0 is NaN), so an
    /// embedding's untouched rows are skipped even without <c>lazy</c>, with the same result (Optimizer.SkipsZeroGradients).
    /// </summary>
    private protected override bool SkipsZeroGradients => InitialAccumulatorValue > 0f || Epsilon > 0f;

    /// <inheritdoc />
    protected override void InitializeState(int index, Span<float> buffer) => buffer.Fill(InitialAccumulatorValue);

    /// <inheritdoc />
    protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform) =>
        UpdateRanges(weights, gradient, state, [new ElementRange(0, weights.Length)], learningRate, transform);

    /// <summary>Built in: each parameter's update is its own, so many run on several workers at once.</summary>
    private protected override bool UpdatesConcurrently => true;

    private protected override void UpdateRanges(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, ReadOnlySpan<ElementRange> ranges,
        float learningRate, in GradientTransform transform) =>
        FusedUpdate.Run(new Rule(learningRate, Epsilon), transform, ranges, weights, gradient, state[0]);

    private readonly struct Rule(float learningRate, float epsilon) : IUpdateRule
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<T>(ref T weight, T gradient, ref T accumulator, ref T unused1, ref T unused2) where T : struct, ILanes<T>
        {
            accumulator += gradient * gradient;
            weight -= T.Create(learningRate) * gradient / T.Sqrt(accumulator + T.Create(epsilon));
        }
    }
}
