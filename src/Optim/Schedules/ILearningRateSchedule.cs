namespace NanoNet.Optim;

/// <summary>
/// A learning rate as a function of the step number, set on <see cref="Optimizer.Schedule"/>.
/// </summary>
/// <remarks>
/// The step is <see cref="Optimizer.Iterations"/> before the update: 0 for the first step, as in Keras's
/// <c>LearningRateSchedule</c>. Implementations must be pure (same step, same rate) and should not allocate.
/// </remarks>
public interface ILearningRateSchedule
{
    /// <summary>The learning rate for step <paramref name="step"/> (0-based), non-negative and finite.</summary>
    float LearningRate(long step);
}
