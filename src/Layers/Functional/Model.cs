using NanoNet.Autograd;
using NanoNet.Data;
using NanoNet.Diagnostics;
using NanoNet.Losses;
using NanoNet.Memory;
using NanoNet.Metrics;
using NanoNet.Optim;

namespace NanoNet.Layers;

/// <summary>
/// A model: a graph of layer calls from one or more <see cref="Input"/>s to one or more outputs, with
/// the Keras workflow — <see cref="Compile(Optimizer, Loss, int)"/>, <see cref="Fit(Dataset, int, int, bool, Dataset?, int, int, Action{Dataset}?, IReadOnlyList{Callback}?, int, IProgress{TrainingProgress}?, CancellationToken, int, IReadOnlyDictionary{int, float}?)"/>,
/// <see cref="Evaluate"/>, <see cref="Predict(Tensor, int)"/>, <see cref="Summary"/>. <see cref="Sequential"/>
/// is the special case of a chain.
/// </summary>
/// <example>
/// A residual block and a two-input model, Functional API:
/// <code>
/// var image = new Input([32, 32, 3], "image");
/// SymbolicTensor x = new Conv2D(16, 3, padding: "same", activation: ActivationFunction.Relu).Call(image);
/// SymbolicTensor y = new Conv2D(16, 3, padding: "same").Call(x);
/// x = new Add().Call(x, y);                                         // residual connection
/// var model = new Model(image, new Dense(10, ActivationFunction.Softmax).Call(new Flatten().Call(x)));
///
/// var text = new Input([200], "text"); var numbers = new Input([8], "numbers");
/// SymbolicTensor t = new Lstm(32).Call(new Embedding(20_000, 64, maskZero: true).Call(text));
/// SymbolicTensor both = new Concatenate().Call(t, new Dense(16, ActivationFunction.Relu).Call(numbers));
/// var twoInputs = new Model([text, numbers], [new Dense(2, ActivationFunction.Softmax).Call(both)]);
/// twoInputs.Fit(new Dataset([tokens, features], [labels]), batchSize: 32);
/// </code>
/// </example>
public partial class Model
{
    private Input[] _inputs = [];
    private SymbolicTensor[] _outputs = [];
    private GraphNode[] _nodes = [];
    private int[] _inputSlots = [], _outputSlots = [];
    private readonly List<Layer> _layers = [];
    private List<Tensor>? _parameters;
    private Loss[]? _losses;
    private float[] _lossWeights = [];
    private MetricPlan? _metricPlan;

    // Training's pass over the graph: its value table and the memory of one step (activations,
    // gradients, saved buffers), released at the start of the next step, so a steady step allocates
    // almost nothing (see StepMemory). Inference borrows its own passes from _inferencePasses, one per
    // call, so Predict may run on many threads at once.
    private GraphPass _training = null!;
    private GraphPassPool _inferencePasses = null!;

    /// <summary>A model from one input to one output.</summary>
    public Model(Input input, SymbolicTensor output, string? name = null) : this([input], [output], name) { }

    /// <summary>A model from several inputs to several outputs (fed and returned in these orders).</summary>
    /// <exception cref="ArgumentException">An output depends on an input not listed, an input is unused, or two layers share a name.</exception>
    public Model(Input[] inputs, SymbolicTensor[] outputs, string? name = null)
    {
        Name = name ?? "model";
        SetGraph(inputs, outputs);
    }

    /// <summary>For subclasses that define their graph later (<see cref="Sequential"/>).</summary>
    private protected Model(string name) => Name = name;

    /// <summary>The model's name (shown by <see cref="Summary"/>).</summary>
    public string Name { get; }

    /// <summary>The inputs, in the order data is fed.</summary>
    public IReadOnlyList<Input> Inputs
    {
        get
        {
            EnsureGraph();
            return _inputs;
        }
    }

    /// <summary>The outputs, in the order they are returned and matched with targets and losses.</summary>
    public IReadOnlyList<SymbolicTensor> Outputs
    {
        get
        {
            EnsureGraph();
            return _outputs;
        }
    }

    /// <summary>The distinct layers, in the order they first run.</summary>
    public IReadOnlyList<Layer> Layers
    {
        get
        {
            EnsureGraph();
            return _layers;
        }
    }

    /// <summary>The optimizer set by <see cref="Compile(Optimizer, Loss, int)"/>.</summary>
    public Optimizer? Optimizer { get; private set; }

