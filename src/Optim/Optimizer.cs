using NanoNet.Autograd;
using NanoNet.Optim.Kernels;

namespace NanoNet.Optim;

/// <summary>
/// The pluggable piece of the training loop: turns each parameter's gradient into an update.
/// </summary>
/// <remarks>
/// <para>
/// The training loop calls <see cref="Step"/> once per mini-batch with the model's parameters.
/// Subclasses implement <see cref="Update"/> for one parameter tensor as one fused pass. Any
/// per-parameter state (velocity, squared-gradient averages) lives in buffers named by
/// <see cref="StateNames"/>, allocated on a parameter's first step (so later steps do not allocate) and
/// kept <em>per parameter tensor</em>, by identity: the list given to <see cref="Step"/> may be
/// reordered, grow, or leave out frozen parameters between steps without mixing anyone's state.
/// Checkpoints save and load the state by parameter <em>name</em> (<see cref="GetState"/>,
/// <see cref="LoadState"/>).
/// </para>
/// <para>
/// One <see cref="Step"/> runs, in order: <b>reduce</b> (the optional <see cref="GradientReducer"/>,
/// e.g. a data-parallel all-reduce) → <b>clip</b> (by global norm, <see cref="GlobalClipNorm"/>, then by
/// value, <see cref="ClipValue"/>) → <b>regularize</b> (<see cref="L2"/>, <see cref="L1"/>) →
/// <b>update</b>. Clipping by value and regularization travel in the <see cref="GradientTransform"/>
/// given to <see cref="Update"/> and cost no extra pass. The learning rate may follow a
/// <see cref="Schedule"/>. Not thread-safe: one optimizer per model.
/// </para>
/// </remarks>
public abstract partial class Optimizer
{
    private readonly string[] _stateNames;
    private readonly ParameterStates _states = new();
    private readonly List<Tensor> _withGradients = [];   // reused by every Step: no allocation per step
    private TouchedRowMasks? _touchedRowMasks;             // a lazy step under a GradientReducer; reused
    private ElementRange[] _rowRanges = [];                 // the touched rows of one parameter as element ranges; reused
    private float _learningRate, _l1, _l2;
    private float? _clipValue, _globalClipNorm;

    /// <summary>Creates an optimizer with the given base learning rate and per-parameter state buffer names.</summary>
    /// <param name="learningRate">The base learning rate (positive).</param>
    /// <param name="stateNames">Names of the state buffers each parameter gets, in index order.</param>
    protected Optimizer(float learningRate, params string[] stateNames)
    {
        ArgumentNullException.ThrowIfNull(stateNames);
        LearningRate = learningRate;
        _stateNames = (string[])stateNames.Clone();
    }

