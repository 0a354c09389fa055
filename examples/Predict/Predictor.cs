using NanoNet.Data;
using NanoNet.Layers;
using NanoNet.Persistence;

namespace NanoNet.Examples.Predict;

/// <summary>What a saved model takes as input, read from its input shape.</summary>
public enum InputKind
{
    /// <summary>CIFAR-10 images (32, 32, 3): fed from batch files or the official archive.</summary>
    Images,

    /// <summary>Token-id sequences (T): fed from raw text, through the saved vocabulary.</summary>
    Texts,
}

/// <summary>
/// The core of examples/Predict: a model loaded with <c>Model.Load</c> and the files saved next to it
/// (<see cref="SavedModelFiles"/>), and methods that feed it inputs in the data sets' own formats,
/// prepared exactly as the training examples prepared them.
/// </summary>
public sealed class Predictor
{
    private readonly Vocabulary? _vocabulary;
    private readonly ChannelStandardizer? _standardizer;

    private Predictor(string modelPath, Model model, InputKind kind, Vocabulary? vocabulary, ChannelStandardizer? standardizer, IReadOnlyList<string>? classNames)
    {
        ModelPath = modelPath;
        Model = model;
        Kind = kind;
        _vocabulary = vocabulary;
        _standardizer = standardizer;
        SavedClassNames = classNames;
    }

    /// <summary>The model file.</summary>
    public string ModelPath { get; }

    /// <summary>The loaded model.</summary>
    public Model Model { get; }

    /// <summary>Images or texts.</summary>
    public InputKind Kind { get; }

    /// <summary>The class names saved with the model (PATH.classes.txt), or null.</summary>
    public IReadOnlyList<string>? SavedClassNames { get; }

    /// <summary>For a text model: the sequence length T every text is padded or truncated to (at the front, as in training).</summary>
    public int SequenceLength => Kind == InputKind.Texts ? Model.Inputs[0].Shape[0] : 0;

    /// <summary>
    /// Loads the model at <paramref name="modelPath"/> and, for a text model, its vocabulary
    /// (<paramref name="vocabularyPath"/>, by default <c>MODEL.vocab.txt</c>).
    /// </summary>
    /// <exception cref="InvalidDataException">The model file is not a model, its input is neither (32, 32, 3) images nor token sequences, or the vocabulary does not fit it.</exception>
    /// <exception cref="FileNotFoundException">The model or the vocabulary file is missing.</exception>
    public static Predictor Load(string modelPath, string? vocabularyPath = null)
    {
        if (!File.Exists(modelPath))
            throw new FileNotFoundException($"Model file not found: {modelPath}", modelPath);
        GlobalAveragePooling.Register(); // the ResNet example's custom layer
        Model model = Model.Load(modelPath);
        if (model.Inputs.Count != 1 || model.Outputs.Count != 1 || model.Outputs[0].Shape.Length != 1)
            throw new InvalidDataException($"{modelPath}: Predict needs a classifier with one input and one output of class probabilities; this model has " +
                                           $"{model.Inputs.Count} input(s) and output(s) {string.Join(", ", model.Outputs.Select(o => o.ToString()))}.");
        int[] shape = model.Inputs[0].Shape.ToArray();
        IReadOnlyList<string>? classNames = SavedModelFiles.ReadClassNames(modelPath);
        if (shape is [Cifar10.ImageSize, Cifar10.ImageSize, Cifar10.Channels])
            return new Predictor(modelPath, model, InputKind.Images, null, SavedModelFiles.ReadStandardizer(modelPath), classNames);
        if (shape.Length == 1 && model.Layers.FirstOrDefault() is Embedding embedding)
        {
            vocabularyPath ??= SavedModelFiles.VocabularyPath(modelPath);
            if (!File.Exists(vocabularyPath))
                throw new FileNotFoundException($"{modelPath} is a text model, and its vocabulary {vocabularyPath} is missing " +
                                                "(TextLstm --save writes it next to the model; or name it with --vocab FILE).", vocabularyPath);
            Vocabulary vocabulary = VocabularyFile.Read(vocabularyPath);
            if (vocabulary.Size > embedding.VocabSize)
                throw new InvalidDataException($"{vocabularyPath}: {vocabulary.Size} words, but the model {modelPath} embeds only {embedding.VocabSize} ids: not this model's vocabulary.");
            return new Predictor(modelPath, model, InputKind.Texts, vocabulary, null, classNames);
        }
        throw new InvalidDataException($"{modelPath}: the model takes inputs of shape ({string.Join(", ", shape)}); Predict classifies CIFAR-10 images (32, 32, 3) " +
                                       "and texts (token sequences into an Embedding).");
    }

