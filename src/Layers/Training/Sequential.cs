using System.Globalization;
using System.Text;
using NanoNet.Autograd;
using NanoNet.Data;
using NanoNet.Diagnostics;
using NanoNet.Memory;
using NanoNet.Optim;
using NanoNet.Losses;

namespace NanoNet.Layers;

/// <summary>
/// A stack of layers applied in order, Keras style: build it, <see cref="Compile"/> it with an optimizer
/// and a loss, then <see cref="Fit(Dataset, int, int, bool, Dataset?, int, int, Action{Dataset}?, IReadOnlyList{Callback}?)"/>,
/// <see cref="Evaluate"/> and <see cref="Predict"/>.
/// </summary>
public sealed partial class Sequential
{
    private readonly List<Layer> _layers = [];
    private readonly int[] _inputShape;
    private List<Tensor>? _parameters;

    // The memory of one training or inference step (activations, gradients, saved buffers): released
    // at the start of the next step, so a steady step allocates almost nothing (see StepMemory).
    private readonly StepMemory _stepMemory = new();

    /// <summary>Creates a model for examples of shape <paramref name="inputShape"/> (without the batch axis).</summary>
    public Sequential(int[] inputShape, params Layer[] layers)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        _inputShape = (int[])Shapes.Checked(inputShape).Clone();
        foreach (Layer layer in layers)
            Add(layer);
    }

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Per-example input shape.</summary>
    public ReadOnlySpan<int> InputShape => _inputShape;

    /// <summary>The optimizer set by <see cref="Compile"/>.</summary>
    public Optimizer? Optimizer { get; private set; }

    /// <summary>The loss set by <see cref="Compile"/>.</summary>
    public Loss? Loss { get; private set; }

    /// <summary>Where <c>Fit</c> writes its per-epoch lines (default: the console).</summary>
    public TextWriter Output { get; set; } = Console.Out;

    /// <summary>Appends a layer (before <see cref="Compile"/>), giving it a unique default name if it has none.</summary>
    public void Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (_parameters is not null)
            throw new InvalidOperationException("Layers must be added before Compile().");
        if (string.IsNullOrEmpty(layer.Name))
        {
            int same = _layers.Count(l => l.DefaultName == layer.DefaultName);
            layer.Name = same == 0 ? layer.DefaultName : $"{layer.DefaultName}_{same}";
        }
        if (_layers.Any(l => l.Name == layer.Name))
            throw new ArgumentException($"A layer named '{layer.Name}' is already in the model.");
        _layers.Add(layer);
    }

    /// <summary>
    /// Builds every layer (layer i's weights drawn from stream <see cref="RandomStreamIds.LayerWeights"/>(i) of
    /// <paramref name="seed"/>) and sets the optimizer and loss.
    /// </summary>
    public void Compile(Optimizer optimizer, Loss loss, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(loss);
        if (_layers.Count == 0)
            throw new InvalidOperationException("The model has no layers.");
        // Each layer draws from its own stream of the seed, so adding a layer leaves the others' weights unchanged.
        var random = new RandomStream((ulong)seed);
        ReadOnlySpan<int> shape = _inputShape;
        for (int index = 0; index < _layers.Count; index++)
        {
            _layers[index].Build(shape, random.ForStream(RandomStreamIds.LayerWeights(index)));
            shape = _layers[index].OutputShape;
        }
        _parameters = _layers.SelectMany(l => l.Parameters).ToList();
        Optimizer = optimizer;
        Loss = loss;
    }

    /// <summary>All trainable parameters, layer by layer.</summary>
    public IReadOnlyList<Tensor> Parameters => _parameters ?? throw NotCompiled();

    /// <summary>Total number of trainable values.</summary>
    public int ParameterCount => Parameters.Sum(p => p.Length);

    /// <summary>Runs the layers on a batch of shape (N, InputShape...).</summary>
    public Tensor Forward(Tensor x, bool training = false) => Forward(x, training, out _);

    /// <summary>
    /// Runs the layers; when the last one ends in an activation that the loss can fuse with (softmax
    /// with cross-entropy), returns its pre-activation output and sets <paramref name="fusedLogits"/>.
    /// </summary>
    private Tensor Forward(Tensor x, bool training, out bool fusedLogits, bool allowFusion = false)
    {
        if (_parameters is null)
            throw NotCompiled();
        CheckBatchShape(x);
        fusedLogits = false;
        for (int i = 0; i < _layers.Count; i++)
        {
            Layer layer = _layers[i];
            using Profiler.ScopeHandle scope = Profiler.Enabled ? Profiler.Scope(layer.Name) : default;
            bool last = i == _layers.Count - 1;
            if (last && allowFusion && layer is IActivatedLayer activated && ActivationFusion.LossMayTakeLogits(activated.Activation))
            {
                fusedLogits = true;
                return activated.ForwardPreActivation(x, training);
            }
            x = layer.Forward(x, training);
        }
        return x;
    }

    /// <summary>Predictions for every row of <paramref name="x"/>, computed in batches without recording gradients.</summary>
    public Tensor Predict(Tensor x, int batchSize = 256)
    {
        CheckBatchShape(x);
        int[] outputShape = [x.Dim(0), .. _layers[^1].OutputShape];
        var result = Tensor.Zeros(outputShape);
        using (Tape.NoGrad())
        {
            for (int start = 0; start < x.Dim(0); start += batchSize)
            {
                int size = Math.Min(batchSize, x.Dim(0) - start);
                _stepMemory.Release(); // the previous batch's activations
                using (_stepMemory.Use())
                {
                    Tensor y = Forward(x.SliceRows(start, size));
                    y.Span.CopyTo(result.SliceRows(start, size).Span);
                }
            }
            _stepMemory.Release();
        }
        return result;
    }

    /// <summary>Mean loss and accuracy (for classification losses) over a data set, without recording gradients.</summary>
    public Evaluation Evaluate(Dataset data, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(data);
        Loss loss = Loss ?? throw NotCompiled();
        double lossSum = 0;
        long correct = 0, labels = 0;
        bool profiling = Profiler.Enabled;
        Profiler.Enabled = false; // the profile is of training steps
        try
        {
            using (Tape.NoGrad())
            {
                for (int start = 0; start < data.Count; start += batchSize)
                {
                    int size = Math.Min(batchSize, data.Count - start);
                    Dataset batch = data.Slice(start, size);
                    _stepMemory.Release();
                    using (_stepMemory.Use())
                    {
                        (float batchLoss, int batchCorrect) = LossAndCorrect(batch, training: false);
                        lossSum += (double)batchLoss * size;
                        correct += batchCorrect;
                    }
                    labels += batch.Labels.Length;
                }
                _stepMemory.Release();
            }
        }
        finally
        {
            Profiler.Enabled = profiling;
        }
        int n = Math.Max(1, data.Count);
        // Accuracy is per label: per example, or per step for sequence targets (N, T).
        return new Evaluation((float)(lossSum / n), loss.IsClassification ? (float)correct / Math.Max(1, labels) : null);
    }

    /// <summary>Forward pass and loss on one batch; returns the loss tensor (on the tape when recording).</summary>
    private (Tensor Loss, Tensor Output) ForwardLoss(Dataset batch, bool training)
    {
        Loss loss = Loss!;
        Tensor output = Forward(batch.Features, training, out bool fused, allowFusion: true);
        Tensor? value = fused ? loss.ComputeFromSoftmaxLogits(output, batch.Labels) : null;
        if (value is null && fused)
            output = Ops.Softmax(output); // the loss does not fuse: apply the softmax we skipped
        value ??= loss.Compute(output, batch.Labels);
        return (value, output);
    }

    private (float Loss, int Correct) LossAndCorrect(Dataset batch, bool training)
    {
        (Tensor value, Tensor output) = ForwardLoss(batch, training);
        return (value[0], Loss!.IsClassification ? CountCorrect(output, batch.Labels) : 0);
    }

    /// <summary>Rows whose largest output (argmax; softmax does not change it) equals the label.</summary>
    private static int CountCorrect(Tensor output, Tensor labels)
    {
        int columns = output.Dim(-1);
        ReadOnlySpan<float> scores = output.Span, truth = labels.Span;
        int correct = 0;
        for (int row = 0; row * columns < scores.Length && row < truth.Length; row++)
            if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(scores.Slice(row * columns, columns)) == (int)truth[row])
                correct++;
        return correct;
    }

    private void CheckBatchShape(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != _inputShape.Length + 1 || !x.Shape[1..].SequenceEqual(_inputShape))
        {
            string first = _layers.Count > 0 ? $"layer '{_layers[0].Name}'" : "the model";
            throw new ArgumentException(
                $"Model input: {first} expects input of shape {Shapes.FormatBatched(_inputShape)} but got {Shapes.Format(x.Shape)}.");
        }
    }

    /// <summary>A Keras-like table of layers, output shapes and parameter counts.</summary>
    public string Summary()
    {
        if (_parameters is null)
            throw NotCompiled();
        var sb = new StringBuilder();
        string line = new('-', 78);
        sb.AppendLine(line);
        sb.AppendLine($"{"Layer (type)",-34}{"Output Shape",-26}{"Param #",18}");
        sb.AppendLine(new string('=', 78));
        foreach (Layer layer in _layers)
        {
            string kind = $"{layer.Name} ({layer.GetType().Name})";
            sb.AppendLine($"{kind,-34}{Shapes.FormatBatched(layer.OutputShape),-26}{layer.ParameterCount.ToString("N0", CultureInfo.InvariantCulture),18}");
        }
        sb.AppendLine(new string('=', 78));
        sb.AppendLine($"Total params: {ParameterCount.ToString("N0", CultureInfo.InvariantCulture)}");
        sb.Append(line);
        return sb.ToString();
    }

    private static InvalidOperationException NotCompiled() =>
        new("The model is not compiled: call Compile(optimizer, loss) first.");
}

/// <summary>Result of <see cref="Sequential.Evaluate"/>: mean loss, and accuracy for classification losses.</summary>
public readonly record struct Evaluation(float Loss, float? Accuracy);
