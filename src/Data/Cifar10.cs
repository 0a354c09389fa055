using System.Formats.Tar;
using System.Text;

namespace NanoNet.Data;

/// <summary>
/// CIFAR-10 (Krizhevsky, 2009): 50,000 training and 10,000 test 32×32 colour images in 10 classes,
/// read from the official "binary version": the <c>cifar-10-binary.tar.gz</c> archive itself (streamed
/// once, nothing extracted) or its extracted <c>cifar-10-batches-bin</c> folder.
/// </summary>
/// <remarks>
/// <para>Byte layout of a batch file (<c>data_batch_1..5.bin</c>, <c>test_batch.bin</c>), no header:</para>
/// <code>
/// record r at offset 3073·r:   1 byte label (0..9), 1024 red, 1024 green, 1024 blue (each 32×32 row-major)
/// </code>
/// <para>so a file is a whole number of 3073-byte records (10,000 in the official files; at most
/// <see cref="MaxRecordsPerBatch"/> are accepted). <c>batches.meta.txt</c> holds the 10 class names, one per
/// line, each line ending in a line feed. The loader interleaves the planar CHW pixels into NHWC float
/// tensors (N, 32, 32, 3) scaled to [0, 1], the layout Conv2D uses.</para>
/// <para>In the archive every size comes from a tar header, so it is checked (whole records, at most
/// <see cref="MaxRecordsPerBatch"/>) before anything is allocated; an entry that appears twice is an
/// error; with a training or test limit only the records that can be used are kept, and reading stops as
/// soon as every needed entry has been seen (so entries after that point are not examined).</para>
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

    /// <summary>The most records a batch file may hold (the official files hold exactly this many).</summary>
    public const int MaxRecordsPerBatch = 10_000;

    private const int PlaneSize = ImageSize * ImageSize;
    private const int PixelsPerImage = PlaneSize * Channels;
    private const int TrainBatchCount = 5;
    private const string TestBatchFileName = "test_batch.bin";
    private const string MetaFileName = "batches.meta.txt";
    private const int MaxMetaBytes = 1 << 16;
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
    /// <exception cref="InvalidDataException">
    /// A file or archive entry is truncated, corrupt, larger than <see cref="MaxRecordsPerBatch"/> records,
    /// present twice, or has a label outside 0..9; the message names the file (archive and entry) and the record.
    /// </exception>
    public static Cifar10Data Load(string path, int? trainLimit = null, int? testLimit = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckLimit(trainLimit, nameof(trainLimit));
        CheckLimit(testLimit, nameof(testLimit));
        string source = DataLocator.LocateIn("CIFAR-10", path, Probe, Expected, DownloadUrl);
        RawBatches raw = File.Exists(source) ? ReadArchive(source, trainLimit, testLimit) : ReadFolder(source, trainLimit, testLimit);
        return new Cifar10Data(Decode(raw.Train, trainLimit), Decode([raw.Test!], testLimit), raw.ClassNames ?? ClassNames);
    }

    /// <summary>Loads one batch file (e.g. data_batch_1.bin) into images (N, 32, 32, 3) and labels (N).</summary>
    /// <exception cref="InvalidDataException">The file is empty, truncated or has a label outside 0..9.</exception>
    public static Dataset LoadBatchFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CIFAR-10 batch file not found: {path}", path);
        return Decode([ReadBatchFile(path)], null);
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

    /// <summary>
    /// One pass over the archive (its entries are not in batch order), keeping the records the limits can
    /// use and the class names, and stopping as soon as every needed entry has been seen.
    /// </summary>
    private static RawBatches ReadArchive(string archivePath, int? trainLimit, int? testLimit)
    {
        var raw = new RawBatches();
        var trainRecords = new int?[TrainBatchCount]; // records in each training batch, from its header; null = not seen yet
        var firstEntry = new Dictionary<string, string>(StringComparer.Ordinal); // file name → the entry that held it
        TarGzReader.ForEachFile(archivePath, (name, entry) =>
        {
            string fileName = name[(name.LastIndexOf('/') + 1)..];
            int number = TrainBatchNumber(fileName);
            if (fileName != MetaFileName && fileName != TestBatchFileName && number == 0)
                return true;
            string source = $"{archivePath}: {name}";
            if (!firstEntry.TryAdd(fileName, name))
                throw new InvalidDataException(
                    $"{source}: the archive holds {fileName} twice (first as {firstEntry[fileName]}); a CIFAR-10 archive has one of each batch file.");
            if (fileName == MetaFileName)
            {
                raw.ClassNames = ParseClassNames(ReadMetaEntry(archivePath, name, entry), source);
            }
            else
            {
                int records = CheckBatchLength(source, entry.Length);
                int keep;
                if (number > 0)
                {
                    trainRecords[number - 1] = records;
                    keep = (int)Math.Min(records, Math.Max(0, (trainLimit ?? int.MaxValue) - FewestRecordsBefore(number, trainRecords)));
                }
                else
                {
                    keep = Math.Min(records, testLimit ?? records);
                }
                var batch = new RawBatch(source, new byte[keep * RecordSize]); // ≤ MaxRecordsPerBatch records, checked above
                int read = TarGzReader.ReadData(entry, batch.Data, archivePath, name);
                if (read < batch.Data.Length)
                    throw new InvalidDataException(
                        $"{source}: truncated: the archive ends inside record {read / RecordSize} (0-based; {read % RecordSize} of its {RecordSize} bytes present, " +
                        $"{read} of {entry.Length} bytes of the file).");
                if (number > 0)
                    raw.TrainByNumber[number - 1] = batch;
                else
                    raw.Test = batch;
            }
            bool trainDone = MissingTrainBatch(trainRecords, trainLimit) == 0;
            bool testDone = raw.Test is not null || testLimit == 0;
            // With a limit, stop once nothing more is needed; a full load reads on, so a duplicate anywhere is caught.
            bool limited = trainLimit is not null || testLimit is not null;
            return !(limited && trainDone && testDone && raw.ClassNames is not null);
        });
        string folder = $"{BatchesFolderName}/";
        int missing = MissingTrainBatch(trainRecords, trainLimit);
        if (missing > 0)
            throw new InvalidDataException($"{archivePath}: the archive has no entry {folder}data_batch_{missing}.bin; is it the CIFAR-10 binary version ({DownloadUrl})?");
        if (raw.Test is null && testLimit != 0)
            throw new InvalidDataException($"{archivePath}: the archive has no entry {folder}{TestBatchFileName}; is it the CIFAR-10 binary version ({DownloadUrl})?");
        raw.Test ??= new RawBatch($"{archivePath}: {folder}{TestBatchFileName}", []);
        return raw;
    }

    /// <summary>
    /// A lower bound on the training records before batch <paramref name="number"/>: the known counts of the
    /// batches seen, and one record (the least a batch file holds) for each not seen yet.
    /// </summary>
    private static long FewestRecordsBefore(int number, int?[] trainRecords)
    {
        long sum = 0;
        for (int i = 0; i < number - 1; i++)
            sum += trainRecords[i] ?? 1;
        return sum;
    }

    /// <summary>The first training batch (1..5) still needed to reach the limit but not seen yet, or 0 when none is.</summary>
    private static int MissingTrainBatch(int?[] trainRecords, int? trainLimit)
    {
        long before = 0;
        for (int i = 0; i < TrainBatchCount && before < (trainLimit ?? long.MaxValue); i++)
        {
            if (trainRecords[i] is not int records)
                return i + 1;
            before += records;
        }
        return 0;
    }

    /// <summary>For tests: the batch bytes a pass over the archive keeps with these limits.</summary>
    internal static long ArchiveBytesKept(string archivePath, int? trainLimit, int? testLimit)
    {
        RawBatches raw = ReadArchive(archivePath, trainLimit, testLimit);
        return raw.Train.Sum(b => (long)b.Data.Length) + raw.Test!.Data.Length;
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
        {
            CheckMetaLength(meta, new FileInfo(meta).Length);
            raw.ClassNames = ParseClassNames(File.ReadAllBytes(meta), meta);
        }
        return raw;
    }

    private static RawBatch ReadBatchFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"CIFAR-10 batch file not found: {path} (the folder should hold data_batch_1..5.bin and {TestBatchFileName}).", path);
        CheckBatchLength(path, new FileInfo(path).Length);
        byte[] data = File.ReadAllBytes(path);
        CheckBatchLength(path, data.Length); // the file may have changed in between
        return new RawBatch(path, data);
    }

    private static byte[] ReadMetaEntry(string archivePath, string name, TarEntry entry)
    {
        CheckMetaLength($"{archivePath}: {name}", entry.Length);
        var data = new byte[entry.Length];
        int read = TarGzReader.ReadData(entry, data, archivePath, name);
        if (read < data.Length)
            throw new InvalidDataException($"{archivePath}: {name}: truncated: the archive ends after {read} of its {entry.Length} bytes.");
        return data;
    }

    private static void CheckMetaLength(string source, long length)
    {
        if (length > MaxMetaBytes)
            throw new InvalidDataException($"{source}: {length} bytes is too large for the class names file (at most {MaxMetaBytes}).");
    }

    /// <summary>1..5 for "data_batch_1.bin".."data_batch_5.bin", else 0.</summary>
    private static int TrainBatchNumber(string fileName) =>
        fileName.Length == "data_batch_1.bin".Length && fileName.StartsWith("data_batch_", StringComparison.Ordinal)
        && fileName.EndsWith(".bin", StringComparison.Ordinal) && fileName[11] is >= '1' and <= '5'
            ? fileName[11] - '0'
            : 0;

    /// <summary>
    /// A batch file must hold at least one record, only whole records, and at most <see cref="MaxRecordsPerBatch"/>;
    /// returns the number of records.
    /// </summary>
    private static int CheckBatchLength(string source, long length)
    {
        if (length == 0)
            throw new InvalidDataException($"{source}: the file is empty (expected records of {RecordSize} bytes).");
        if (length < 0 || length % RecordSize != 0)
            throw new InvalidDataException(
                $"{source}: truncated or not a CIFAR-10 batch: record {length / RecordSize} (0-based) is incomplete " +
                $"({length % RecordSize} of {RecordSize} bytes; the file has {length} bytes, not a multiple of {RecordSize}).");
        if (length / RecordSize > MaxRecordsPerBatch)
            throw new InvalidDataException(
                $"{source}: {length / RecordSize} records ({length} bytes) is more than a CIFAR-10 batch holds (at most {MaxRecordsPerBatch}); the file or its archive header is corrupt.");
        return (int)(length / RecordSize);
    }

    /// <summary>The class names: one per line, every line (the last one too) ended by a line feed; blank lines are ignored.</summary>
    private static string[] ParseClassNames(byte[] text, string source)
    {
        string content = Encoding.UTF8.GetString(text);
        int lastBreak = content.LastIndexOf('\n');
        string unterminated = content[(lastBreak + 1)..].Trim();
        if (unterminated.Length > 0)
            throw new InvalidDataException(
                $"{source}: the last line '{unterminated}' has no line break: the file is truncated (expected {ClassNames.Length} class names, one per line).");
        string[] names = content.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
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
        var starts = new List<(int Row, string Source)>();
        for (int b = 0, start = 0; b < batches.Count && start < count; start += batches[b].Records, b++)
            starts.Add((start, batches[b].Source));
        return new Dataset(images, labels)
        {
            DescribeRow = row =>
            {
                int b = starts.FindLastIndex(s => s.Row <= row);
                return b < 0 ? $"row {row}" : $"{starts[b].Source}: record {row - starts[b].Row}";
            },
        };
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
