using System.Globalization;
using System.Text;

namespace NanoNet.Data;

/// <summary>
/// The IMDB Large Movie Review Dataset v1.0 (Maas et al., 2011): 25,000 training and 25,000 test
/// reviews labelled negative (0) or positive (1), read from the official <c>aclImdb_v1.tar.gz</c>
/// (streamed once, nothing extracted) or its extracted <c>aclImdb</c> folder.
/// </summary>
/// <remarks>
/// The layout is <c>aclImdb/{train,test}/{pos,neg}/&lt;id&gt;_&lt;rating&gt;.txt</c>, one UTF-8 review per
/// file, often with <c>&lt;br /&gt;</c> line breaks. Everything else (<c>train/unsup</c>, <c>*.feat</c>,
/// <c>imdb.vocab</c>, the URL lists) is ignored. Reviews come in a fixed order: negatives then
/// positives, each by review id (then rating). The splits are therefore grouped by class: shuffle
/// before taking a subset (<see cref="MiniBatchLoader"/> shuffles every epoch).
/// <para>Trust: in the archive, all reviews must sit in one tree (<c>&lt;root&gt;/{train,test}/{pos,neg}/</c>
/// with the same root, so a second copy or a <c>test/train/pos</c> folder cannot add or leak reviews), a
/// review id appears at most once per split and class, and a review's size, taken from its tar header, is
/// checked against <see cref="MaxReviewBytes"/> before any buffer is sized by it.</para>
/// </remarks>
public static class Imdb
{
    /// <summary>The official archive's file name.</summary>
    public const string ArchiveFileName = "aclImdb_v1.tar.gz";

    /// <summary>The folder the archive extracts to.</summary>
    public const string FolderName = "aclImdb";

    /// <summary>Where the official archive is published.</summary>
    public const string DownloadUrl = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz";

    /// <summary>The class names by label: 0 = "neg", 1 = "pos".</summary>
    public static readonly string[] ClassNames = ["neg", "pos"];

    /// <summary>The largest review file accepted, in bytes (the longest official review is about 14 KB).</summary>
    public const int MaxReviewBytes = 1 << 20;

    private static readonly string[] Splits = ["train", "test"];
    private const string Expected = $"'{ArchiveFileName}' or the extracted '{FolderName}' folder ({{train,test}}/{{pos,neg}}/<id>_<rating>.txt)";

    /// <summary>
    /// Finds IMDB in <paramref name="path"/> (the archive, the aclImdb folder, or a folder holding
    /// either), then in <c>$NANONET_DATA</c>. Returns the archive or folder to pass to <see cref="ReadTexts"/> or <see cref="Load"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Not found; the message says where it looked, the download URL and the --data option.</exception>
    public static string Locate(string? path = null) => DataLocator.Locate("IMDB", path, Probe, Expected, DownloadUrl);

    /// <summary>Reads the reviews and their labels (neg = 0, pos = 1) of both splits.</summary>
    /// <param name="path">The archive, the aclImdb folder, or a folder containing either.</param>
    /// <exception cref="FileNotFoundException">The data set or one of its folders is missing.</exception>
    /// <exception cref="InvalidDataException">
    /// The archive is corrupt or truncated, a file name is not &lt;id&gt;_&lt;rating&gt;.txt, a review is larger than
    /// <see cref="MaxReviewBytes"/>, reviews sit in a second tree, an id appears twice in one split and class,
    /// or a split has no reviews; the message names the archive (or file) and the entry.
    /// </exception>
    public static (LabelledTexts Train, LabelledTexts Test) ReadTexts(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string source = DataLocator.LocateIn("IMDB", path, Probe, Expected, DownloadUrl);
        var reviews = new List<Review>[Splits.Length];
        for (int s = 0; s < reviews.Length; s++)
            reviews[s] = [];
        if (File.Exists(source))
            ReadArchive(source, reviews);
        else
            ReadFolder(source, reviews);
        for (int s = 0; s < Splits.Length; s++)
            if (reviews[s].Count == 0)
                throw new InvalidDataException($"{source}: no reviews found in {FolderName}/{Splits[s]}/pos or {FolderName}/{Splits[s]}/neg.");
        return (ToLabelledTexts(reviews[0]), ToLabelledTexts(reviews[1]));
    }