    /// <summary>The base learning rate, used when no <see cref="Schedule"/> is set.</summary>
    public float LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value > 0f) || float.IsInfinity(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a positive finite number.");
            _learningRate = value;
        }
    }

    /// <summary>
    /// An optional learning-rate schedule. When set it replaces <see cref="LearningRate"/>: step number
    /// <see cref="Iterations"/> (0 for the first step) uses <c>Schedule.LearningRate(Iterations)</c>.
    /// </summary>
    public ILearningRateSchedule? Schedule { get; set; }

    /// <summary>The learning rate the next <see cref="Step"/> will use.</summary>
    public float CurrentLearningRate
    {
        get
        {
            if (Schedule is null)
                return _learningRate;
            float rate = Schedule.LearningRate(Iterations);
            if (!(rate >= 0f) || float.IsInfinity(rate))
                throw new InvalidOperationException($"The schedule returned learning rate {rate} at step {Iterations}; it must be a non-negative finite number.");
            return rate;
        }
    }

    /// <summary>
    /// Number of steps taken so far. While <see cref="Update"/> runs it is the number of steps before the
    /// current one, so the current step is number <c>Iterations + 1</c> (as in Adam's bias correction).
    /// </summary>
    public long Iterations { get; private set; }

    /// <summary>
    /// Bytes the last <see cref="Step"/> had to read and write in its update pass: per element updated, the weight
    /// (read and written), the gradient (read) and each state buffer (read and written). For the profiler's GB/s: the
    /// update is memory-bound. An embedding's untouched rows, skipped by a sparse-row step, are not counted.
    /// </summary>
    public double LastStepBytes { get; private set; }

    /// <summary>L2 regularization coefficient λ: adds λ·θ to each gradient (the gradient of ½·λ·‖θ‖²). 0 = off.</summary>
    /// <remarks>
    /// Same as PyTorch's <c>weight_decay</c>; a Keras <c>L2(l2)</c> regularizer (loss term l2·‖θ‖²)
    /// corresponds to λ = 2·l2. For decoupled weight decay use <see cref="AdamW"/>.
    /// </remarks>
    public float L2
    {
        get => _l2;
        set => _l2 = CheckCoefficient(value);
    }

    /// <summary>L1 regularization coefficient λ: adds λ·sign(θ) to each gradient (the gradient of λ·‖θ‖₁, sign(0) = 0). 0 = off.</summary>
    public float L1
    {
        get => _l1;
        set => _l1 = CheckCoefficient(value);
    }

    /// <summary>If set, each gradient element is clamped to [−ClipValue, ClipValue] (Keras's <c>clipvalue</c>).</summary>
    public float? ClipValue
    {
        get => _clipValue;
        set
        {
            if (value is float v)
                GradientClipping.CheckPositive(v, nameof(value));
            _clipValue = value;
        }
    }

    /// <summary>
    /// If set, all gradients of a step are scaled together so their global L2 norm is at most this value
    /// (Keras's <c>global_clipnorm</c>; see <see cref="GradientClipping.ClipByGlobalNorm"/>). Applied before
    /// <see cref="ClipValue"/>.
    /// </summary>
    public float? GlobalClipNorm
    {
        get => _globalClipNorm;
        set
        {
            if (value is float v)
                GradientClipping.CheckPositive(v, nameof(value));
            _globalClipNorm = value;
        }
    }

    /// <summary>
    /// The global gradient norm (before clipping, after <see cref="GradientReducer"/>) seen by the last
    /// step, or NaN if <see cref="GlobalClipNorm"/> was not set.
    /// </summary>
    public float LastGlobalNorm { get; private set; } = float.NaN;

    /// <summary>
    /// An optional hook called at the very start of every <see cref="Step"/>, before clipping, with the
    /// parameters that have a gradient: a data-parallel wrapper all-reduces and averages the gradients
    /// there. Null (the default) = no reduction. See <see cref="IGradientReducer"/>.
    /// </summary>
    public IGradientReducer? GradientReducer { get; set; }

    /// <summary>
    /// Whether the update is lazy (sparse-row), as TensorFlow Addons' <c>LazyAdam</c> and PyTorch's <c>SparseAdam</c>:
    /// for a parameter whose gradient only an embedding wrote this step (<see cref="Tensor.TouchedGradientRows"/>),
    /// only the rows the batch touched update their weights <em>and</em> their state (moments, velocities,
    /// accumulators); every other row keeps both, bit for bit. Off by default (Keras semantics: the state of every
    /// row decays on every step); set through the <c>lazy</c> argument of <see cref="Adam"/>, <see cref="AdamW"/>,
    /// <see cref="RmsProp"/>, <see cref="Adagrad"/>, <see cref="Momentum"/> and <see cref="Nesterov"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The touched rows get exactly the dense formula, with the global step count: Adam's bias correction uses
    /// t = <see cref="Iterations"/> + 1 however often the row was touched before (as <c>LazyAdam</c> does), and
    /// AdamW's decoupled decay shrinks the touched rows only. When every row is touched the step equals the dense
    /// one bit for bit. A parameter whose gradient may be non-zero anywhere (any dense parameter, an embedding table
    /// also used densely, or any parameter when <see cref="L1"/> or <see cref="L2"/> is set, since they add to every
    /// row's gradient) gets the dense update.
    /// </para>
    /// <para>
    /// Under a <see cref="GradientReducer"/> (data-parallel training) a row is updated on every process iff
    /// <em>any</em> process touched it (the reduced gradient of a touched row may be exactly zero, so the rows are
    /// not read from the values): each process's touched rows are combined with
    /// <see cref="IGradientReducer.SumTouchedRows"/> right after the gradients.
    /// </para>
    /// </remarks>
    public bool Lazy { get; private protected init; }

    /// <summary>Names of the state buffers kept per parameter, e.g. <c>["momentum", "velocity"]</c> for Adam.</summary>
    public IReadOnlyList<string> StateNames => _stateNames;

    /// <summary>
    /// Applies one update to every parameter that has a gradient: reduce (<see cref="GradientReducer"/>)
    /// → clip → regularize → update. Parameters without a gradient are skipped and keep their state.
    /// </summary>
    /// <param name="parameters">
    /// The parameters to train this step, in any order; it may differ from step to step (each parameter
    /// tensor keeps its own state).
    /// </param>
    public void Step(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        float learningRate = CurrentLearningRate;
        LastStepBytes = 0;

        List<Tensor> withGradients = _withGradients;
        withGradients.Clear();
        for (int i = 0; i < parameters.Count; i++)
            if (parameters[i].Grad is not null)
                withGradients.Add(parameters[i]);

        // Regularization adds to every row's gradient: then no row is untouched, and a lazy step is the dense one.
        bool lazy = Lazy && _l1 == 0f && _l2 == 0f;

        // 1. Reduce: combined gradients are what clipping and the update must see. Another process's
        // gradient may fill rows this one's embedding did not touch: the row hints no longer hold. A lazy
        // step records them first and combines them across the processes after the gradients.
        TouchedRowMasks? touchedByAnyProcess = null;
        if (GradientReducer is { } reducer)
        {
            if (lazy)
                (touchedByAnyProcess = _touchedRowMasks ??= new()).Record(withGradients);
            for (int i = 0; i < withGradients.Count; i++)
                withGradients[i].EnsureGrad();
            reducer.Reduce(withGradients);
            touchedByAnyProcess?.CombineAcrossProcesses(reducer);
        }

        // 2. Clip by global norm (a scale for the fused pass below, which also clips by value).
        float scale = 1f;
        LastGlobalNorm = float.NaN;
        if (_globalClipNorm is float maxNorm)
        {
            LastGlobalNorm = GradientClipping.GlobalNorm(withGradients);
            // The norm already read every gradient: a non-finite one is caught here, before any update.
            if (!float.IsFinite(LastGlobalNorm))
                throw NonFinite(withGradients, GradientClipping.FirstNonFinite(withGradients), updated: false);
            scale = GradientClipping.ScaleFor(LastGlobalNorm, maxNorm);
        }
        var transform = new GradientTransform(scale, _clipValue ?? float.PositiveInfinity, _l1, _l2);

        // 3 and 4. Regularize and update, fused: one pass per parameter, which also checks that the
        // gradient is finite (FusedUpdate; a custom Update that does not use it gets a separate check).
        // Every gradient's length is checked first, so a bad one leaves every weight as it was.
        for (int i = 0; i < withGradients.Count; i++)
            if (withGradients[i].Grad is { } gradient && gradient.Length != withGradients[i].Length)
                throw new ArgumentException($"Parameter {Describe(withGradients[i])} has {withGradients[i].Length} elements but its gradient has {gradient.Length}.", nameof(parameters));
        int firstNonFinite = touchedByAnyProcess is null && UpdatesConcurrently
            ? UpdateConcurrently(withGradients, lazy, learningRate, transform)
            : NotConcurrent;
        if (firstNonFinite == NotConcurrent)
        {
            firstNonFinite = -1;
            for (int i = 0; i < withGradients.Count; i++)
            {
                Tensor parameter = withGradients[i];
                if (parameter.Grad is not { } gradient)
                    continue;
                bool finite = UpdateParameter(parameter, gradient, touchedByAnyProcess, i, lazy, learningRate, transform, out long updated);
                LastStepBytes += BytesFor(updated);
                if (!finite && firstNonFinite < 0)
                    firstNonFinite = i;
            }
        }
        Iterations++;
        if (firstNonFinite >= 0)
            throw NonFinite(withGradients, firstNonFinite, updated: true);
        withGradients.Clear();
    }

    /// <summary>
    /// One parameter's fused update: its touched rows only when its gradient is known to be zero elsewhere (an embedding's,
    /// under plain SGD or a lazy step), else every element. False if its gradient held a NaN or an infinity.
    /// </summary>
    private bool UpdateParameter(Tensor parameter, Tensor gradient, TouchedRowMasks? touchedByAnyProcess, int index, bool lazy,
        float learningRate, in GradientTransform transform, out long updated)
    {
        FusedUpdate.ResetCheck();
        updated = parameter.Length;
        if (touchedByAnyProcess is not null)
            updated = UpdateRows(parameter, gradient, touchedByAnyProcess.For(index), learningRate, transform);
        else if (UpdatesTouchedRows(parameter, lazy))
            updated = UpdateRows(parameter, gradient, new TouchedRowMasks.Runs(parameter.TouchedGradientRows!), learningRate, transform);
        else
            Update(parameter.Span, gradient.Span, StateOf(parameter), learningRate, transform);
        return FusedUpdate.Checked ? !FusedUpdate.NonFiniteGradientSeen : double.IsFinite(GradientClipping.SumOfSquares(gradient.Span));
    }

    /// <summary>Whether <paramref name="parameter"/>'s update covers only the rows its gradient touched (see <see cref="UpdateParameter"/>).</summary>
    private bool UpdatesTouchedRows(Tensor parameter, bool lazy) =>
        parameter.TouchedGradientRows is not null && (lazy || SkipsZeroGradients && _l1 == 0f && _l2 == 0f);

    /// <summary>The bytes an update of <paramref name="elements"/> elements moves: weight read and written, gradient read, each state read and written.</summary>
    private double BytesFor(long elements) => sizeof(float) * (double)elements * (3 + 2 * _stateNames.Length);

    /// <summary>
    /// Whether <see cref="Update"/> leaves a weight unchanged when its gradient is zero (after clipping, with no
    /// regularization), and keeps no state that a zero gradient would change: then a gradient known to be zero
    /// outside some rows (<see cref="Tensor.TouchedGradientRows"/>, an embedding's) is applied to those rows only,
    /// with the same result. True for plain SGD and Adagrad; false for momentum, RMSprop, Adam and the others, whose
    /// state decays on every step (Keras semantics; <see cref="Lazy"/> opts out of it).
    /// </summary>
    private protected virtual bool SkipsZeroGradients => false;

    /// <summary>
    /// The update restricted to the touched rows: one element range per run of consecutive rows, all in one fused
    /// pass over the ranges, with the same rows of the state buffers (<see cref="UpdateRanges"/>). Returns the number
    /// of elements updated.
    /// </summary>
    private long UpdateRows(Tensor parameter, Tensor gradient, TouchedRowMasks.Runs rows, float learningRate, in GradientTransform transform)
    {
        if (rows.RowCount == 0)
            return 0;
        int width = parameter.Length / rows.RowCount, count = 0;
        long elements = 0;
        for (int row = 0; rows.NextRun(row, out int start, out int length); row = start + length)
        {
            if (count == _rowRanges.Length)
                Array.Resize(ref _rowRanges, Math.Max(64, 2 * count));   // grows to the most runs a step has seen, then stays
            _rowRanges[count++] = new ElementRange(start * width, length * width);
            elements += (long)length * width;
        }
        UpdateRanges(parameter.Span, gradient.Span, StateOf(parameter), _rowRanges.AsSpan(0, count), learningRate, transform);
        return elements;
    }

    /// <summary>
    /// <see cref="Update"/> restricted to the elements in <paramref name="ranges"/> (of the weights, the gradient and
    /// every state buffer, which are passed whole): what a sparse-row step runs. The built-in optimizers implement
    /// their dense <see cref="Update"/> as this one over a single range.
    /// </summary>
    private protected virtual void UpdateRanges(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, ReadOnlySpan<ElementRange> ranges,
        float learningRate, in GradientTransform transform) =>
        throw new NotSupportedException($"{GetType().Name} has no sparse-row update.");

    private NonFiniteGradientException NonFinite(List<Tensor> withGradients, int index, bool updated)
    {
        Tensor parameter = withGradients[index];
        withGradients.Clear();
        string effect = updated
            ? "This step's update has been applied, so the weights are no longer finite: restore them from a checkpoint."
            : "No weight was updated.";
        return new NonFiniteGradientException(parameter,
            $"The gradient of parameter {Describe(parameter)} holds NaN or infinite values (at step {Iterations + (updated ? 0 : 1)} of {GetType().Name}). {effect}");
    }

    /// <summary>
    /// Updates one parameter tensor in place from its gradient, in one pass: each gradient element goes
    /// through <paramref name="transform"/> (clipping, regularization) before the update rule.
    /// </summary>
    /// <param name="weights">The parameter values, updated in place.</param>
    /// <param name="gradient">The raw gradient (same length), not modified.</param>
    /// <param name="state">
    /// This parameter's state buffers, one per <see cref="StateNames"/> entry (in that order), each as
    /// long as <paramref name="weights"/>; empty for an optimizer without state.
    /// </param>
    /// <param name="learningRate">This step's learning rate (after the schedule).</param>
    /// <param name="transform">Clipping and regularization to apply to each gradient element.</param>
    protected abstract void Update(Span<float> weights, ReadOnlySpan<float> gradient, float[][] state, float learningRate, in GradientTransform transform);

    /// <summary>
    /// The state buffers of <paramref name="parameter"/>, found by the tensor's identity; on its first
    /// step allocated with one element per parameter element and filled by <see cref="InitializeState"/>.
    /// </summary>
    private float[][] StateOf(Tensor parameter)
    {
        if (_stateNames.Length == 0)
            return [];   // an empty array literal is a cached singleton: no allocation, no entry
        if (!_states.TryGet(parameter, out float[][]? state))
        {
            state = NewState(parameter.Length);
            _states.Add(parameter, state);
        }
        else if (state[0].Length != parameter.Length)
        {
            throw new InvalidOperationException(
                $"Optimizer state for parameter {Describe(parameter)} holds {state[0].Length} elements but the parameter now has {parameter.Length}. " +
                "Call ResetState() after changing a parameter's size.");
        }
        return state;
    }

    private float[][] NewState(int length)
    {
        var state = new float[_stateNames.Length][];
        for (int k = 0; k < state.Length; k++)
        {
            state[k] = new float[length];
            InitializeState(k, state[k]);
        }
        return state;
    }

    private static string Describe(Tensor parameter) =>
        string.IsNullOrEmpty(parameter.Name) ? $"(unnamed, shape {Shapes.Format(parameter.Shape)})" : $"\"{parameter.Name}\"";

    /// <summary>Fills a newly allocated state buffer (number <paramref name="index"/> in <see cref="StateNames"/>); the default leaves zeros.</summary>
    protected virtual void InitializeState(int index, Span<float> buffer) { }

    /// <summary>
    /// Every allocated state buffer, labelled with its parameter's <see cref="Tensor.Name"/>: parameter by
    /// parameter in the order they were first stepped, each in <see cref="StateNames"/> order. The values
    /// are live views of the optimizer's buffers; together with <see cref="Iterations"/> they are what a
    /// checkpoint needs to resume training (see <see cref="LoadState"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// Two parameters that have state share a name, or one has no name, so the state could not be
    /// matched back to parameters; the message names them.
    /// </exception>
    public IReadOnlyList<OptimizerStateBuffer> GetState() => _states.ToBuffers(_stateNames, GetType().Name);

    /// <summary>
    /// Replaces the state with a saved one (e.g. from <see cref="GetState"/> of a checkpoint), matching
    /// each buffer to the parameter of the same <see cref="Tensor.Name"/> in <paramref name="parameters"/>
    /// (in any order). A parameter without saved buffers, and any state buffer not given for a parameter
    /// that has some, starts as on a first step. Nothing changes if the check fails.
    /// </summary>
    /// <param name="iterations">The saved <see cref="Iterations"/>.</param>
    /// <param name="buffers">The saved buffers; values are copied.</param>
    /// <param name="parameters">The parameters that will be trained (the tensors <see cref="Step"/> will get).</param>
    /// <exception cref="ArgumentException">
    /// The buffers do not fit: the message lists every buffer whose parameter is not in
    /// <paramref name="parameters"/>, every unknown state name, every length mismatch (expected vs actual),
    /// buffers given twice, and parameters sharing a name.
    /// </exception>
    public void LoadState(long iterations, IEnumerable<OptimizerStateBuffer> buffers, IReadOnlyList<Tensor> parameters)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        ArgumentNullException.ThrowIfNull(buffers);
        ArgumentNullException.ThrowIfNull(parameters);
        List<ParameterStates.Match> matches = ParameterStates.MatchByName(buffers, parameters, _stateNames, GetType().Name);

        ResetState();
        foreach (ParameterStates.Match match in matches)
        {
            Tensor parameter = parameters[match.ParameterIndex];
            if (!_states.TryGet(parameter, out float[][]? state))
            {
                state = NewState(parameter.Length);
                _states.Add(parameter, state);
            }
            match.Values.Span.CopyTo(state[match.StateIndex]);
        }
        Iterations = iterations;
    }

    /// <summary>Forgets all state (and the parameters it belonged to) and sets <see cref="Iterations"/> back to 0; settings are kept.</summary>
    public void ResetState()
    {
        _states.Clear();
        Iterations = 0;
    }

    /// <summary>Sets every parameter's gradient to zero (call between steps).</summary>
    public static void ZeroGradients(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        for (int i = 0; i < parameters.Count; i++)
            parameters[i].ZeroGrad();
    }

    private static float CheckCoefficient(float value)
    {
        if (!(value >= 0f) || float.IsInfinity(value))
            throw new ArgumentOutOfRangeException(nameof(value), value, "A regularization coefficient must be a non-negative finite number.");
        return value;
    }

    /// <summary>Checks a hyper-parameter lies in [<paramref name="min"/>, <paramref name="max"/>) and returns it.</summary>
    private protected static float CheckRange(float value, float min, float max, string name)
    {
        if (!(value >= min && value < max))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{min}, {max}).");
        return value;
    }
}
