namespace NanoNet.Layers;

/// <summary>
/// One layer call in a model's graph, in run order: which layer, which tensors it reads and which it
/// writes, by their slot in the model's value table.
/// </summary>
/// <param name="Layer">The layer called (a layer called twice appears in two nodes: shared weights).</param>
/// <param name="InputSlots">Value-table slots of the call's inputs.</param>
/// <param name="OutputSlots">Value-table slots of the call's outputs (one, or several for a layer such as an LSTM with return_state).</param>
internal sealed record GraphNode(Layer Layer, int[] InputSlots, int[] OutputSlots)
{
    /// <summary>The slot of the call's first (usually only) output.</summary>
    public int OutputSlot => OutputSlots[0];

    /// <summary>Whether the call goes through <see cref="Layer.ForwardCall"/>: several outputs, or several inputs to a layer that is not a merge.</summary>
    public bool IsMultiTensorCall => OutputSlots.Length > 1 || (InputSlots.Length > 1 && Layer is not MergeLayer);

    /// <summary>Whether the output is read by another node (then a loss may not fuse with its activation).</summary>
    public bool FeedsOtherNodes { get; set; }

    /// <summary>
    /// Whether this is a Conv2D whose only reader is the next node, a MaxPool2D, and whose output is not a model
    /// output: the two run as one op (<see cref="Conv2D.ForwardMaxPooled"/>), in training as at inference.
    /// </summary>
    public bool PoolsIntoNext { get; set; }

    /// <summary>
    /// Whether this is an Embedding whose only reader is the next node, an LSTM (one input, one output, not stateful),
    /// and whose output is not a model output: the two run as one op (<see cref="Lstm.ForwardOnEmbedding"/>), which
    /// projects each distinct id once; at inference bitwise the two calls, in training too unless the LSTM draws dropout
    /// masks (then the two calls run: each sequence's input mask breaks the sharing of an id's projection).
    /// </summary>
    public bool ProjectsIntoNext { get; set; }

    /// <summary>"Connected to" column of the summary: the sources of the inputs.</summary>
    public string ConnectedTo { get; init; } = "";
}
