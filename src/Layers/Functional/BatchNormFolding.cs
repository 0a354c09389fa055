using System.Numerics.Tensors;

namespace NanoNet.Layers;

/// <summary>
/// A layer whose output is linear in its kernel per output channel, y = x ⊛ W + b with W's last axis the output
/// channels (Dense (inputs, units), Conv1D (K, C, F), Conv2D (KH, KW, C, F)): a BatchNormalization after it can
/// be folded into W and b at inference (<see cref="BatchNormFolding"/>).
/// </summary>
internal interface IFoldableLinearLayer
{
    /// <summary>The kernel, output channels on its last axis.</summary>
    Tensor Kernel { get; }

    /// <summary>The bias, one per output channel.</summary>
    Tensor Bias { get; }

    /// <summary>The activation applied after x ⊛ W + b (only linear layers are folded).</summary>
    ActivationFunction Activation { get; }

    /// <summary>The layer's forward pass with <paramref name="kernel"/> and <paramref name="bias"/> in place of its own (same shapes).</summary>
    Tensor ForwardWith(Tensor x, Tensor kernel, Tensor bias);
}

/// <summary>
/// Folding a BatchNormalization into the Dense or convolution before it, for inference. At inference the
/// normalisation is a fixed affine map per channel, BN(z) = a·z + (β − a·μ) with a = γ/√(σ² + ε) (μ, σ² the
/// moving statistics), and z = x ⊛ W + b is linear in W and b per output channel f, so
/// BN(x ⊛ W + b) = x ⊛ W' + b' with W'[…, f] = W[…, f]·a[f] and b'[f] = (b[f] − μ[f])·a[f] + β[f]:
/// one layer call instead of two, and no pass over the activations for the normalisation.
/// </summary>
/// <remarks>
/// A pair is folded only when the result is exactly that map: the layer is a <see cref="IFoldableLinearLayer"/>
/// with a linear activation (a ReLU in between would not commute with the scaling), the BatchNormalization
/// normalises the last axis (the kernel's output channels) and is the only reader of the layer's output, and that
/// output is not one of the model's outputs.
/// </remarks>
internal sealed class BatchNormFolding
{
    private BatchNormFolding(int[] into, bool[] skipped) => (Into, Skipped, Any) = (into, skipped, Array.IndexOf(skipped, true) >= 0);

    /// <summary>Per node: the index of the BatchNormalization node folded into it, or −1.</summary>
    public int[] Into { get; }

    /// <summary>Per node: whether it is a BatchNormalization folded into the node before it (not run).</summary>
    public bool[] Skipped { get; }

    /// <summary>Whether any pair folds.</summary>
    public bool Any { get; }

    /// <summary>Finds the foldable (layer, BatchNormalization) pairs of a graph.</summary>
    public static BatchNormFolding Plan(GraphNode[] nodes, int[] outputSlots)
    {
        var into = new int[nodes.Length];
        var skipped = new bool[nodes.Length];
        Array.Fill(into, -1);
        for (int n = 0; n < nodes.Length; n++)
        {
            if (nodes[n].Layer is not IFoldableLinearLayer { Activation: ActivationFunction.Linear } || Array.IndexOf(outputSlots, nodes[n].OutputSlot) >= 0)
                continue;
            int slot = nodes[n].OutputSlot, reader = -1, readers = 0;
            for (int m = 0; m < nodes.Length; m++)
                foreach (int input in nodes[m].InputSlots)
                    if (input == slot)
                        (reader, readers) = (m, readers + 1);
            if (readers == 1 && nodes[reader].Layer is BatchNormalization bn && bn.SampleAxis == bn.InputShape.Length - 1)
                (into[n], skipped[reader]) = (reader, true);
        }
        return new BatchNormFolding(into, skipped);
    }

    /// <summary>W' = W·a per output channel and b' = (b − μ)·a + β, a = γ/√(σ² + ε), from the current weights.</summary>
    public static void Fold(IFoldableLinearLayer layer, BatchNormalization bn, Tensor foldedKernel, Tensor foldedBias)
    {
        ReadOnlySpan<float> kernel = layer.Kernel.Span, bias = layer.Bias.Span, mean = bn.MovingMean.Span, variance = bn.MovingVariance.Span;
        ReadOnlySpan<float> gamma = bn.Gamma is { } g ? g.Span : default, beta = bn.Beta is { } b ? b.Span : default;
        Span<float> outKernel = foldedKernel.Span, a = foldedBias.Span; // a first, then b' over it
        int channels = bias.Length;
        for (int f = 0; f < channels; f++) // the same a as Ops.BatchNormalization computes: only the fold's roundings differ
            a[f] = (gamma.IsEmpty ? 1f : gamma[f]) * (1f / MathF.Sqrt(variance[f] + bn.Epsilon));
        for (int row = 0; row < kernel.Length; row += channels) // the kernel as rows of C_out values
            TensorPrimitives.Multiply(kernel.Slice(row, channels), a, outKernel.Slice(row, channels));
        for (int f = 0; f < channels; f++)
            a[f] = (bias[f] - mean[f]) * a[f] + (beta.IsEmpty ? 0f : beta[f]);
    }
}
