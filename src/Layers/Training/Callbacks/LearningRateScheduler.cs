using NanoNet.Optim;

namespace NanoNet.Layers;

/// <summary>
/// Sets the learning rate at the start of every epoch from <c>schedule(epoch, lr)</c> (Keras's
/// <c>LearningRateScheduler</c>): <c>epoch</c> is the 0-based epoch index, as in Keras, and <c>lr</c> the
/// current <see cref="Optimizer.LearningRate"/>; the result becomes the learning rate for that epoch.
/// </summary>
/// <remarks>
/// For a rate that changes every step use an <see cref="Optimizer.Schedule"/> instead; the two cannot be
/// combined (the schedule would override this), so <see cref="OnTrainBegin"/> throws when the optimizer has one.
/// </remarks>
/// <example>
/// <code>
/// // Keras's docstring example: keep the rate for 10 epochs, then decay it by e^−0.1 per epoch.
/// var scheduler = new LearningRateScheduler((epoch, lr) => epoch &lt; 10 ? lr : lr * MathF.Exp(-0.1f));
/// </code>
/// </example>
/// <param name="schedule">The 0-based epoch index and the current rate → the epoch's rate (positive, finite).</param>
/// <param name="verbose">Print the new rate when it changes (to the model's output).</param>
public sealed class LearningRateScheduler(Func<int, float, float> schedule, bool verbose = false) : Callback
{
    private readonly Func<int, float, float> _schedule = schedule ?? throw new ArgumentNullException(nameof(schedule));

    /// <inheritdoc />
    public override void OnTrainBegin()
    {
        if (RequireModel().Optimizer is { Schedule: not null } optimizer)
            throw new InvalidOperationException(
                $"{nameof(LearningRateScheduler)} sets Optimizer.LearningRate, but {optimizer.GetType().Name} has a Schedule that overrides it; remove one of the two.");
    }

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch)
    {
        Model model = RequireModel();
        Optimizer optimizer = model.Optimizer ?? throw new InvalidOperationException("The model is not compiled.");
        float current = optimizer.LearningRate, next = _schedule(epoch - 1, current);
        if (!(next > 0f) || float.IsInfinity(next))
            throw new InvalidOperationException($"{nameof(LearningRateScheduler)}: the schedule returned {next} for epoch index {epoch - 1}; a learning rate must be a positive finite number.");
        optimizer.LearningRate = next;
        if (verbose && next != current)
            model.Output.WriteLine($"Epoch {epoch}: {nameof(LearningRateScheduler)} setting learning rate to {next}.");
    }
}
