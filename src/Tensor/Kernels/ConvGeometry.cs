namespace NanoNet.Kernels;

/// <summary>
/// The sizes of one 2-D convolution or pooling window over NHWC images, with Keras' padding rules.
/// </summary>
/// <remarks>
/// A dilated window of K taps spaced by the dilation d spans K_eff = (K − 1)·d + 1 input pixels.
/// "valid": no padding, OH = ⌊(H − KH_eff) / stride⌋ + 1. "same": OH = ⌈H / stride⌉ and the input is
/// padded with zeros by max((OH − 1)·stride + KH_eff − H, 0) rows in total, the odd one at the bottom (as
/// in TensorFlow); likewise for the width. "causal" (Conv1D, the width only): (KW − 1)·dW columns on the
/// left, none on the right, OW = ⌈W / stride⌉. A 1-D convolution or pooling over (N, T, C) is this
/// geometry with H = 1 and W = T: the memory layouts agree, so Conv1D and the 1-D poolings run the 2-D kernels.
/// </remarks>
public readonly record struct ConvGeometry(
    int Height, int Width, int Channels,
    int KernelHeight, int KernelWidth, int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int OutputHeight, int OutputWidth,
    int DilationHeight = 1, int DilationWidth = 1)
{
    /// <summary>Computes the geometry for an input H×W×C, a KH×KW window, a stride and a padding mode (no dilation).</summary>
    public static ConvGeometry Create(int height, int width, int channels, int kernelHeight, int kernelWidth,
        int strideHeight, int strideWidth, bool samePadding) =>
        Create(height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth, 1, 1, samePadding ? ConvPadding.Same : ConvPadding.Valid);

    /// <summary>Computes the geometry for an input H×W×C, a KH×KW window with strides and dilations, and a padding mode.</summary>
    public static ConvGeometry Create(int height, int width, int channels, int kernelHeight, int kernelWidth,
        int strideHeight, int strideWidth, int dilationHeight, int dilationWidth, ConvPadding padding)
    {
        if (kernelHeight < 1 || kernelWidth < 1 || strideHeight < 1 || strideWidth < 1 || dilationHeight < 1 || dilationWidth < 1)
            throw new ArgumentException($"Window {kernelHeight}x{kernelWidth}, stride {strideHeight}x{strideWidth} and dilation {dilationHeight}x{dilationWidth} must be positive.");
        if (height < 1 || width < 1 || channels < 1)
            throw new ArgumentException($"The input {height}x{width}x{channels} must not be empty.");
        int spanHeight = (kernelHeight - 1) * dilationHeight + 1, spanWidth = (kernelWidth - 1) * dilationWidth + 1;
        int outH, outW, padTop = 0, padLeft = 0;
        switch (padding)
        {
            case ConvPadding.Same:
                outH = (height + strideHeight - 1) / strideHeight;
                outW = (width + strideWidth - 1) / strideWidth;
                padTop = Math.Max((outH - 1) * strideHeight + spanHeight - height, 0) / 2;
                padLeft = Math.Max((outW - 1) * strideWidth + spanWidth - width, 0) / 2;
                break;
            case ConvPadding.Causal:
                if (height < spanHeight)
                    throw new ArgumentException($"A {kernelHeight}x{kernelWidth} window (dilation {dilationHeight}x{dilationWidth}) does not fit a {height}x{width} input: 'causal' pads the width only.");
                outH = (height - spanHeight) / strideHeight + 1;
                outW = (width + strideWidth - 1) / strideWidth;
                padLeft = spanWidth - 1;
                break;
            case ConvPadding.Valid:
                if (height < spanHeight || width < spanWidth)
                    throw new ArgumentException($"A {kernelHeight}x{kernelWidth} window (dilation {dilationHeight}x{dilationWidth}) does not fit a {height}x{width} input with 'valid' padding.");
                outH = (height - spanHeight) / strideHeight + 1;
                outW = (width - spanWidth) / strideWidth + 1;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(padding), padding, "Unknown padding mode.");
        }
        return new ConvGeometry(height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth, padTop, padLeft, outH, outW,
            dilationHeight, dilationWidth);
    }

    /// <summary>Values in one image: H·W·C.</summary>
    public int InputImageSize => Height * Width * Channels;

    /// <summary>Output pixels per image: OH·OW (rows of the im2col matrix per image).</summary>
    public int OutputPixels => OutputHeight * OutputWidth;

    /// <summary>Length of one patch: KH·KW·C (columns of the im2col matrix).</summary>
    public int PatchSize => KernelHeight * KernelWidth * Channels;

    /// <summary>Padding rows below the image that some window reads (the odd row of "same" padding); never negative.</summary>
    public int PadBottom => Math.Max((OutputHeight - 1) * StrideHeight + (KernelHeight - 1) * DilationHeight + 1 - Height - PadTop, 0);

    /// <summary>Padding columns right of the image that some window reads; never negative.</summary>
    public int PadRight => Math.Max((OutputWidth - 1) * StrideWidth + (KernelWidth - 1) * DilationWidth + 1 - Width - PadLeft, 0);
}