    /// <summary>
    /// Reads both splits, builds a vocabulary of the <paramref name="vocabularySize"/> ids on the
    /// training reviews, and returns (N, <paramref name="sequenceLength"/>) id tensors (padded and
    /// truncated at the front, as Keras does) with (N) labels.
    /// </summary>
    /// <param name="path">The archive, the aclImdb folder, or a folder containing either.</param>
    /// <param name="vocabularySize">Number of ids including padding (0) and out-of-vocabulary (1); see <see cref="Vocabulary"/>.</param>
    /// <param name="sequenceLength">Words kept per review (the last ones, for longer reviews).</param>
    /// <param name="tokenizer">How reviews are split into words (default: Keras-style, &lt;br /&gt; removed).</param>
    public static (Dataset Train, Dataset Test, Vocabulary Vocabulary) Load(string path, int vocabularySize = 20_000,
        int sequenceLength = 200, Tokenizer? tokenizer = null)
    {
        var (train, test) = ReadTexts(path);
        Vocabulary vocabulary = Vocabulary.Build(train.Texts, vocabularySize, tokenizer);
        return (train.ToDataset(vocabulary, sequenceLength), test.ToDataset(vocabulary, sequenceLength), vocabulary);
    }

    // ---- locating -------------------------------------------------------------------------------

    private static string? Probe(string path)
    {
        if (File.Exists(path))
            return path;
        if (IsReviewsFolder(path))
            return path;
        string folder = Path.Combine(path, FolderName);
        if (IsReviewsFolder(folder))
            return folder;
        string archive = Path.Combine(path, ArchiveFileName);
        return File.Exists(archive) ? archive : null;
    }

    private static bool IsReviewsFolder(string folder) =>
        Directory.Exists(Path.Combine(folder, "train", "pos")) || Directory.Exists(Path.Combine(folder, "test", "pos"));

    // ---- reading --------------------------------------------------------------------------------

    /// <summary>One review: its place in the order (split, label, id, rating) and its text.</summary>
    private readonly record struct Review(int Label, int Id, int Rating, string Text);

    private static void ReadArchive(string archivePath, List<Review>[] reviews)
    {
        byte[] buffer = new byte[1 << 16];
        string? root = null, firstEntry = null; // the tree the first review came from, and that review
        var seen = new Dictionary<(int Split, int Label, int Id), string>();
        TarGzReader.ForEachFile(archivePath, (name, entry) =>
        {
            if (!TryClassify(name, out int split, out int label, out string entryRoot))
                return true;
            string source = $"{archivePath}: {name}";
            if (root is null)
                (root, firstEntry) = (entryRoot, name);
            else if (entryRoot != root)
                throw new InvalidDataException(
                    $"{source}: a second tree of reviews: '{entryRoot}/' besides '{root}/' (first review {firstEntry}); " +
                    $"an IMDB archive holds one {FolderName}/ tree, so these would add reviews to the wrong split or twice.");
            (int id, int rating) = ParseFileName(name, source);
            CheckUnique(seen, split, label, id, name, source);
            if (entry.Length > MaxReviewBytes || entry.Length < 0)
                throw new InvalidDataException($"{source}: the tar header gives the review {entry.Length} bytes, more than the {MaxReviewBytes} accepted; the archive is corrupt.");
            if (entry.Length > buffer.Length)
                buffer = new byte[Math.Max(entry.Length, 2L * buffer.Length)];
            int read = TarGzReader.ReadData(entry, buffer.AsSpan(0, (int)entry.Length), archivePath, name);
            if (read < entry.Length)
                throw new InvalidDataException($"{source}: truncated: the archive ends after {read} of the review's {entry.Length} bytes.");
            reviews[split].Add(new Review(label, id, rating, DecodeUtf8(buffer.AsSpan(0, read))));
            return true;
        });
    }

