namespace NanoNet.Optim;

/// <summary>
/// Piecewise-constant decay: η(step) = η₀ · γ^⌊step / stepSize⌋ — the rate is multiplied by γ every
/// <c>stepSize</c> steps (PyTorch's <c>StepLR</c>, Caffe's "step" policy).
/// </summary>
public sealed class StepDecay : ILearningRateSchedule
{
    /// <summary>Creates a step decay.</summary>
    /// <param name="initialLearningRate">η₀, the rate for steps [0, stepSize).</param>
    /// <param name="stepSize">Number of steps between two drops (positive).</param>
    /// <param name="gamma">γ, the factor applied at each drop, in (0, 1] typically.</param>
    public StepDecay(float initialLearningRate, long stepSize, float gamma = 0.1f)
    {
        InitialLearningRate = ScheduleChecks.CheckRate(initialLearningRate, nameof(initialLearningRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepSize);
        if (!(gamma >= 0f) || float.IsInfinity(gamma))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be a non-negative finite number.");
        StepSize = stepSize;
        Gamma = gamma;
    }

    /// <summary>η₀.</summary>
    public float InitialLearningRate { get; }

    /// <summary>Number of steps between two drops.</summary>
    public long StepSize { get; }

    /// <summary>γ, the factor applied at each drop.</summary>
    public float Gamma { get; }

    /// <inheritdoc />
    public float LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return (float)(InitialLearningRate * Math.Pow(Gamma, step / StepSize));
    }
}
