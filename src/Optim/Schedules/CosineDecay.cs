namespace NanoNet.Optim;

/// <summary>
/// Cosine decay with optional linear warm-up (Keras 3's <c>CosineDecay</c>, from SGDR, Loshchilov &amp; Hutter).
/// </summary>
/// <remarks>
/// Without warm-up (<c>warmupTarget</c> null), with s = min(step, decaySteps):
/// <code>η(step) = η₀ · ((1 − α) · ½(1 + cos(π · s / decaySteps)) + α)</code>
/// With warm-up, the rate first rises linearly from η₀ to <c>warmupTarget</c> over
/// <c>warmupSteps</c> steps, then decays as above from <c>warmupTarget</c> (in place of η₀) over the
/// next <c>decaySteps</c> steps:
/// <code>
/// step &lt; W:  η = η₀ + (target − η₀) · step / W
/// otherwise: η = target · ((1 − α) · ½(1 + cos(π · min(step − W, decaySteps) / decaySteps)) + α)
/// </code>
/// After the decay the rate stays at α times its peak. A common use: η₀ = 0, target = peak rate.
/// </remarks>
public sealed class CosineDecay : ILearningRateSchedule
{
    /// <summary>Creates a cosine decay.</summary>
    /// <param name="initialLearningRate">η₀: the starting rate (of the warm-up if there is one, else of the decay).</param>
    /// <param name="decaySteps">Length of the cosine decay in steps (positive).</param>
    /// <param name="alpha">α: the final rate as a fraction of the peak, in [0, 1].</param>
    /// <param name="warmupTarget">The rate reached at the end of the warm-up; null for no warm-up.</param>
    /// <param name="warmupSteps">Length of the linear warm-up (used only with <paramref name="warmupTarget"/>).</param>
    public CosineDecay(float initialLearningRate, long decaySteps, float alpha = 0f, float? warmupTarget = null, long warmupSteps = 0)
    {
        InitialLearningRate = ScheduleChecks.CheckRate(initialLearningRate, nameof(initialLearningRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(decaySteps);
        if (!(alpha >= 0f && alpha <= 1f))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1].");
        if (warmupTarget is float target)
            ScheduleChecks.CheckRate(target, nameof(warmupTarget));
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        DecaySteps = decaySteps;
        Alpha = alpha;
        WarmupTarget = warmupTarget;
        WarmupSteps = warmupTarget is null ? 0 : warmupSteps;
    }

    /// <summary>η₀.</summary>
    public float InitialLearningRate { get; }

    /// <summary>Length of the cosine decay in steps.</summary>
    public long DecaySteps { get; }

    /// <summary>α: the final rate as a fraction of the peak.</summary>
    public float Alpha { get; }

    /// <summary>The rate reached at the end of the warm-up, or null for no warm-up.</summary>
    public float? WarmupTarget { get; }

    /// <summary>Length of the linear warm-up in steps (0 without warm-up).</summary>
    public long WarmupSteps { get; }

    /// <inheritdoc />
    public float LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (WarmupTarget is not float target)
            return (float)(InitialLearningRate * Decayed(Math.Min(step, DecaySteps)));
        if (step < WarmupSteps)
            return (float)(InitialLearningRate + (target - (double)InitialLearningRate) * step / WarmupSteps);
        return (float)(target * Decayed(Math.Min(step - WarmupSteps, DecaySteps)));
    }

    /// <summary>(1 − α) · ½(1 + cos(π · s / decaySteps)) + α, for s in [0, decaySteps].</summary>
    private double Decayed(long s)
    {
        double cosine = 0.5 * (1.0 + Math.Cos(Math.PI * s / DecaySteps));
        return (1.0 - Alpha) * cosine + Alpha;
    }
}