    /// <summary>The loss of the (first) output, set by <see cref="Compile(Optimizer, Loss, int)"/>.</summary>
    public Loss? Loss => _losses?[0];

    /// <summary>One loss per output.</summary>
    public IReadOnlyList<Loss> Losses => _losses ?? throw NotCompiled();

    /// <summary>
    /// The most threads this model's kernels use in <c>Fit</c>, <c>Evaluate</c>, <c>Predict</c> and
    /// <c>TrainStep</c>; null (the default) = <see cref="Parallelism.MaxThreads"/>. Set 1 on two models
    /// to train them side by side on two threads, each on its own core (a one-thread model never waits
    /// for the shared worker pool).
    /// </summary>
    public int? MaxThreads
    {
        get => _maxThreads;
        set
        {
            if (value is < 1)
                throw new ArgumentOutOfRangeException(nameof(value), value, "A model's MaxThreads must be at least 1 (or null for Parallelism.MaxThreads).");
            _maxThreads = value;
        }
    }

    private int? _maxThreads;

    /// <summary>Where <c>Fit</c> writes its per-epoch lines (default: the console).</summary>
    public TextWriter Output { get; set; } = Console.Out;

    /// <summary>The weights training updates: those of every <see cref="Layer.Trainable"/> layer, layer by layer.</summary>
    public IReadOnlyList<Tensor> Parameters
    {
        get
        {
            EnsureGraph();
            return _parameters ??= [.. _layers.SelectMany(l => l.Parameters)];
        }
    }

    /// <summary>Every weight, trainable or frozen, layer by layer.</summary>
    public IReadOnlyList<Tensor> Weights => [.. Layers.SelectMany(l => l.Weights)];

    /// <summary>Number of values training updates.</summary>
    public int ParameterCount => Parameters.Sum(p => p.Length);

    /// <summary>Number of values training leaves alone (frozen layers).</summary>
    public int NonTrainableParameterCount => Layers.Sum(l => l.NonTrainableParameterCount);

    /// <summary>The layer named <paramref name="name"/>.</summary>
    public Layer GetLayer(string name) => Layers.FirstOrDefault(l => l.Name == name)
        ?? throw new ArgumentException($"Model '{Name}' has no layer named '{name}'; its layers are [{string.Join(", ", _layers.Select(l => l.Name))}].", nameof(name));

    /// <summary>Builds the graph if the subclass defines it lazily (<see cref="Sequential"/> does at compile time).</summary>
    private protected virtual void EnsureGraph() { }

