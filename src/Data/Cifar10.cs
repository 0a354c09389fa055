using System.Formats.Tar;
using System.Text;

namespace NanoNet.Data;

/// <summary>
/// CIFAR-10 (Krizhevsky, 2009): 50,000 training and 10,000 test 32×32 colour images in 10 classes,
/// read from the official "binary version": the <c>cifar-10-binary.tar.gz</c> archive itself (streamed
/// once, nothing extracted) or its extracted <c>cifar-10-batches-bin</c> folder.
/// </summary>
/// <remarks>
/// Each batch file holds records of 1 label byte followed by 3072 pixel bytes: the 1024 red values,
/// then the 1024 green, then the 1024 blue, each plane 32×32 row-major (planar CHW). The loader
/// interleaves them into NHWC float tensors (N, 32, 32, 3) scaled to [0, 1], the layout Conv2D uses.
/// </remarks>
public static class Cifar10
{
    /// <summary>The official archive's file name.</summary>
    public const string ArchiveFileName = "cifar-10-binary.tar.gz";

    /// <summary>The folder the archive extracts to.</summary>
    public const string BatchesFolderName = "cifar-10-batches-bin";

    /// <summary>Where the official archive is published.</summary>
    public const string DownloadUrl = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

    /// <summary>Image height and width in pixels.</summary>
    public const int ImageSize = 32;

    /// <summary>Colour channels (R, G, B).</summary>
    public const int Channels = 3;

    /// <summary>Bytes per record: one label byte and 32·32·3 pixel bytes.</summary>
    public const int RecordSize = 1 + PixelsPerImage;

    private const int PlaneSize = ImageSize * ImageSize;
    private const int PixelsPerImage = PlaneSize * Channels;
    private const int TrainBatchCount = 5;
    private const string TestBatchFileName = "test_batch.bin";
    private const string MetaFileName = "batches.meta.txt";
    private const string Expected =
        $"'{ArchiveFileName}' or the extracted '{BatchesFolderName}' folder (data_batch_1..5.bin, test_batch.bin)";

    /// <summary>The class names, by label (as in batches.meta.txt).</summary>
    public static readonly string[] ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// Finds CIFAR-10 in <paramref name="path"/> (the archive, the batches folder, or a folder holding
    /// either), then in <c>$NANONET_DATA</c>. Returns the archive or batches folder to pass to <see cref="Load"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Not found; the message says where it looked, the download URL and the --data option.</exception>
    public static string Locate(string? path = null) => DataLocator.Locate("CIFAR-10", path, Probe, Expected, DownloadUrl);

    /// <summary>
    /// Loads both splits from <paramref name="path"/>: the .tar.gz archive (decompressed once, both
    /// splits in one pass), the batches folder, or a folder holding either. Images are (N, 32, 32, 3)
    /// in [0, 1]; labels are (N) class ids 0..9.
    /// </summary>
    /// <param name="path">The archive, the batches folder, or a folder containing either.</param>
    /// <param name="trainLimit">Keep only the first this many training images (all 50,000 when null).</param>
    /// <param name="testLimit">Keep only the first this many test images (all 10,000 when null).</param>
    /// <exception cref="FileNotFoundException">The data set or one of its files is missing.</exception>
    /// <exception cref="InvalidDataException">A file is truncated or corrupt; the message names the file and the record.</exception>
    public static Cifar10Data Load(string path, int? trainLimit = null, int? testLimit = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckLimit(trainLimit, nameof(trainLimit));
        CheckLimit(testLimit, nameof(testLimit));
        string source = DataLocator.LocateIn("CIFAR-10", path, Probe, Expected, DownloadUrl);
        RawBatches raw = File.Exists(source) ? ReadArchive(source) : ReadFolder(source, trainLimit, testLimit);
        return new Cifar10Data(Decode(raw.Train, trainLimit), Decode([raw.Test!], testLimit), raw.ClassNames ?? ClassNames);
    }

