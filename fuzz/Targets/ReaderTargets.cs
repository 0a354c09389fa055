using NanoNet.Data;
using NanoNet.Fuzz.Mutation;

namespace NanoNet.Fuzz.Targets;

/// <summary>The readers of src/Data under fuzzing, one target each.</summary>
public static class ReaderTargets
{
    /// <summary>Every target, by name.</summary>
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new FuzzTarget
        {
            Name = "idx",
            SeedFiles = ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "t10k-images-idx3-ubyte.gz"],
            InputFileName = "input-idx-ubyte",
            Load = (path, _) => IdxReader.ReadBytes(path),
            Documented = [typeof(InvalidDataException)],
            LengthFields = IdxLayout.DimensionFields,
        },
        new FuzzTarget
        {
            Name = "cifar10",
            SeedFiles = ["cifar-10-binary.tar.gz"],
            InputFileName = Cifar10.ArchiveFileName,
            Load = (path, variant) =>
            {
                if (variant == 0) Cifar10.Load(path);
                else if (variant == 1) Cifar10.Load(path, trainLimit: 2, testLimit: 1);
                else Cifar10.Load(path, trainLimit: 0, testLimit: 0);
            },
            Documented = [typeof(InvalidDataException)],
            LengthFields = TarLayout.SizeFields,
        },
        new FuzzTarget
        {
            Name = "imdb",
            SeedFiles = ["aclImdb_v1.tar.gz"],
            InputFileName = Imdb.ArchiveFileName,
            Load = (path, _) => Imdb.ReadTexts(path),
            Documented = [typeof(InvalidDataException)],
            LengthFields = TarLayout.SizeFields,
        },
        new FuzzTarget
        {
            Name = "csv",
            SeedFiles = ["reviews.csv"],
            InputFileName = "reviews.csv",
            Load = (path, variant) =>
            {
                LabelledTexts texts = LabelledTextCsv.Read(path, hasHeader: variant != 1, textColumns: variant == 2 ? [1] : null);
                texts.ToDataset(Vocabulary.Build(texts.Texts, 100), 20);
            },
            Documented = [typeof(InvalidDataException)],
        },
        new FuzzTarget
        {
            Name = "text",
            SeedFiles = ["tinyshakespeare.txt"],
            InputFileName = "tinyshakespeare.txt",
            Load = (path, _) =>
            {
                CharCorpus corpus = CharCorpus.FromFile(path);
                var (train, _) = corpus.Split(0.1);
                if (corpus.Decode(corpus.Ids) != corpus.Text)
                    throw new InvalidOperationException("decode(encode(text)) != text");
                if (train.Length > 1)
                    NextTokenSequences.Windows(train, length: Math.Min(8, train.Length - 1));
            },
            Documented = [typeof(InvalidDataException)],
        },
    ];

    /// <summary>The target named <paramref name="name"/>.</summary>
    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"Unknown fuzz target '{name}'; the targets are {string.Join(", ", All.Select(t => t.Name))}.");
}
