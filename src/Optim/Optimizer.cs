namespace NanoNet.Optim;

/// <summary>
/// The pluggable piece of the training loop: turns each parameter's gradient into an update.
/// </summary>
/// <remarks>
/// <para>
/// The training loop calls <see cref="Step"/> once per mini-batch with the model's parameters (in the
/// same order every time). Subclasses implement <see cref="Update"/> for one parameter tensor as one
/// fused pass; any per-parameter state (velocity, squared-gradient averages) is kept per <c>slot</c>,
/// the parameter's index in that list, in buffers named by <see cref="StateNames"/> and allocated on the
/// first step (<see cref="SlotState"/>), so later steps do not allocate.
/// </para>
/// <para>
/// Every optimizer also supports, through the <see cref="GradientTransform"/> passed to
/// <see cref="Update"/>: gradient clipping by global norm (<see cref="GlobalClipNorm"/>) and by value
/// (<see cref="ClipValue"/>), then L2 and L1 regularization (<see cref="L2"/>, <see cref="L1"/>); and a
/// learning-rate <see cref="Schedule"/>. Not thread-safe: one optimizer per model.
/// </para>
/// </remarks>
public abstract class Optimizer
{
    private readonly string[] _stateNames;
    private readonly List<float[][]?> _slots = [];
    private float _learningRate, _l1, _l2;
    private float? _clipValue, _globalClipNorm;

    /// <summary>Creates an optimizer with the given base learning rate and per-slot state buffer names.</summary>
    /// <param name="learningRate">The base learning rate (positive).</param>
    /// <param name="stateNames">Names of the state buffers each parameter slot gets, in index order.</param>
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

    /// <summary>The global gradient norm (before clipping) seen by the last step, or NaN if <see cref="GlobalClipNorm"/> was not set.</summary>
    public float LastGlobalNorm { get; private set; } = float.NaN;

    /// <summary>Names of the state buffers kept per parameter slot, e.g. <c>["momentum", "velocity"]</c> for Adam.</summary>
    public IReadOnlyList<string> StateNames => _stateNames;

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step(IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        float learningRate = CurrentLearningRate;

        float scale = 1f;
        LastGlobalNorm = float.NaN;
        if (_globalClipNorm is float maxNorm)
        {
            LastGlobalNorm = GradientClipping.GlobalNorm(parameters);
            scale = GradientClipping.ScaleFor(LastGlobalNorm, maxNorm);
        }
        var transform = new GradientTransform(scale, _clipValue ?? float.PositiveInfinity, _l1, _l2);

        for (int slot = 0; slot < parameters.Count; slot++)
        {
            Tensor parameter = parameters[slot];
            if (parameter.Grad is not { } gradient)
                continue;
            if (gradient.Length != parameter.Length)
                throw new ArgumentException($"Parameter {slot} ({parameter.Name ?? "unnamed"}) has {parameter.Length} elements but its gradient has {gradient.Length}.", nameof(parameters));
            Update(slot, parameter.Span, gradient.Span, learningRate, transform);
        }
        Iterations++;
    }

    /// <summary>
    /// Updates one parameter tensor in place from its gradient, in one pass: each gradient element goes
    /// through <paramref name="transform"/> (clipping, regularization) before the update rule.
    /// </summary>
    /// <param name="slot">The parameter's index in the list passed to <see cref="Step"/>.</param>
    /// <param name="weights">The parameter values, updated in place.</param>
    /// <param name="gradient">The raw gradient (same length), not modified.</param>
    /// <param name="learningRate">This step's learning rate (after the schedule).</param>
    /// <param name="transform">Clipping and regularization to apply to each gradient element.</param>
    protected abstract void Update(int slot, Span<float> weights, ReadOnlySpan<float> gradient, float learningRate, in GradientTransform transform);

    /// <summary>
    /// The state buffers of <paramref name="slot"/>, one per <see cref="StateNames"/> entry, allocated with
    /// <paramref name="length"/> elements (and <see cref="InitializeState"/>) on first use.
    /// </summary>
    /// <exception cref="InvalidOperationException">The slot's state was created for a different length.</exception>
    protected float[][] SlotState(int slot, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(slot);
        while (_slots.Count <= slot)
            _slots.Add(null);
        float[][]? state = _slots[slot];
        if (state is null)
        {
            state = new float[_stateNames.Length][];
            for (int k = 0; k < state.Length; k++)
            {
                state[k] = new float[length];
                InitializeState(k, state[k]);
            }
            _slots[slot] = state;
        }
        else if (state.Length > 0 && state[0].Length != length)
        {
            throw new InvalidOperationException(
                $"Optimizer state for parameter {slot} holds {state[0].Length} elements but the parameter has {length}: " +
                "the parameter list changed. Pass the same parameters in the same order every step, or call ResetState().");
        }
        return state;
    }

    /// <summary>Fills a newly allocated state buffer (number <paramref name="index"/> in <see cref="StateNames"/>); the default leaves zeros.</summary>
    protected virtual void InitializeState(int index, Span<float> buffer) { }

    /// <summary>
    /// Every allocated state buffer, slot by slot, in <see cref="StateNames"/> order. The values are live
    /// views of the optimizer's buffers; together with <see cref="Iterations"/> they are what a checkpoint
    /// needs to resume training.
    /// </summary>
    public IReadOnlyList<OptimizerStateBuffer> GetState()
    {
        var buffers = new List<OptimizerStateBuffer>();
        for (int slot = 0; slot < _slots.Count; slot++)
            if (_slots[slot] is { } state)
                for (int k = 0; k < state.Length; k++)
                    buffers.Add(new OptimizerStateBuffer(slot, _stateNames[k], state[k]));
        return buffers;
    }

    /// <summary>
    /// Replaces the state with a saved one (e.g. from <see cref="GetState"/> of a checkpoint). Buffers not
    /// given for a slot that has some are initialized as on a first step.
    /// </summary>
    /// <param name="iterations">The saved <see cref="Iterations"/>.</param>
    /// <param name="buffers">The saved buffers; values are copied.</param>
    public void LoadState(long iterations, IEnumerable<OptimizerStateBuffer> buffers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        ArgumentNullException.ThrowIfNull(buffers);
        ResetState();
        foreach (OptimizerStateBuffer buffer in buffers)
        {
            int index = Array.IndexOf(_stateNames, buffer.Name);
            if (index < 0)
                throw new ArgumentException($"{GetType().Name} has no state named \"{buffer.Name}\"; its states are [{string.Join(", ", _stateNames)}].", nameof(buffers));
            buffer.Values.Span.CopyTo(SlotState(buffer.Slot, buffer.Values.Length)[index]);
        }
        Iterations = iterations;
    }

    /// <summary>Forgets all state and sets <see cref="Iterations"/> back to 0 (settings are kept).</summary>
    public void ResetState()
    {
        _slots.Clear();
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