    /// <summary>Fixes the graph: finds every layer call between the inputs and the outputs and orders them.</summary>
    private protected void SetGraph(Input[] inputs, SymbolicTensor[] outputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (inputs.Length == 0 || outputs.Length == 0)
            throw new ArgumentException($"Model '{Name}' needs at least one input and one output.");
        if (inputs.Distinct().Count() != inputs.Length)
            throw new ArgumentException($"Model '{Name}': an input is listed twice.");

        var slots = new Dictionary<SymbolicTensor, int>(ReferenceEqualityComparer.Instance);
        foreach (Input input in inputs)
            slots[input] = slots.Count;
        var nodes = new List<GraphNode>();
        var visiting = new HashSet<SymbolicTensor>(ReferenceEqualityComparer.Instance);
        foreach (SymbolicTensor output in outputs)
            Visit(output ?? throw new ArgumentNullException(nameof(outputs)));

        void Visit(SymbolicTensor tensor)
        {
            if (slots.ContainsKey(tensor))
                return;
            if (tensor is Input stray)
                throw new ArgumentException($"Model '{Name}': an output depends on input '{stray.Name}', which is not among the model's inputs [{string.Join(", ", inputs.Select(i => i.Name))}].");
            SymbolicTensor call = tensor.FirstOfCall; // a call with several outputs runs once, whichever of them is used
            if (!visiting.Add(call))
                throw new ArgumentException($"Model '{Name}': the graph has a cycle through layer '{call.Layer!.Name}'.");
            foreach (SymbolicTensor input in call.Inputs)
                Visit(input);
            foreach (SymbolicTensor output in call.CallOutputs)
                slots[output] = slots.Count;
            nodes.Add(new GraphNode(call.Layer!, [.. call.Inputs.Select(i => slots[i])], [.. call.CallOutputs.Select(o => slots[o])])
            {
                ConnectedTo = string.Join(", ", call.Inputs.Select(i => i.Source)),
            });
        }

        foreach (GraphNode node in nodes)
            foreach (int slot in node.InputSlots)
                foreach (GraphNode producer in nodes.Where(n => n.OutputSlots.Contains(slot)))
                    producer.FeedsOtherNodes = true;
        for (int i = 0; i + 1 < nodes.Count; i++)
        {
            GraphNode conv = nodes[i], next = nodes[i + 1];
            nodes[i].PoolsIntoNext = conv.Layer is Conv2D { CanFuseMaxPool: true } && next.Layer is MaxPool2D
                && next.InputSlots is [int slot] && slot == conv.OutputSlot
                && nodes.Count(n => n.InputSlots.Contains(conv.OutputSlot)) == 1
                && !outputs.Any(o => slots[o] == conv.OutputSlot);
            nodes[i].ProjectsIntoNext = conv.Layer is Embedding && next.Layer is Lstm { Stateful: false } && !next.IsMultiTensorCall
                && next.InputSlots is [int embedded] && embedded == conv.OutputSlot
                && nodes.Count(n => n.InputSlots.Contains(conv.OutputSlot)) == 1
                && !outputs.Any(o => slots[o] == conv.OutputSlot);
        }
        var used = new HashSet<int>(nodes.SelectMany(n => n.InputSlots).Concat(outputs.Select(o => slots[o])));
        foreach (Input input in inputs)
            if (!used.Contains(slots[input]))
                throw new ArgumentException($"Model '{Name}': input '{input.Name}' is not connected to any output.");

        var layers = new List<Layer>();
        foreach (GraphNode node in nodes)
            if (!layers.Contains(node.Layer))
                layers.Add(node.Layer);
        foreach (IGrouping<string, Layer> clash in layers.GroupBy(l => l.Name).Where(g => g.Count() > 1))
            throw new ArgumentException($"Model '{Name}': {clash.Count()} different layers are named '{clash.Key}'; weights are saved by layer name, so names must be unique.");

        _inputs = (Input[])inputs.Clone();
        _outputs = (SymbolicTensor[])outputs.Clone();
        _nodes = [.. nodes];
        _inputSlots = [.. inputs.Select(i => slots[i])];
        _outputSlots = [.. outputs.Select(o => slots[o])];
        int slotCount = slots.Count;
        GraphNode[] graph = _nodes;
        _training = new GraphPass(slotCount, graph, outputs.Length);
        _inferencePasses = new GraphPassPool(() => new GraphPass(slotCount, graph, outputs.Length));
        _folding = null;
        foreach (Layer layer in _layers)
            layer.TrainableChanged -= InvalidateParameters;
        _layers.Clear();
        _layers.AddRange(layers);
        foreach (Layer layer in _layers)
            layer.TrainableChanged += InvalidateParameters;
        _parameters = null;
    }

    private void InvalidateParameters() => _parameters = null;

    /// <summary>
    /// Sets the optimizer and the loss (one output), and gives initial weights to every layer that has
    /// none yet (layer i draws from stream <see cref="RandomStreamIds.LayerWeights"/>(i) of
    /// <paramref name="seed"/>). Compiling again, e.g. to change the optimizer, keeps the trained weights.
    /// </summary>
    public void Compile(Optimizer optimizer, Loss loss, int seed = 0) => Compile(optimizer, [loss], null, seed);

    /// <summary>
    /// Like <see cref="Compile(Optimizer, Loss, int)"/>, also reporting <paramref name="metrics"/> (Keras's
    /// <c>metrics=[...]</c>, e.g. <c>[new Auc(), new Precision()]</c>) in the history and the progress line,
    /// computed over each epoch (and, with "val_" names, over the validation data).
    /// </summary>
    public void Compile(Optimizer optimizer, Loss loss, Metric[] metrics, int seed = 0) => Compile(optimizer, [loss], metrics, null, seed);

    /// <summary>
    /// Like <see cref="Compile(Optimizer, Loss, Metric[], int)"/>, also reporting <paramref name="weightedMetrics"/>
    /// (Keras's <c>weighted_metrics=[...]</c>): these count every example with its sample weight
    /// (<see cref="Dataset.SampleWeights"/>, or <c>Fit</c>'s <c>classWeight</c>), while <paramref name="metrics"/>,
    /// as in Keras, ignore the weights. A weighted metric named like an unweighted one is reported as
    /// "weighted_{name}" (e.g. "weighted_accuracy" next to the loss's "accuracy").
    /// </summary>
    public void Compile(Optimizer optimizer, Loss loss, Metric[] metrics, Metric[] weightedMetrics, int seed = 0) =>
        Compile(optimizer, [loss], metrics, weightedMetrics, null, seed);

