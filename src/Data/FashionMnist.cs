namespace NanoNet.Data;

/// <summary>
/// Fashion-MNIST (Zalando): 60,000 training and 10,000 test 28×28 grey images of clothing, 10 classes,
/// in the official gzipped IDX files. On Debian: <c>apt-get install dataset-fashion-mnist</c>.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where the Debian package puts the files.</summary>
    public const string DebianDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names, by label.</summary>
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads the training and test sets from <paramref name="directory"/> (the .gz files or their
    /// uncompressed twins). Images are (N, 28, 28) scaled to [0, 1]; labels are (N) class ids.
    /// </summary>
    public static (Dataset Train, Dataset Test) Load(string directory = DebianDirectory) =>
        (LoadSplit(directory, "train"), LoadSplit(directory, "t10k"));

    /// <summary>Loads one split: <paramref name="prefix"/> is "train" or "t10k".</summary>
    public static Dataset LoadSplit(string directory, string prefix)
    {
        string imagesPath = Find(directory, $"{prefix}-images-idx3-ubyte");
        string labelsPath = Find(directory, $"{prefix}-labels-idx1-ubyte");
        var (imageShape, pixels) = IdxReader.ReadBytes(imagesPath);
        var (labelShape, labels) = IdxReader.ReadBytes(labelsPath);
        if (imageShape.Length != 3)
            throw new InvalidDataException($"{imagesPath}: expected images of shape (N, rows, cols), got ({string.Join(", ", imageShape)}).");
        if (labelShape.Length != 1 || labelShape[0] != imageShape[0])
            throw new InvalidDataException($"{labelsPath}: expected {imageShape[0]} labels to match {imagesPath}, got shape ({string.Join(", ", labelShape)}).");

        var images = Tensor.Zeros(imageShape);
        Span<float> x = images.Span;
        for (int i = 0; i < pixels.Length; i++)
            x[i] = pixels[i] * (1f / 255f);
        var y = Tensor.Zeros(labelShape[0]);
        Span<float> ys = y.Span;
        for (int i = 0; i < labels.Length; i++)
            ys[i] = labels[i];
        return new Dataset(images, y) { DescribeRow = row => $"{labelsPath}: record {row}" };
    }

    private static string Find(string directory, string baseName)
    {
        foreach (string candidate in new[] { baseName + ".gz", baseName })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path))
                return path;
        }
        throw new FileNotFoundException(
            $"Fashion-MNIST file '{baseName}.gz' not found in '{directory}'. Install it with 'apt-get install dataset-fashion-mnist' " +
            $"(files go to {DebianDirectory}) or download the four IDX files from https://github.com/zalandoresearch/fashion-mnist and pass their folder.",
            Path.Combine(directory, baseName + ".gz"));
    }
}