    /// <summary>Loads one batch file (e.g. data_batch_1.bin) into images (N, 32, 32, 3) and labels (N).</summary>
    /// <exception cref="InvalidDataException">The file is empty, truncated or has a label outside 0..9.</exception>
    public static Dataset LoadBatchFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CIFAR-10 batch file not found: {path}", path);
        byte[] data = File.ReadAllBytes(path);
        CheckWholeRecords(path, data.Length);
        return Decode([new RawBatch(path, data)], null);
    }

    // ---- locating -------------------------------------------------------------------------------

    /// <summary>The archive or batches folder in <paramref name="path"/>, or null. Prefers an extracted folder (no decompression).</summary>
    private static string? Probe(string path)
    {
        if (File.Exists(path))
            return path;
        if (IsBatchesFolder(path))
            return path;
        string folder = Path.Combine(path, BatchesFolderName);
        if (IsBatchesFolder(folder))
            return folder;
        string archive = Path.Combine(path, ArchiveFileName);
        return File.Exists(archive) ? archive : null;
    }

    private static bool IsBatchesFolder(string folder) =>
        File.Exists(Path.Combine(folder, "data_batch_1.bin")) || File.Exists(Path.Combine(folder, TestBatchFileName));

    private static void CheckLimit(int? limit, string name)
    {
        if (limit < 0)
            throw new ArgumentOutOfRangeException(name, limit, "The limit must be non-negative.");
    }

    // ---- reading the raw bytes -----------------------------------------------------------------

    /// <summary>The bytes of one batch file; <see cref="Source"/> names it in error messages.</summary>
    private sealed record RawBatch(string Source, byte[] Data)
    {
        public int Records => Data.Length / RecordSize;
    }

    private sealed class RawBatches
    {
        public RawBatch?[] TrainByNumber { get; } = new RawBatch?[TrainBatchCount];
        public RawBatch? Test { get; set; }
        public IReadOnlyList<string>? ClassNames { get; set; }
        public List<RawBatch> Train => TrainByNumber.OfType<RawBatch>().ToList();
    }

    /// <summary>One pass over the archive, keeping the batch files and the class names (its entries are not in batch order).</summary>
    private static RawBatches ReadArchive(string archivePath)
    {
        var raw = new RawBatches();
        TarGzReader.ForEachFile(archivePath, (name, entry) =>
        {
            string fileName = name[(name.LastIndexOf('/') + 1)..];
            if (fileName == MetaFileName)
            {
                raw.ClassNames = ParseClassNames(ReadEntry(archivePath, name, entry), $"{archivePath}: {name}");
                return;
            }
            int number = TrainBatchNumber(fileName);
            if (number == 0 && fileName != TestBatchFileName)
                return;
            string source = $"{archivePath}: {name}";
            if (entry.Length > Array.MaxLength)
                throw new InvalidDataException($"{source}: {entry.Length} bytes is too large for a CIFAR-10 batch.");
            CheckWholeRecords(source, entry.Length);
            var batch = new RawBatch(source, new byte[entry.Length]);
            int read = TarGzReader.ReadData(entry, batch.Data, archivePath, name);
            if (read < batch.Data.Length)
                throw new InvalidDataException(
                    $"{source}: truncated: the archive ends inside record {read / RecordSize} (0-based; {read % RecordSize} of its {RecordSize} bytes present, " +
                    $"{read} of {entry.Length} bytes of the file).");
            if (number > 0)
                raw.TrainByNumber[number - 1] = batch;
            else
                raw.Test = batch;
        });
        string folder = $"{BatchesFolderName}/";
        for (int i = 0; i < TrainBatchCount; i++)
            if (raw.TrainByNumber[i] is null)
                throw new InvalidDataException($"{archivePath}: the archive has no entry {folder}data_batch_{i + 1}.bin; is it the CIFAR-10 binary version ({DownloadUrl})?");
        if (raw.Test is null)
            throw new InvalidDataException($"{archivePath}: the archive has no entry {folder}{TestBatchFileName}; is it the CIFAR-10 binary version ({DownloadUrl})?");
        return raw;
    }

    /// <summary>Reads the batch files of an extracted folder; with a training limit, only as many files as needed.</summary>
    private static RawBatches ReadFolder(string folder, int? trainLimit, int? testLimit)
    {
        var raw = new RawBatches();
        int trainRecords = 0;
        for (int number = 1; number <= TrainBatchCount && trainRecords < (trainLimit ?? int.MaxValue); number++)
        {
            raw.TrainByNumber[number - 1] = ReadBatchFile(Path.Combine(folder, $"data_batch_{number}.bin"));
            trainRecords += raw.TrainByNumber[number - 1]!.Records;
        }
        raw.Test = testLimit == 0
            ? new RawBatch(Path.Combine(folder, TestBatchFileName), [])
            : ReadBatchFile(Path.Combine(folder, TestBatchFileName));
        string meta = Path.Combine(folder, MetaFileName);
        if (File.Exists(meta))
            raw.ClassNames = ParseClassNames(File.ReadAllBytes(meta), meta);
        return raw;
    }

    private static RawBatch ReadBatchFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CIFAR-10 batch file not found: {path} (the folder should hold data_batch_1..5.bin and {TestBatchFileName}).", path);
        byte[] data = File.ReadAllBytes(path);
        CheckWholeRecords(path, data.Length);
        return new RawBatch(path, data);
    }

    private static byte[] ReadEntry(string archivePath, string name, TarEntry entry)
    {
        var data = new byte[Math.Min(entry.Length, 1 << 20)];
        int read = TarGzReader.ReadData(entry, data, archivePath, name);
        return data[..read];
    }

    /// <summary>1..5 for "data_batch_1.bin".."data_batch_5.bin", else 0.</summary>
    private static int TrainBatchNumber(string fileName) =>
        fileName.Length == "data_batch_1.bin".Length && fileName.StartsWith("data_batch_", StringComparison.Ordinal)
        && fileName.EndsWith(".bin", StringComparison.Ordinal) && fileName[11] is >= '1' and <= '5'
            ? fileName[11] - '0'
            : 0;

    /// <summary>A batch file must hold at least one record and only whole records.</summary>
    private static void CheckWholeRecords(string source, long length)
    {
        if (length == 0)
            throw new InvalidDataException($"{source}: the file is empty (expected records of {RecordSize} bytes).");
        if (length % RecordSize != 0)
            throw new InvalidDataException(
                $"{source}: truncated or not a CIFAR-10 batch: record {length / RecordSize} (0-based) is incomplete " +
                $"({length % RecordSize} of {RecordSize} bytes; the file has {length} bytes, not a multiple of {RecordSize}).");
    }

    private static string[] ParseClassNames(byte[] text, string source)
    {
        string[] names = Encoding.UTF8.GetString(text)
            .Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length != ClassNames.Length)
            throw new InvalidDataException($"{source}: expected {ClassNames.Length} class names, one per line, found {names.Length}.");
        return names;
    }

    // ---- decoding -------------------------------------------------------------------------------

    private static readonly float[] ByteToUnit = Enumerable.Range(0, 256).Select(b => b / 255f).ToArray();

    /// <summary>Converts the first <paramref name="limit"/> records of the batches, in order, to NHWC images and labels.</summary>
    private static Dataset Decode(List<RawBatch> batches, int? limit)
    {
        int available = batches.Sum(b => b.Records);
        int count = Math.Min(available, limit ?? available);
        var images = Tensor.Zeros(count, ImageSize, ImageSize, Channels);
        var labels = Tensor.Zeros(count);
        Span<float> x = images.Span, y = labels.Span;
        int row = 0;
        foreach (RawBatch batch in batches)
        {
            for (int record = 0; record < batch.Records && row < count; record++, row++)
            {
                ReadOnlySpan<byte> bytes = batch.Data.AsSpan(record * RecordSize, RecordSize);
                if (bytes[0] >= ClassNames.Length)
                    throw new InvalidDataException(
                        $"{batch.Source}: record {record} (0-based) has label {bytes[0]}, expected 0..{ClassNames.Length - 1}; the file is corrupt or not a CIFAR-10 batch.");
                y[row] = bytes[0];
                PlanarToInterleaved(bytes[1..], x.Slice(row * PixelsPerImage, PixelsPerImage));
            }
        }
        return new Dataset(images, labels);
    }

    /// <summary>CHW bytes (R plane, G plane, B plane) to HWC floats in [0, 1].</summary>
    private static void PlanarToInterleaved(ReadOnlySpan<byte> planes, Span<float> image)
    {
        ReadOnlySpan<byte> red = planes[..PlaneSize], green = planes.Slice(PlaneSize, PlaneSize), blue = planes.Slice(2 * PlaneSize, PlaneSize);
        ReadOnlySpan<float> unit = ByteToUnit;
        for (int p = 0; p < PlaneSize; p++)
        {
            image[3 * p] = unit[red[p]];
            image[3 * p + 1] = unit[green[p]];
            image[3 * p + 2] = unit[blue[p]];
        }
    }
}
