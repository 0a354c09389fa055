namespace NanoNet.Kernels;

/// <summary>
/// The sizes of one 2-D convolution or pooling window over NHWC images, with Keras' padding rules.
/// </summary>
/// <remarks>
/// "valid": no padding, OH = ⌊(H − KH) / stride⌋ + 1. "same": OH = ⌈H / stride⌉ and the input is padded
/// with zeros by max((OH − 1)·stride + KH − H, 0) rows in total, the odd one at the bottom (as in
/// TensorFlow); likewise for the width.
/// </remarks>
public readonly record struct ConvGeometry(
    int Height, int Width, int Channels,
    int KernelHeight, int KernelWidth, int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int OutputHeight, int OutputWidth)
{
    /// <summary>Computes the geometry for an input H×W×C, a KH×KW window, a stride and a padding mode.</summary>
    public static ConvGeometry Create(int height, int width, int channels, int kernelHeight, int kernelWidth,
        int strideHeight, int strideWidth, bool samePadding)
    {
        if (kernelHeight < 1 || kernelWidth < 1 || strideHeight < 1 || strideWidth < 1)
            throw new ArgumentException($"Window {kernelHeight}x{kernelWidth} and stride {strideHeight}x{strideWidth} must be positive.");
        int outH, outW, padTop = 0, padLeft = 0;
        if (samePadding)
        {
            outH = (height + strideHeight - 1) / strideHeight;
            outW = (width + strideWidth - 1) / strideWidth;
            padTop = Math.Max((outH - 1) * strideHeight + kernelHeight - height, 0) / 2;
            padLeft = Math.Max((outW - 1) * strideWidth + kernelWidth - width, 0) / 2;
        }
        else
        {
            if (height < kernelHeight || width < kernelWidth)
                throw new ArgumentException($"A {kernelHeight}x{kernelWidth} window does not fit a {height}x{width} input with 'valid' padding.");
            outH = (height - kernelHeight) / strideHeight + 1;
            outW = (width - kernelWidth) / strideWidth + 1;
        }
        return new ConvGeometry(height, width, channels, kernelHeight, kernelWidth, strideHeight, strideWidth, padTop, padLeft, outH, outW);
    }

    /// <summary>Values in one image: H·W·C.</summary>
    public int InputImageSize => Height * Width * Channels;

    /// <summary>Output pixels per image: OH·OW (rows of the im2col matrix per image).</summary>
    public int OutputPixels => OutputHeight * OutputWidth;

    /// <summary>Length of one patch: KH·KW·C (columns of the im2col matrix).</summary>
    public int PatchSize => KernelHeight * KernelWidth * Channels;
}