    /// <summary>
    /// Like <see cref="Compile(Optimizer, Loss[], float[], int)"/> with <paramref name="metrics"/> reported for
    /// every output (named "{output}_{metric}" when there are several outputs). These metrics ignore sample
    /// weights, as Keras's <c>metrics=</c> do; see <see cref="Compile(Optimizer, Loss[], Metric[], Metric[], float[], int)"/>
    /// for weighted ones.
    /// </summary>
    public void Compile(Optimizer optimizer, Loss[] losses, Metric[] metrics, float[]? lossWeights = null, int seed = 0) =>
        Compile(optimizer, losses, metrics, [], lossWeights, seed);

    /// <summary>
    /// Like <see cref="Compile(Optimizer, Loss[], Metric[], float[], int)"/>, also reporting
    /// <paramref name="weightedMetrics"/> for every output, each example counted with its sample weight (Keras's
    /// <c>weighted_metrics=</c>; one weight per example applies to every output, as Keras repeats it).
    /// </summary>
    public void Compile(Optimizer optimizer, Loss[] losses, Metric[] metrics, Metric[] weightedMetrics, float[]? lossWeights = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(weightedMetrics);
        for (int i = 0; i < metrics.Length; i++)
            ArgumentNullException.ThrowIfNull(metrics[i], $"metrics[{i}]");
        for (int i = 0; i < weightedMetrics.Length; i++)
            ArgumentNullException.ThrowIfNull(weightedMetrics[i], $"weightedMetrics[{i}]");
        Compile(optimizer, losses, lossWeights, seed);
        _metricPlan = new MetricPlan(_losses!, metrics, weightedMetrics, OutputNames());
    }

    /// <summary>
    /// Like <see cref="Compile(Optimizer, Loss, int)"/> with one loss per output; training minimises
    /// Σ weightᵢ · lossᵢ (weights default to 1).
    /// </summary>
    public void Compile(Optimizer optimizer, Loss[] losses, float[]? lossWeights = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(losses);
        EnsureGraph();
        if (losses.Length != _outputs.Length)
            throw new ArgumentException($"Model '{Name}' has {_outputs.Length} outputs but {losses.Length} losses were given.", nameof(losses));
        for (int i = 0; i < losses.Length; i++)
            ArgumentNullException.ThrowIfNull(losses[i], $"losses[{i}]");
        if (lossWeights is not null && (lossWeights.Length != losses.Length || lossWeights.Any(w => !float.IsFinite(w) || w < 0)))
            throw new ArgumentException($"Loss weights must be {losses.Length} finite non-negative numbers, one per output.", nameof(lossWeights));
        // Each layer draws from its own stream of the seed, so adding a layer leaves the others' weights unchanged.
        var random = new RandomStream((ulong)seed);
        for (int index = 0; index < _layers.Count; index++)
            if (!_layers[index].IsInitialized)
                _layers[index].InitializeWeights(random.ForStream(RandomStreamIds.LayerWeights(index)));
        Optimizer = optimizer;
        _losses = (Loss[])losses.Clone();
        _lossWeights = lossWeights is null ? [.. losses.Select(_ => 1f)] : (float[])lossWeights.Clone();
        _metricPlan = new MetricPlan(_losses, [], OutputNames());
    }

    /// <summary>The metrics compiled in (not the loss's automatic accuracy, nor the weighted metrics).</summary>
    public IReadOnlyList<Metric> Metrics => _metricPlan is null ? [] : CompiledMetrics(weighted: false);

    /// <summary>The weighted metrics compiled in (Keras's <c>weighted_metrics</c>).</summary>
    public IReadOnlyList<Metric> WeightedMetrics => _metricPlan is null ? [] : CompiledMetrics(weighted: true);

    private Metric[] CompiledMetrics(bool weighted)
    {
        MetricPlan plan = _metricPlan!;
        int first = plan.HasAccuracy[0] ? 1 : 0;
        return [.. plan.Metrics[0].Where((_, m) => m >= first && plan.Weighted[0][m] == weighted)];
    }

    private MetricPlan MetricPlan => _metricPlan ?? throw NotCompiled();

