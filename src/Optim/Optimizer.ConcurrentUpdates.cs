using NanoNet.Autograd;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// Many small parameters updated at once on several workers, each worker taking whole parameters.
/// </summary>
/// <remarks>
/// <para>
/// A parameter below <see cref="FusedUpdate.ParallelThreshold"/> elements (touched rows: below
/// <see cref="FusedUpdate.ScatteredParallelThreshold"/>) is updated on one thread (split, it would cost
/// a region per parameter), so a model of many small parameters used to run its whole update on the caller while the
/// other workers waited: imdb-train at 2 threads spent 0.26–0.38 ms a step there, the embedding's touched rows, the LSTM's
/// W and R and the Dense layer one after another. Now one region updates them all: the caller first takes the
/// parameters only it may run (touched rows: their element ranges live in one reused buffer), then every worker takes
/// the small dense ones, largest first, as it comes free. Parameters big enough to be split by the fused update itself
/// run before the region, with every worker, as before: since the twenty-fifth sitting the IMDB table's ~1,560 touched
/// rows are such a one (they took the caller 0.23 ms while the helper's dense ones took 0.03).
/// </para>
/// <para>
/// Each parameter's update is element-wise and touches only its own weights, gradient and state, so which worker runs it
/// changes no bit; the first parameter (in the list's order) whose gradient held a NaN or an infinity is still the one
/// reported. Only the built-in optimizers opt in (<see cref="UpdatesConcurrently"/>): a custom <see cref="Update"/> may
/// not be safe to run on two threads at once.
/// </para>
/// </remarks>
public abstract partial class Optimizer
{
    /// <summary><see cref="UpdateConcurrently"/>'s answer when it did not run: the caller updates one parameter after another.</summary>
    private const int NotConcurrent = int.MinValue;

    /// <summary>Below this many elements in all, a region's wake-up and join cost about what a second worker saves.</summary>
    private const long MinConcurrentElements = 1 << 15;

    /// <summary>Whether this optimizer's updates of different parameters may run on different threads at once.</summary>
    private protected virtual bool UpdatesConcurrently => false;

    // Reused from step to step (no allocation per step): the parameters' order in the region, and each one's result.
    private int[] _regionOrder = [];
    private bool[] _regionFinite = [];
    private long[] _regionUpdated = [];
    private ParameterUpdateJob? _regionJob;

    /// <summary>
    /// Updates every parameter of <paramref name="withGradients"/>, the small ones in one region (see the class remarks).
    /// Returns the index of the first parameter whose gradient was not finite (−1: none), or <see cref="NotConcurrent"/>
    /// without updating anything when one worker would do as well.
    /// </summary>
    private int UpdateConcurrently(List<Tensor> withGradients, bool lazy, float learningRate, in GradientTransform transform)
    {
        int count = withGradients.Count;
        if (Parallelism.CurrentMaxThreads < 2 || count < 2)
            return NotConcurrent;
        if (_regionOrder.Length < count)
        {
            _regionOrder = new int[count];
            _regionFinite = new bool[count];
            _regionUpdated = new long[count];
        }
        // Sort the parameters: in front the caller's (touched rows), then the small dense ones; the big ones from the back.
        int callerOnly = 0, small = 0, big = 0;
        long elements = 0;
        for (int i = 0; i < count; i++)
        {
            Tensor parameter = withGradients[i];
            if (parameter.Grad is null)
                continue;
            bool rows = UpdatesTouchedRows(parameter, lazy);
            long size = rows ? TouchedElements(parameter) : parameter.Length;
            if (FusedUpdate.SplitsOverWorkers(size, scattered: rows))
            {
                _regionOrder[count - ++big] = i;
                continue;
            }
            elements += size;
            if (rows)
            {
                // Shift the small dense ones found so far up by one: the caller's stay in front.
                _regionOrder[callerOnly + small] = _regionOrder[callerOnly];
                _regionOrder[callerOnly++] = i;
            }
            else
            {
                _regionOrder[callerOnly + small++] = i;
            }
        }
        if (elements < MinConcurrentElements || small == 0 || callerOnly + small < 2)
            return NotConcurrent;

        // The states are found (or made, on a first step) here, in the list's order as one thread makes them (a checkpoint
        // lists them in that order), so that inside the region every thread only reads the table.
        for (int i = 0; i < count; i++)
            if (withGradients[i].Grad is not null)
                StateOf(withGradients[i]);

        // 1. The big parameters, each split over every worker by the fused update.
        int firstNonFinite = -1;
        for (int b = 1; b <= big; b++)
        {
            int i = _regionOrder[count - b];
            Tensor parameter = withGradients[i];
            bool finite = UpdateParameter(parameter, parameter.Grad!, null, i, lazy, learningRate, transform, out long updated);
            LastStepBytes += BytesFor(updated);
            if (!finite && (firstNonFinite < 0 || i < firstNonFinite))
                firstNonFinite = i;
        }

        // 2. The small ones in one region, the dense ones largest first: the last taken are the shortest.
        SortLargestFirst(withGradients, callerOnly, callerOnly + small);
        var job = _regionJob ??= new ParameterUpdateJob(this);
        job.Set(withGradients, callerOnly, callerOnly + small, lazy, learningRate, transform);
        Parallelism.Run(job, Parallelism.CurrentMaxThreads);
        for (int k = 0; k < callerOnly + small; k++)
        {
            int i = _regionOrder[k];
            LastStepBytes += BytesFor(_regionUpdated[i]);
            if (!_regionFinite[i] && (firstNonFinite < 0 || i < firstNonFinite))
                firstNonFinite = i;
        }
        return firstNonFinite;
    }

