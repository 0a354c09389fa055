namespace NanoNet.Optim;

/// <summary>
/// η(step) = η₀ · r^(step / decaySteps), or with <c>staircase</c> η₀ · r^⌊step / decaySteps⌋
/// (Keras's <c>ExponentialDecay</c>).
/// </summary>
public sealed class ExponentialDecay : ILearningRateSchedule
{
    /// <summary>Creates an exponential decay.</summary>
    /// <param name="initialLearningRate">η₀, the rate at step 0.</param>
    /// <param name="decaySteps">Number of steps over which the rate is multiplied by <paramref name="decayRate"/> (positive).</param>
    /// <param name="decayRate">r, the factor per <paramref name="decaySteps"/> steps (non-negative).</param>
    /// <param name="staircase">Whether to decay in discrete drops (integer exponent) instead of smoothly.</param>
    public ExponentialDecay(float initialLearningRate, long decaySteps, float decayRate, bool staircase = false)
    {
        InitialLearningRate = ScheduleChecks.CheckRate(initialLearningRate, nameof(initialLearningRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(decaySteps);
        if (!(decayRate >= 0f) || float.IsInfinity(decayRate))
            throw new ArgumentOutOfRangeException(nameof(decayRate), decayRate, "decayRate must be a non-negative finite number.");
        DecaySteps = decaySteps;
        DecayRate = decayRate;
        Staircase = staircase;
    }

    /// <summary>η₀.</summary>
    public float InitialLearningRate { get; }

    /// <summary>Number of steps over which the rate is multiplied by <see cref="DecayRate"/>.</summary>
    public long DecaySteps { get; }

    /// <summary>r, the factor per <see cref="DecaySteps"/> steps.</summary>
    public float DecayRate { get; }

    /// <summary>Whether the exponent is rounded down to an integer.</summary>
    public bool Staircase { get; }

    /// <inheritdoc />
    public float LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        double exponent = Staircase ? step / DecaySteps : (double)step / DecaySteps;
        return (float)(InitialLearningRate * Math.Pow(DecayRate, exponent));
    }
}