    /// <summary>An id may appear once per split and class (the official ids run 0..12,499 in each).</summary>
    private static void CheckUnique(Dictionary<(int, int, int), string> seen, int split, int label, int id, string name, string source)
    {
        if (!seen.TryAdd((split, label, id), name))
            throw new InvalidDataException(
                $"{source}: review id {id} appears twice in {Splits[split]}/{ClassNames[label]} (also as {seen[(split, label, id)]}); each review must appear once.");
    }

    private static void ReadFolder(string folder, List<Review>[] reviews)
    {
        var seen = new Dictionary<(int Split, int Label, int Id), string>();
        for (int split = 0; split < Splits.Length; split++)
            for (int label = 0; label < ClassNames.Length; label++)
            {
                string directory = Path.Combine(folder, Splits[split], ClassNames[label]);
                if (!Directory.Exists(directory))
                    throw new FileNotFoundException($"IMDB folder not found: {directory} (expected {Expected}).", directory);
                foreach (string file in Directory.EnumerateFiles(directory, "*.txt").Order(StringComparer.Ordinal))
                {
                    (int id, int rating) = ParseFileName(file, file);
                    CheckUnique(seen, split, label, id, file, file);
                    long length = new FileInfo(file).Length;
                    if (length > MaxReviewBytes)
                        throw new InvalidDataException($"{file}: {length} bytes is more than the {MaxReviewBytes} accepted for a review.");
                    reviews[split].Add(new Review(label, id, rating, DecodeUtf8(File.ReadAllBytes(file))));
                }
            }
    }

    /// <summary>
    /// Whether an archive path ends in {train,test}/{pos,neg}/*.txt, which split and label it is, and the
    /// root folder above the split ("aclImdb" in the official archive; "" for none).
    /// </summary>
    private static bool TryClassify(string name, out int split, out int label, out string root)
    {
        split = label = -1;
        root = "";
        string[] parts = name.Split('/');
        if (parts.Length < 3 || !parts[^1].EndsWith(".txt", StringComparison.Ordinal))
            return false;
        split = Array.IndexOf(Splits, parts[^3]);
        label = Array.IndexOf(ClassNames, parts[^2]);
        root = string.Join('/', parts[..^3]);
        return split >= 0 && label >= 0;
    }

    /// <summary>Parses "&lt;id&gt;_&lt;rating&gt;.txt".</summary>
    private static (int Id, int Rating) ParseFileName(string path, string source)
    {
        string name = path[(path.LastIndexOfAny(['/', '\\']) + 1)..];
        int underscore = name.IndexOf('_');
        if (underscore > 0
            && int.TryParse(name.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out int id)
            && int.TryParse(name.AsSpan(underscore + 1, name.Length - underscore - 1 - ".txt".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int rating))
            return (id, rating);
        throw new InvalidDataException($"{source}: an IMDB review file name must be <id>_<rating>.txt, e.g. 0_9.txt.");
    }

    /// <summary>UTF-8 without a byte-order mark (invalid bytes become U+FFFD).</summary>
    private static string DecodeUtf8(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith(Encoding.UTF8.Preamble))
            bytes = bytes[Encoding.UTF8.Preamble.Length..];
        return Encoding.UTF8.GetString(bytes);
    }

    private static LabelledTexts ToLabelledTexts(List<Review> reviews)
    {
        reviews.Sort((a, b) => a.Label != b.Label ? a.Label.CompareTo(b.Label)
            : a.Id != b.Id ? a.Id.CompareTo(b.Id)
            : a.Rating.CompareTo(b.Rating));
        return new LabelledTexts(reviews.Select(r => r.Text).ToArray(), reviews.Select(r => r.Label).ToArray(), ClassNames);
    }
}