    /// <summary>
    /// Runs the model on a batch of a one-input, one-output model. Allocates nothing of its own once warm: the
    /// activations and the output live in the <see cref="StepMemory"/> in use, if any, and the input list is the pass's.
    /// </summary>
    public Tensor Forward(Tensor x, bool training = false)
    {
        RequireSingle("Forward");
        EnsureGraph();
        GraphPass pass = _inferencePasses.Rent();
        try
        {
            pass.OneInput[0] = x;
            using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
            Run(pass, pass.OneInput, training, fuseWith: null);
            return pass.Values[_outputSlots[0]]!;
        }
        finally
        {
            _inferencePasses.Return(pass);
        }
    }

    /// <summary>Runs the model on a batch of each input; returns one tensor per output.</summary>
    public Tensor[] Forward(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        EnsureGraph();
        GraphPass pass = _inferencePasses.Rent();
        try
        {
            using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
            Run(pass, inputs, training, fuseWith: null);
            var outputs = new Tensor[_outputSlots.Length];
            for (int o = 0; o < outputs.Length; o++)
                outputs[o] = pass.Values[_outputSlots[o]]!;
            return outputs;
        }
        finally
        {
            _inferencePasses.Return(pass);
        }
    }

    /// <summary>
    /// Runs every layer call in order. With <paramref name="fuseWith"/> (one loss per output), an output
    /// whose layer ends in an activation the loss takes the logits of (<see cref="ActivationFusion"/>) is
    /// left before that activation and marked in the pass's <see cref="GraphPass.Fused"/>. Everything a
    /// run writes lives in <paramref name="pass"/>: runs with different passes may overlap.
    /// </summary>
    private void Run(GraphPass pass, IReadOnlyList<Tensor> inputs, bool training, Loss[]? fuseWith)
    {
        EnsureGraph();
        foreach (Layer layer in _layers) // a plain loop: this runs every step, and LINQ would allocate
            if (!layer.IsInitialized)
                throw NotCompiled();
        CheckInputs(inputs);
        Tensor?[] values = pass.Values;
        for (int i = 0; i < _inputSlots.Length; i++)
            values[_inputSlots[i]] = inputs[i];
        Array.Clear(pass.Fused);
        BatchNormFolding? folding = !training && !Tape.IsRecording ? FoldWeights(pass) : null;
        for (int n = 0; n < _nodes.Length; n++)
        {
            GraphNode node = _nodes[n];
            if (folding is not null && (folding.Skipped[n] || folding.Into[n] >= 0))
            {
                RunFolded(pass, folding, n);
                continue;
            }
            if (node.ProjectsIntoNext && (!training || ((Lstm)_nodes[n + 1].Layer).CanRunOnEmbeddingInTraining))
            {
                // The embedding and the LSTM that alone reads it, in one op (each distinct id projected once).
                GraphNode lstm = _nodes[++n];
                using Profiler.ScopeHandle lstmScope = Profiler.Enabled ? Profiler.Scope(lstm.Layer.Name) : default;
                values[lstm.OutputSlot] = ((Lstm)lstm.Layer).ForwardOnEmbedding(values[node.InputSlots[0]]!, (Embedding)node.Layer);
                continue;
            }
            using Profiler.ScopeHandle scope = Profiler.Enabled ? Profiler.Scope(node.Layer.Name) : default;
            int output = Array.IndexOf(_outputSlots, node.OutputSlot);
            if (node.IsMultiTensorCall)
            {
                // A call with several inputs or outputs (an LSTM with initial_state or return_state): each output to its slot.
                Tensor[] arguments = pass.Arguments[n], results = pass.Results[n];
                for (int i = 0; i < node.InputSlots.Length; i++)
                    arguments[i] = values[node.InputSlots[i]]!;
                node.Layer.ForwardCall(arguments, results, training);
                for (int i = 0; i < results.Length; i++)
                    values[node.OutputSlots[i]] = results[i];
            }
            else if (fuseWith is not null && output >= 0 && !node.FeedsOtherNodes
                && node.Layer is IActivatedLayer activated && ActivationFusion.LossMayTakeLogits(activated.Activation))
            {
                pass.Fused[output] = activated.Activation;
                values[node.OutputSlot] = activated.ForwardPreActivation(values[node.InputSlots[0]]!, training);
            }
            else if (node.PoolsIntoNext && values[node.InputSlots[0]]!.Mask is null)
            {
                // The convolution and the pooling that alone reads it, in one pass (bitwise the same, gradients too).
                GraphNode pool = _nodes[++n];
                values[pool.OutputSlot] = ((Conv2D)node.Layer).ForwardMaxPooled(values[node.InputSlots[0]]!, (MaxPool2D)pool.Layer);
            }
            else if (node.Layer is MergeLayer merge)
            {
                Tensor[] arguments = pass.Arguments[n];
                for (int i = 0; i < node.InputSlots.Length; i++)
                    arguments[i] = values[node.InputSlots[i]]!;
                values[node.OutputSlot] = merge.Forward(arguments, training);
            }
            else
            {
                values[node.OutputSlot] = node.Layer.Forward(values[node.InputSlots[0]]!, training);
            }
        }
    }

