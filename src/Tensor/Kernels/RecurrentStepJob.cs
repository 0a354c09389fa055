namespace NanoNet.Kernels;

/// <summary>
/// One time step of a recurrent kernel (<see cref="LstmKernels"/>, <see cref="GruKernels"/>,
/// <see cref="SimpleRnnKernels"/>) on bands of batch rows: the rows of a step are independent, so each step is
/// one parallel region over bands (about 8 rows per worker at least), and a row's arithmetic is the same whichever
/// band it lands in, so results do not depend on the thread count.
/// </summary>
internal abstract unsafe class RecurrentStepJob : ParallelJob
{
    /// <summary>N and T of the call.</summary>
    public int Batch, Steps;

    /// <summary>The processing step this region runs.</summary>
    public int Step;

    /// <summary>Workers to run the region on.</summary>
    public int Workers;

    /// <summary>Whether the input is read last step first (the mask column of processing step k is T−1−k).</summary>
    public bool GoBackwards;

    /// <summary>N×T mask (0 = skip the step), or null.</summary>
    public float* Mask;

    /// <summary>The packed B operand of every step's GEMM: R forwards, Rᵀ backwards.</summary>
    public PackedMatrix Recurrent = null!;

    private bool _backward;

    /// <summary>Sets the call's dimensions and direction; clears the mask.</summary>
    protected void Prepare(int batch, int steps, bool goBackwards, PackedMatrix recurrent, bool backward)
    {
        Batch = batch;
        Steps = steps;
        GoBackwards = goBackwards;
        Recurrent = recurrent;
        _backward = backward;
        Mask = null;
        // About 8 rows per worker at least: below that the region costs more than it saves.
        Workers = Math.Clamp(batch / 8, 1, Parallelism.CurrentMaxThreads);
    }

    /// <summary>Whether sequence <paramref name="row"/> skips the current step (its mask column, reversed when going backwards).</summary>
    protected bool Skipped(int row) =>
        Mask != null && Mask[row * Steps + RecurrentLayout.InputStep(Step, Steps, GoBackwards)] == 0f;

    /// <summary>Runs the current step on every worker.</summary>
    public void RunStep(int step)
    {
        Step = step;
        Parallelism.Run(this, Workers);
    }

    public override void RunWorker(int worker, int workerCount)
    {
        int band = (Batch + workerCount - 1) / workerCount;
        int first = worker * band, end = Math.Min(Batch, first + band);
        if (first >= end)
            return;
        if (_backward)
            BackwardRows(first, end);
        else
            ForwardRows(first, end);
    }

    /// <summary>The forward step for batch rows [first, end).</summary>
    protected abstract void ForwardRows(int first, int end);

    /// <summary>The backward step for batch rows [first, end).</summary>
    protected abstract void BackwardRows(int first, int end);
}