    /// <summary>How many elements an update of <paramref name="parameter"/>'s touched rows covers (as <see cref="UpdateRows"/> counts them).</summary>
    private static long TouchedElements(Tensor parameter)
    {
        GradientRows rows = parameter.TouchedGradientRows!;
        return rows.RowCount == 0 ? 0 : (long)rows.Count * (parameter.Length / rows.RowCount);
    }

    /// <summary>
    /// Orders <c>_regionOrder[from..to)</c> by element count, largest first, ties by index (the same order on every run):
    /// an insertion sort, as the lists are short and a comparer would allocate.
    /// </summary>
    private void SortLargestFirst(List<Tensor> parameters, int from, int to)
    {
        for (int k = from + 1; k < to; k++)
        {
            int index = _regionOrder[k], length = parameters[index].Length, at = k;
            for (; at > from; at--)
            {
                int before = _regionOrder[at - 1];
                if (parameters[before].Length > length || parameters[before].Length == length && before < index)
                    break;
                _regionOrder[at] = before;
            }
            _regionOrder[at] = index;
        }
    }

    /// <summary>The region: worker 0 runs the caller's parameters, then every worker takes the next small dense one.</summary>
    private sealed class ParameterUpdateJob(Optimizer owner) : ParallelJob
    {
        private List<Tensor> _parameters = null!;
        private int _callerOnly, _total, _next;
        private bool _lazy;
        private float _learningRate;
        private GradientTransform _transform;

        public void Set(List<Tensor> parameters, int callerOnly, int total, bool lazy, float learningRate, in GradientTransform transform) =>
            (_parameters, _callerOnly, _total, _next, _lazy, _learningRate, _transform) = (parameters, callerOnly, total, callerOnly, lazy, learningRate, transform);

        public override void RunWorker(int worker, int workerCount)
        {
            if (worker == 0)
                for (int k = 0; k < _callerOnly; k++)
                    Run(owner._regionOrder[k]);
            int taken;
            while ((taken = Interlocked.Increment(ref _next) - 1) < _total)
                Run(owner._regionOrder[taken]);
        }

        private void Run(int index)
        {
            Tensor parameter = _parameters[index];
            owner._regionFinite[index] = owner.UpdateParameter(parameter, parameter.Grad!, null, index, _lazy, _learningRate, _transform,
                out owner._regionUpdated[index]);
        }
    }
}