    private void CheckInputs(IReadOnlyList<Tensor> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != _inputs.Length)
            throw new ArgumentException($"Model '{Name}' has {_inputs.Length} inputs ({string.Join(", ", _inputs.Select(i => i.Name))}) but was given {inputs.Count} tensors.");
        int rows = -1;
        for (int i = 0; i < inputs.Count; i++)
        {
            Tensor x = inputs[i] ?? throw new ArgumentNullException(nameof(inputs));
            ReadOnlySpan<int> expected = _inputs[i].Shape;
            if (x.Rank != expected.Length + 1 || !x.Shape[1..].SequenceEqual(expected))
                throw new ArgumentException(
                    $"Model input '{_inputs[i].Name}'{FirstLayerOf(i)} expects input of shape {Shapes.FormatBatched(expected)} but got {Shapes.Format(x.Shape)}.");
            if (rows >= 0 && x.Dim(0) != rows)
                throw new ArgumentException($"Model '{Name}': input '{_inputs[i].Name}' has {x.Dim(0)} rows but the first input has {rows}.");
            rows = x.Dim(0);
        }
    }

    private string FirstLayerOf(int input)
    {
        GraphNode? first = _nodes.FirstOrDefault(n => n.InputSlots.Contains(_inputSlots[input]));
        return first is null ? "" : $" (layer '{first.Layer.Name}')";
    }

    /// <summary>Predictions of a one-input, one-output model for every row of <paramref name="x"/>, in batches, without recording gradients.</summary>
    public Tensor Predict(Tensor x, int batchSize = 256)
    {
        RequireSingle("Predict");
        return Predict([x], batchSize)[0];
    }

    /// <summary>Predictions for every row of the inputs, one tensor per output, in batches, without recording gradients.</summary>
    /// <remarks>
    /// Safe to call from many threads at once on a trained model (an inference service): each call runs
    /// in its own <see cref="GraphPass"/> with its own step memory and only reads the weights. Do not
    /// train the model or change its weights meanwhile.
    /// </remarks>
    public Tensor[] Predict(IReadOnlyList<Tensor> inputs, int batchSize = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        EnsureGraph();
        CheckInputs(inputs);
        int rows = inputs[0].Dim(0);
        Tensor[] results = [.. _outputs.Select(o => Tensor.Zeros([rows, .. o.Shape]))];
        var slice = new Tensor[inputs.Count];
        GraphPass pass = _inferencePasses.Rent();
        try
        {
            using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
            using (Tape.NoGrad())
            {
                for (int start = 0; start < rows; start += batchSize)
                {
                    int size = Math.Min(batchSize, rows - start);
                    for (int i = 0; i < slice.Length; i++)
                        slice[i] = inputs[i].SliceRows(start, size);
                    pass.Memory.Release(); // the previous batch's activations
                    using (pass.Memory.Use())
                    {
                        Run(pass, slice, training: false, fuseWith: null);
                        for (int o = 0; o < results.Length; o++)
                            pass.Values[_outputSlots[o]]!.Span.CopyTo(results[o].SliceRows(start, size).Span);
                        pass.Forget();
                    }
                }
            }
        }
        finally
        {
            _inferencePasses.Return(pass);
        }
        return results;
    }

    /// <summary>Mean loss and accuracy (for classification losses) over a data set, without recording gradients.</summary>
    public Evaluation Evaluate(Dataset data, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (_losses is null)
            throw NotCompiled();
        var totals = new MetricTotals(MetricPlan, OutputNames());
        bool profiling = Profiler.Enabled;
        if (profiling)
            Profiler.Enabled = false; // the profile is of training steps
        GraphPass pass = _inferencePasses.Rent();
        try
        {
            using Parallelism.ThreadLimitScope threads = Parallelism.LimitThreads(_maxThreads);
            using (Tape.NoGrad())
            {
                for (int start = 0; start < data.Count; start += batchSize)
                {
                    int size = Math.Min(batchSize, data.Count - start);
                    Dataset batch = data.Slice(start, size);
                    pass.Memory.Release();
                    using (pass.Memory.Use())
                        totals.Add(ForwardLoss(pass, batch, training: false), batch);
                }
            }
        }
        finally
        {
            _inferencePasses.Return(pass);
            if (profiling)
                Profiler.Enabled = true;
        }
        return totals.ToEvaluation();
    }

    /// <summary>
    /// Forward pass and the weighted total loss on one batch, fusing output activations with their
    /// losses where possible; per-output losses and correct counts go to the pass's <see cref="GraphPass.Result"/>.
    /// </summary>
    private StepResult ForwardLoss(GraphPass pass, Dataset batch, bool training)
    {
        Loss[] losses = _losses ?? throw NotCompiled();
        if (batch.Targets.Count != losses.Length)
            throw new ArgumentException($"Model '{Name}' has {losses.Length} outputs but the batch has {batch.Targets.Count} target tensors.");
        Run(pass, batch.Inputs, training, losses);
        MetricPlan plan = MetricPlan;
        StepResult result = pass.Result;
        result.Reset(plan);
        Tensor? total = null;
        for (int o = 0; o < losses.Length; o++)
        {
            Tensor output = pass.Values[_outputSlots[o]]!;
            Tensor targets = batch.Targets[o];
            ActivationFunction fused = pass.Fused[o];
            Tensor? value = fused == ActivationFunction.Linear ? null : losses[o].ComputeFromLogits(fused, output, targets, batch.SampleWeights);
            Tensor activated = output;
            if (value is null && fused != ActivationFunction.Linear)
            {
                output = activated = Ops.Activate(output, fused); // the loss does not fuse: apply the activation we skipped
            }
            else if (fused != ActivationFunction.Linear && plan.NeedsActivatedOutputs[o])
            {
                using (Tape.NoGrad())
                    activated = Ops.Activate(output, fused); // the metrics see probabilities; the loss had the logits
            }
            value ??= losses[o].Compute(output, targets, batch.SampleWeights);
            result.Losses[o] = value[0];
            plan.Update(o, activated, targets, batch.SampleWeights, result.States[o]);
            Tensor weighted = _lossWeights[o] == 1f ? value : Ops.Multiply(value, Scalar(_lossWeights[o]));
            total = total is null ? weighted : Ops.Add(total, weighted);
        }
        foreach (Layer layer in _layers) // a plain loop: this runs every step
            total = layer.AddPenalties(total!);
        result.Total = total!;
        result.TotalValue = total![0];
        pass.Forget();
        return result;
    }

    private static Tensor Scalar(float value)
    {
        Tensor t = Tensor.Empty([]);
        t[0] = value;
        return t;
    }

    /// <summary>The names metrics are reported under, one per output (the producing layer's name).</summary>
    private string[] OutputNames() => [.. _outputs.Select(o => o.Source)];

    private void RequireSingle(string what)
    {
        EnsureGraph();
        if (_inputs.Length != 1 || _outputs.Length != 1)
            throw new InvalidOperationException($"{what}(Tensor) is for one-input, one-output models; model '{Name}' has {_inputs.Length} inputs and {_outputs.Length} outputs: pass a list.");
    }

    private protected InvalidOperationException NotCompiled() =>
        new($"Model '{Name}' is not compiled: call Compile(optimizer, loss) first.");
}

/// <summary>
/// Result of <see cref="Model.Evaluate"/>: mean loss, accuracy for classification losses, and for a
/// model with several outputs, each output's loss and accuracy by name (e.g. "dense_1_loss").
/// </summary>
public readonly record struct Evaluation(float Loss, float? Accuracy)
{
    /// <summary>Per-output metrics of a model with several outputs ("{output}_loss", "{output}_accuracy"); empty otherwise.</summary>
    public IReadOnlyDictionary<string, float> Outputs { get; init; } = new Dictionary<string, float>();

    /// <summary>The compiled metrics by name ("auc", "precision", or "{output}_auc" for several outputs); empty without any.</summary>
    public IReadOnlyDictionary<string, float> Metrics { get; init; } = new Dictionary<string, float>();
}
