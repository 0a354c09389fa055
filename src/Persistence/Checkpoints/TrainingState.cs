namespace NanoNet.Persistence;

/// <summary>
/// Where a training run is, besides its weights and optimizer: what a checkpoint stores so that
/// <c>Fit</c> can continue exactly (<c>model.Fit(..., seed: sameSeed, initialEpoch: state.Epoch)</c>).
/// </summary>
/// <remarks>
/// Every random draw of a NanoNet run is covered: weight initialisation is over once the weights exist
/// (they are in the checkpoint); epoch e's shuffle depends only on <c>Fit</c>'s seed and e, so
/// <see cref="Epoch"/> is the loader's whole state; any other generator with a state, such as
/// <c>ImageAugmentation.Random</c>, goes into <see cref="RandomStates"/> under a name of your choice.
/// The learning-rate schedule's position is the optimizer's <c>Iterations</c>, saved with its state.
/// </remarks>
public sealed class TrainingState
{
    /// <summary>Epochs completed (pass it to <c>Fit</c> as <c>initialEpoch</c>).</summary>
    public int Epoch { get; init; }

    /// <summary>Training batches completed over the whole run (informational: nothing in <c>Fit</c> depends on it).</summary>
    public long Step { get; init; }

    /// <summary>The states of the run's random generators by name, e.g. <c>["augmentation"] = augmentation.Random.State</c>.</summary>
    public Dictionary<string, RandomStreamState> RandomStates { get; init; } = new(StringComparer.Ordinal);

    /// <summary>When loaded: the optimizer's <c>Iterations</c> stored in the checkpoint (already restored into the model's optimizer).</summary>
    public long OptimizerIterations { get; init; }
}
