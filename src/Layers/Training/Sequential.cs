namespace NanoNet.Layers;

/// <summary>
/// A stack of layers applied in order, Keras style: the simplest <see cref="Model"/>, a chain from one
/// input to one output. Build it, <see cref="Model.Compile(NanoNet.Optim.Optimizer, NanoNet.Losses.Loss, int)"/>
/// it with an optimizer and a loss, then <c>Fit</c>, <see cref="Model.Evaluate"/> and <see cref="Model.Predict(Tensor, int)"/>.
/// </summary>
public sealed class Sequential : Model
{
    private readonly List<Layer> _stack = [];
    private readonly int[] _inputShape;
    private bool _graphBuilt;

    /// <summary>Creates a model for examples of shape <paramref name="inputShape"/> (without the batch axis).</summary>
    public Sequential(int[] inputShape, params Layer[] layers) : base("sequential")
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        _inputShape = (int[])Shapes.Checked(inputShape).Clone();
        foreach (Layer layer in layers)
            Add(layer);
    }

    /// <summary>Per-example input shape.</summary>
    public ReadOnlySpan<int> InputShape => _inputShape;

    /// <summary>Appends a layer (before the model is compiled), giving it a unique default name if it has none.</summary>
    public void Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (_graphBuilt)
            throw new InvalidOperationException("Layers must be added before Compile().");
        if (layer is MergeLayer)
            throw new ArgumentException($"{layer.GetType().Name} merges several inputs and cannot be part of a Sequential chain: use the Functional API (Model).", nameof(layer));
        if (string.IsNullOrEmpty(layer.Name))
        {
            int same = _stack.Count(l => l.DefaultName == layer.DefaultName);
            layer.Name = same == 0 ? layer.DefaultName : $"{layer.DefaultName}_{same}";
        }
        if (layer.OutputCount != 1)
            throw new ArgumentException($"Layer '{layer.Name}' ({layer.GetType().Name}) returns {layer.OutputCount} outputs (return_state), but a Sequential chain passes one tensor from layer to layer: use the Functional API (Model) to read its states.", nameof(layer));
        if (_stack.Any(l => l.Name == layer.Name))
            throw new ArgumentException($"A layer named '{layer.Name}' is already in the model.");
        _stack.Add(layer);
    }

    /// <summary>Chains the layers from an input of the model's shape: every layer is built on the way.</summary>
    private protected override void EnsureGraph()
    {
        if (_graphBuilt)
            return;
        if (_stack.Count == 0)
            throw new InvalidOperationException("The model has no layers.");
        var input = new Input(_inputShape, "input");
        SymbolicTensor x = input;
        foreach (Layer layer in _stack)
            x = layer.Call(x);
        SetGraph([input], [x]);
        _graphBuilt = true;
    }
}
