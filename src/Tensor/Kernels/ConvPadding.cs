namespace NanoNet.Kernels;

/// <summary>Keras' padding modes for convolution and pooling windows.</summary>
public enum ConvPadding
{
    /// <summary>No padding: windows lie wholly inside the input; OH = ⌊(H − KH_eff) / stride⌋ + 1.</summary>
    Valid,

    /// <summary>
    /// Zeros around the input so that OH = ⌈H / stride⌉: max((OH − 1)·stride + KH_eff − H, 0) rows in total,
    /// the odd one at the bottom (right), as TensorFlow does.
    /// </summary>
    Same,

    /// <summary>
    /// Conv1D only: (K − 1)·dilation zeros before the first step and none after, so output step t sees
    /// inputs up to t·stride and never the future. Applies to the width (the time axis of a Conv1D
    /// laid out as a 1×T image).
    /// </summary>
    Causal,
}
