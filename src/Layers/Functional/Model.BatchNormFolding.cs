using NanoNet.Diagnostics;

namespace NanoNet.Layers;

public partial class Model
{
    private BatchNormFolding? _folding;

    /// <summary>
    /// Whether inference (<see cref="Predict(Tensor, int)"/>, single-sample Predict, <see cref="Evaluate"/>, and
    /// <see cref="Forward(Tensor, bool)"/> outside training with gradients off) folds each BatchNormalization into the
    /// Dense, Conv1D or Conv2D before it: W' = W·γ/√(σ² + ε) per output channel, b' = (b − μ)·γ/√(σ² + ε) + β, one
    /// layer call instead of two. Off by default. Training is never folded.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>It cannot go stale.</b> The folded kernel and bias are recomputed from the current weights at the start of
    /// every inference run (each Predict batch, each single sample), into buffers of that run's own pass; nothing is
    /// cached across calls. So training, loading weights or writing a weight by hand is seen by the very next call,
    /// with no invalidation to forget. The layers' own weights are only read: training, the saved weights and the
    /// gradients are exactly as without folding, and concurrent Predict calls each fold into their own buffers.
    /// </para>
    /// <para>
    /// <b>What it costs and gives.</b> The fold is one pass over the folded kernels per run (a 3×3×32×32 convolution's
    /// 9,216 values against the 2+ million activations of a 256-image batch it saves a pass over); it saves the
    /// normalisation's read and write of every activation and its output buffer. For a large Dense kernel read for
    /// few rows (single-sample Predict) the fold costs about as much as the product itself, which is why it is a choice.
    /// Results equal the unfolded ones up to float rounding (the products are rounded in another order), not bit for bit.
    /// </para>
    /// <para>
    /// A pair folds only when that is exact: the layer's activation is linear (Keras's Conv → BatchNormalization →
    /// Activation), the BatchNormalization normalises the last axis and is the only reader of the layer's output,
    /// and that output is not a model output. ONNX export is not folded (ONNX Runtime fuses Conv and
    /// BatchNormalization itself when it optimises the graph).
    /// </para>
    /// </remarks>
    public bool FoldBatchNormalization { get; set; }

    /// <summary>
    /// Folds every foldable pair's current weights into <paramref name="pass"/>'s buffers and returns the plan,
    /// or null when folding is off or nothing folds.
    /// </summary>
    private BatchNormFolding? FoldWeights(GraphPass pass)
    {
        if (!FoldBatchNormalization)
            return null;
        BatchNormFolding folding = _folding ??= BatchNormFolding.Plan(_nodes, _outputSlots);
        if (!folding.Any)
            return null;
        for (int n = 0; n < _nodes.Length; n++)
        {
            if (folding.Into[n] < 0)
                continue;
            var layer = (IFoldableLinearLayer)_nodes[n].Layer;
            var bn = (BatchNormalization)_nodes[folding.Into[n]].Layer;
            Tensor kernel = pass.FoldedKernels[n] ??= Tensor.Zeros(layer.Kernel.Shape.ToArray());
            Tensor bias = pass.FoldedBiases[n] ??= Tensor.Zeros(layer.Bias.Shape.ToArray());
            BatchNormFolding.Fold(layer, bn, kernel, bias);
        }
        return folding;
    }

    /// <summary>
    /// Node <paramref name="n"/> of a folded pair: the layer runs with the folded weights and writes the
    /// BatchNormalization's output slot; the BatchNormalization itself does nothing.
    /// </summary>
    private void RunFolded(GraphPass pass, BatchNormFolding folding, int n)
    {
        if (folding.Skipped[n])
            return;
        GraphNode node = _nodes[n];
        using Profiler.ScopeHandle scope = Profiler.Enabled ? Profiler.Scope(node.Layer.Name) : default;
        Tensor x = pass.Values[node.InputSlots[0]]!;
        Tensor y = ((IFoldableLinearLayer)node.Layer).ForwardWith(x, pass.FoldedKernels[n]!, pass.FoldedBiases[n]!);
        if (node.Layer.SupportsMasking && y.Mask is null && !ReferenceEquals(x, y)) // as Layer.Forward, then BatchNormalization, pass it on
            y.Mask = x.Mask;
        pass.Values[_nodes[folding.Into[n]].OutputSlot] = y;
    }

    /// <summary>The (layer, BatchNormalization) pairs inference folds when <see cref="FoldBatchNormalization"/> is on, by layer name.</summary>
    internal IReadOnlyList<(string Layer, string BatchNormalization)> FoldedPairs()
    {
        EnsureGraph();
        BatchNormFolding folding = _folding ??= BatchNormFolding.Plan(_nodes, _outputSlots);
        var pairs = new List<(string, string)>();
        for (int n = 0; n < _nodes.Length; n++)
            if (folding.Into[n] >= 0)
                pairs.Add((_nodes[n].Layer.Name, _nodes[folding.Into[n]].Layer.Name));
        return pairs;
    }
}
