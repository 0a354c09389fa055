namespace NanoNet.Optim;

/// <summary>
/// η(step) = η₀ / (1 + r · step / decaySteps), or with <c>staircase</c> η₀ / (1 + r · ⌊step / decaySteps⌋)
/// (Keras's <c>InverseTimeDecay</c>).
/// </summary>
/// <remarks>
/// With the default <c>decaySteps</c> = 1 this is the legacy Keras optimizer argument <c>decay</c>:
/// η₀ / (1 + decay · step).
/// </remarks>
public sealed class InverseTimeDecay : ILearningRateSchedule
{
    /// <summary>Creates an inverse-time decay.</summary>
    /// <param name="initialLearningRate">η₀, the rate at step 0.</param>
    /// <param name="decayRate">r (non-negative); the legacy Keras <c>decay</c> when <paramref name="decaySteps"/> is 1.</param>
    /// <param name="decaySteps">Step unit of the decay (positive).</param>
    /// <param name="staircase">Whether to use ⌊step / decaySteps⌋ instead of step / decaySteps.</param>
    public InverseTimeDecay(float initialLearningRate, float decayRate, long decaySteps = 1, bool staircase = false)
    {
        InitialLearningRate = ScheduleChecks.CheckRate(initialLearningRate, nameof(initialLearningRate));
        if (!(decayRate >= 0f) || float.IsInfinity(decayRate))
            throw new ArgumentOutOfRangeException(nameof(decayRate), decayRate, "decayRate must be a non-negative finite number.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(decaySteps);
        DecayRate = decayRate;
        DecaySteps = decaySteps;
        Staircase = staircase;
    }

    /// <summary>η₀.</summary>
    public float InitialLearningRate { get; }

    /// <summary>r.</summary>
    public float DecayRate { get; }

    /// <summary>Step unit of the decay.</summary>
    public long DecaySteps { get; }

    /// <summary>Whether step / decaySteps is rounded down.</summary>
    public bool Staircase { get; }

    /// <inheritdoc />
    public float LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        double t = Staircase ? step / DecaySteps : (double)step / DecaySteps;
        return (float)(InitialLearningRate / (1.0 + DecayRate * t));
    }
}
