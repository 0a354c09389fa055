using NanoNet.Kernels;
using System.Runtime.CompilerServices;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// RMSprop (Hinton, lecture 6e): divides the gradient by a running root-mean-square of recent gradients.
/// <code>
/// s ← ρ·s + (1−ρ)·g²
/// centered:  ḡ ← ρ·ḡ + (1−ρ)·g;   d = s − ḡ² + ε      (variance instead of raw second moment)
/// otherwise: d = s + ε
/// Δ = η·g / √d
/// momentum μ &gt; 0: m ← μ·m + Δ;   θ ← θ − m
/// otherwise:                     θ ← θ − Δ
/// </code>
/// with all state starting at 0. This is Keras 3's and TensorFlow's form (ε inside the square root). Keras 2 and
/// PyTorch add ε to the root instead, Δ = η·g / (√d₀ + ε) with d₀ = s or s − ḡ²: set
/// <see cref="EpsilonOutsideSquareRoot"/>. The two differ where s is small: with ε = 1e-7 inside, gradients whose
/// root mean square is below √ε ≈ 3e-4 take smaller steps than with ε outside.
/// Defaults (Keras): η = 0.001, ρ = 0.9, μ = 0, ε = 1e-7, not centered, ε inside the root.
/// State: <c>"velocity"</c> (s), then <c>"momentum"</c> (m) if μ &gt; 0, then <c>"average_gradient"</c> (ḡ) if centered.
/// </summary>
public sealed class RmsProp : Optimizer
{
    /// <summary>Creates an RMSprop optimizer.</summary>
    /// <param name="learningRate">η.</param>
    /// <param name="rho">ρ, the decay of the moving averages, in [0, 1).</param>
    /// <param name="momentum">μ, momentum on the scaled steps, in [0, 1); 0 for none.</param>
    /// <param name="epsilon">ε, added under the square root for numerical stability (non-negative).</param>
    /// <param name="centered">Whether to normalize by the estimated variance (s − ḡ²) instead of s.</param>
    /// <param name="lazy">Update only the rows of an embedding table this step touched, weights and state alike (<see cref="Optimizer.Lazy"/>).</param>
    public RmsProp(float learningRate = 0.001f, float rho = 0.9f, float momentum = 0f, float epsilon = 1e-7f, bool centered = false, bool lazy = false)
        : base(learningRate, StateNamesFor(momentum, centered))
    {
        Lazy = lazy;
        Rho = CheckRange(rho, 0f, 1f, nameof(rho));
        Momentum = CheckRange(momentum, 0f, 1f, nameof(momentum));
        Epsilon = CheckRange(epsilon, 0f, float.PositiveInfinity, nameof(epsilon));
        Centered = centered;
    }

    /// <summary>ρ, the decay of the moving averages.</summary>
    public float Rho { get; }

    /// <summary>μ, the momentum coefficient (0 = no momentum).</summary>
    public float Momentum { get; }

    /// <summary>ε.</summary>
    public float Epsilon { get; }

    /// <summary>Whether the gradient is normalized by the estimated variance.</summary>
    public bool Centered { get; }

    /// <summary>
    /// Whether ε is added to the square root (Keras 2, PyTorch: η·g / (√s + ε)) rather than under it (Keras 3,
    /// TensorFlow, the default: η·g / √(s + ε)).
    /// </summary>
    public bool EpsilonOutsideSquareRoot { get; init; }

    /// <inheritdoc />
    protected override void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform) =>
        UpdateRanges(weights, gradient, state, [new ElementRange(0, weights.Length)], learningRate, transform);

    /// <summary>Built in: each parameter's update is its own, so many run on several workers at once.</summary>
    private protected override bool UpdatesConcurrently => true;

    private protected override void UpdateRanges(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, ReadOnlySpan<ElementRange> ranges,
        float learningRate, in GradientTransform transform)
    {
        int next = 1;
        Span<float> momentum = Momentum > 0f ? state[next++] : default;
        Span<float> averageGradient = Centered ? state[next++] : default;
        var rule = new Rule(learningRate, Rho, Momentum, Epsilon, Centered, EpsilonOutsideSquareRoot);
        FusedUpdate.Run(rule, transform, ranges, weights, gradient, state[0], averageGradient, momentum);
    }

    private static string[] StateNamesFor(float momentum, bool centered) =>
        (momentum > 0f, centered) switch
        {
            (false, false) => ["velocity"],
            (true, false) => ["velocity", "momentum"],
            (false, true) => ["velocity", "average_gradient"],
            (true, true) => ["velocity", "momentum", "average_gradient"],
        };

    private readonly struct Rule(float learningRate, float rho, float momentum, float epsilon, bool centered, bool epsilonOutside) : IUpdateRule
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Apply<T>(ref T weight, T gradient, ref T velocity, ref T averageGradient, ref T momentumBuffer) where T : struct, ILanes<T>
        {
            T r = T.Create(rho), oneMinusR = T.Create(1f - rho);
            velocity = r * velocity + oneMinusR * (gradient * gradient);
            T meanSquare = velocity;
            if (centered)
            {
                averageGradient = r * averageGradient + oneMinusR * gradient;
                meanSquare = velocity - averageGradient * averageGradient;
            }
            T root = epsilonOutside ? T.Sqrt(meanSquare) + T.Create(epsilon) : T.Sqrt(meanSquare + T.Create(epsilon));
            T increment = T.Create(learningRate) * gradient / root;
            if (momentum > 0f)
            {
                momentumBuffer = T.Create(momentum) * momentumBuffer + increment;
                weight -= momentumBuffer;
            }
            else
            {
                weight -= increment;
            }
        }
    }
}
