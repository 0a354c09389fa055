namespace NanoNet.Optim;

/// <summary>η(step) = η₀: the same rate at every step.</summary>
public sealed class ConstantLearningRate : ILearningRateSchedule
{
    /// <summary>Creates a constant schedule.</summary>
    /// <param name="learningRate">The rate (non-negative, finite).</param>
    public ConstantLearningRate(float learningRate) =>
        Rate = ScheduleChecks.CheckRate(learningRate, nameof(learningRate));

    /// <summary>The rate returned for every step.</summary>
    public float Rate { get; }

    /// <inheritdoc />
    public float LearningRate(long step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return Rate;
    }
}
