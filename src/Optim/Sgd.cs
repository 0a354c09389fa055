using NanoNet.Kernels;
using System.Runtime.CompilerServices;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// Plain stochastic gradient descent: θ ← θ − η·g. (Keras default η = 0.01.)
/// </summary>
/// <remarks>
/// "Stochastic" or not is decided by the training loop's batch size, not by the optimizer: with
/// batch size 1 this is SGD, with the whole data set it is batch gradient descent. No state.
/// </remarks>
public sealed class Sgd(float learningRate = 0.01f) : Optimizer(learningRate)
{
    /// <summary>w − η·0 = w: an embedding's untouched rows are skipped (Optimizer.SkipsZeroGradients).</summary>
    private protected override bool SkipsZeroGradients => true;

    /// <inheritdoc />
    protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform) =>
        UpdateRanges(weights, gradient, state, [new ElementRange(0, weights.Length)], learningRate, transform);

    /// <summary>Built in: each parameter's update is its own, so many run on several workers at once.</summary>
    private protected override bool UpdatesConcurrently => true;

    private protected override void UpdateRanges(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, ReadOnlySpan<ElementRange> ranges,
        float learningRate, in GradientTransform transform) =>
        FusedUpdate.Run(new Rule(learningRate), transform, ranges, weights, gradient);

    private readonly struct Rule(float learningRate) : IUpdateRule
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<T>(ref T weight, T gradient, ref T unused0, ref T unused1, ref T unused2) where T : struct, ILanes<T> =>
            weight -= T.Create(learningRate) * gradient;
    }
}
