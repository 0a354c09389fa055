namespace NanoNet.Distributed;

/// <summary>
/// What the gradient all-reduces of a <see cref="DataParallel"/> run cost, summed over its steps.
/// </summary>
/// <param name="Steps">Optimizer steps reduced.</param>
/// <param name="Buckets">Buckets per step.</param>
/// <param name="BytesPerStep">Gradient bytes each process all-reduces per step.</param>
/// <param name="BucketsStartedDuringBackward">Buckets whose <c>MPI_Iallreduce</c> started during backward (the rest start at the optimizer step).</param>
/// <param name="ReduceSeconds">Time inside the optimizer's reduce step (starting the remaining buckets, waiting, averaging): the part of communication that training waits for.</param>
/// <param name="WaitSeconds">The part of <paramref name="ReduceSeconds"/> spent in <c>MPI_Wait</c>.</param>
/// <param name="BackwardSeconds">Time from the first gradient of a step being ready to its reduce step: the window in which started buckets overlap with computation.</param>
public readonly record struct AllReduceStatistics(long Steps = 0, int Buckets = 0, long BytesPerStep = 0, long BucketsStartedDuringBackward = 0,
    double ReduceSeconds = 0, double WaitSeconds = 0, double BackwardSeconds = 0)
{
    /// <summary>Mean exposed all-reduce time per step, in milliseconds.</summary>
    public double ReduceMillisecondsPerStep => Steps == 0 ? 0 : 1000 * ReduceSeconds / Steps;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Steps} steps, {Buckets} buckets of ≤ {BytesPerStep / Math.Max(1, Buckets) / 1024.0:F0} KB ({BytesPerStep / 1048576.0:F2} MB per step), " +
        $"{BucketsStartedDuringBackward} of {Steps * Buckets} buckets started during backward; reduce step {ReduceMillisecondsPerStep:F2} ms/step " +
        $"(waiting {(Steps == 0 ? 0 : 1000 * WaitSeconds / Steps):F2} ms), overlap window {(Steps == 0 ? 0 : 1000 * BackwardSeconds / Steps):F2} ms/step";
}