    /// <summary>
    /// Classifies records of a CIFAR-10 batch file (<c>.bin</c>) or of the test split of the official
    /// <c>cifar-10-binary.tar.gz</c>: records <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> − 1
    /// (all from <paramref name="first"/> on when <paramref name="count"/> is null). The labels give the accuracy.
    /// Class names: batches.meta.txt (next to the .bin file, or in the archive), else the model's saved names, else CIFAR-10's.
    /// </summary>
    /// <exception cref="InvalidDataException">The model is a text model, the file is not a CIFAR-10 batch, or the range lies outside it; the message names the file.</exception>
    public Predictions ClassifyCifar10(string path, int first = 0, int? count = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        if (Kind != InputKind.Images)
            throw new InvalidDataException($"{path}: the model {ModelPath} classifies texts (token sequences of length {SequenceLength}), not CIFAR-10 images; give it text files or lines of text.");
        if (path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: the model {ModelPath} expects 32x32x3 images (a CIFAR-10 batch .bin file or {Cifar10.ArchiveFileName}), not text.");
        Dataset records;
        IReadOnlyList<string> classNames;
        if (path.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || Directory.Exists(path))
        {
            Cifar10Data data = Cifar10.Load(path, trainLimit: 0, testLimit: count is int c ? first + c : null);
            (records, classNames) = (data.Test, data.ClassNames);
        }
        else
        {
            records = Cifar10.LoadBatchFile(path);
            string meta = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "batches.meta.txt");
            classNames = File.Exists(meta)
                ? File.ReadAllLines(meta).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray()
                : SavedClassNames ?? Cifar10.ClassNames;
        }
        if (first >= records.Count || (count is int n && (n <= 0 || first + n > records.Count)))
            throw new InvalidDataException($"{path}: records {first}..{first + (count ?? 1) - 1} asked for, but the file holds records 0..{records.Count - 1}.");
        int taken = count ?? records.Count - first;
        Dataset slice = first == 0 && taken == records.Count ? records : records.Gather(Enumerable.Range(first, taken).ToArray());
        Tensor images = slice.Features;
        if (_standardizer is not null)
        {
            images = images.Clone();
            _standardizer.Apply(images);
        }
        string name = Path.GetFileName(path);
        string[] sources = Enumerable.Range(first, taken).Select(i => $"{name} #{i}").ToArray();
        int[] labels = Enumerable.Range(0, taken).Select(i => (int)slice.Labels[i]).ToArray();
        return Classify(images, sources, labels.Select(l => (int?)l).ToArray(), classNames);
    }

    /// <summary>
    /// Classifies text files, or every <c>*.txt</c> file under a folder given among <paramref name="paths"/>
    /// (in ordinal order). A file in a folder named like a class (e.g. <c>aclImdb/test/pos/</c>) carries that label.
    /// </summary>
    /// <exception cref="InvalidDataException">The model is an image model, or a file is a CIFAR-10 batch or archive.</exception>
    public Predictions ClassifyTextFiles(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<string>();
        foreach (string path in paths)
        {
            CheckIsText(path);
            if (Directory.Exists(path))
                files.AddRange(Directory.EnumerateFiles(path, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            else if (File.Exists(path))
                files.Add(path);
            else
                throw new FileNotFoundException($"Text file not found: {path}", path);
        }
        foreach (string file in files)
            CheckIsText(file);
        IReadOnlyList<string> classNames = SavedClassNames ?? [];
        int?[] labels = files.Select(f => IndexOf(classNames, Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(f))))).ToArray();
        return ClassifyTexts(files.Select(File.ReadAllText).ToArray(), files.Select(Path.GetFileName).ToArray()!, labels);
    }

    /// <summary>Classifies each non-empty line of <paramref name="reader"/> as one text; <paramref name="sourceName"/> names it ("stdin", a file).</summary>
    public Predictions ClassifyLines(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        CheckIsText(sourceName);
        var texts = new List<string>();
        var sources = new List<string>();
        int number = 0;
        while (reader.ReadLine() is string line)
        {
            number++;
            if (line.Trim().Length == 0)
                continue;
            texts.Add(line);
            sources.Add($"{sourceName}:{number}");
        }
        return ClassifyTexts(texts, sources, new int?[texts.Count]);
    }

    /// <summary>Classifies raw texts: tokenised with the saved vocabulary's tokenizer, padded and truncated at the front to <see cref="SequenceLength"/>, as in training.</summary>
    public Predictions ClassifyTexts(IReadOnlyList<string> texts, IReadOnlyList<string> sources, IReadOnlyList<int?> labels)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (Kind != InputKind.Texts)
            throw new InvalidDataException($"{ModelPath}: the model classifies 32x32x3 images (CIFAR-10 batch files), not text.");
        if (texts.Count == 0)
            throw new InvalidDataException("No texts to classify (the input is empty).");
        Tensor ids = Sequences.Pad(_vocabulary!.Encode(texts), SequenceLength, SequenceEnd.Pre, SequenceEnd.Pre);
        return Classify(ids, sources, labels, SavedClassNames ?? []);
    }

    private void CheckIsText(string file)
    {
        if (Kind != InputKind.Texts)
            throw new InvalidDataException($"{file}: the model {ModelPath} expects 32x32x3 images (a CIFAR-10 batch .bin file or {Cifar10.ArchiveFileName}), not text.");
        if (file.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{file}: looks like CIFAR-10 data, but the model {ModelPath} classifies texts (token sequences of length {SequenceLength}).");
    }

    private Predictions Classify(Tensor inputs, IReadOnlyList<string> sources, IReadOnlyList<int?> labels, IReadOnlyList<string> classNames)
    {
        Tensor probabilities = Model.Predict(inputs);
        int classes = probabilities.Shape[1];
        ReadOnlySpan<float> p = probabilities.Span;
        var items = new Prediction[sources.Count];
        for (int n = 0; n < items.Length; n++)
        {
            ReadOnlySpan<float> row = p.Slice(n * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++)
                if (row[k] > row[best])
                    best = k;
            items[n] = new Prediction(sources[n], best, row[best], labels[n]);
        }
        return new Predictions(items, classNames, inputs, probabilities);
    }

    private static int? IndexOf(IReadOnlyList<string> names, string? name)
    {
        for (int i = 0; i < names.Count; i++)
            if (names[i] == name)
                return i;
        return null;
    }
}
