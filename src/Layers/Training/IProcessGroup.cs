namespace NanoNet.Layers;

/// <summary>
/// The processes of a data-parallel training run, as <c>Fit</c> sees them: set it as
/// <see cref="Model.ProcessGroup"/>. <c>Fit</c> then reads only this process's shard of every global
/// batch (<see cref="Data.MiniBatchLoader.ShardIndex"/>) and sums its epoch metrics across the
/// processes, so every process reports, and its callbacks decide on, the global loss and accuracy.
/// NanoNet itself knows nothing of the library behind it (NanoNet.Distributed implements it on MPI);
/// averaging the gradients is the separate <see cref="Optim.IGradientReducer"/> seam.
/// </summary>
public interface IProcessGroup
{
    /// <summary>This process's number, from 0 to <see cref="Size"/> − 1.</summary>
    int Rank { get; }

    /// <summary>Number of processes.</summary>
    int Size { get; }

    /// <summary>
    /// Replaces every value with its sum over the processes. A collective call: every process calls it at
    /// the same point with the same length, and all get the same sums.
    /// </summary>
    void SumAcrossProcesses(Span<double> values);
}
