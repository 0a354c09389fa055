using System.Globalization;
using NanoNet.Data;

/// <summary>
/// The files an example writes next to a saved model (<c>--save PATH</c>) so examples/Predict can feed it
/// inputs prepared exactly as in training:
/// <list type="bullet">
/// <item><c>PATH</c>: the model (<c>model.Save</c>, a safetensors file).</item>
/// <item><c>PATH.vocab.txt</c> (text models): the vocabulary, one word per line in id order (<see cref="VocabularyFile"/>).</item>
/// <item><c>PATH.classes.txt</c> (text models): the class names, one per line in class-id order.</item>
/// <item><c>PATH.standardizer.txt</c> (image models trained with --standardize): two lines,
/// <c>mean m0 m1 m2</c> and <c>std s0 s1 s2</c>, per channel, invariant-culture numbers.</item>
/// </list>
/// </summary>
/// <remarks>Linked into the examples that save models and into examples/Predict (see their .csproj).</remarks>
internal static class SavedModelFiles
{
    /// <summary>The vocabulary file of the model at <paramref name="modelPath"/>.</summary>
    public static string VocabularyPath(string modelPath) => modelPath + ".vocab.txt";

    /// <summary>The class-names file of the model at <paramref name="modelPath"/>.</summary>
    public static string ClassNamesPath(string modelPath) => modelPath + ".classes.txt";

    /// <summary>The standardizer file of the model at <paramref name="modelPath"/>.</summary>
    public static string StandardizerPath(string modelPath) => modelPath + ".standardizer.txt";

    /// <summary>Writes the class names, one per line.</summary>
    public static void WriteClassNames(string modelPath, IEnumerable<string> classNames) =>
        File.WriteAllText(ClassNamesPath(modelPath), string.Concat(classNames.Select(name => name + "\n")));

    /// <summary>The class names saved with the model, or null when there is no such file.</summary>
    public static string[]? ReadClassNames(string modelPath)
    {
        string path = ClassNamesPath(modelPath);
        return File.Exists(path)
            ? File.ReadAllLines(path).Select(line => line.Trim()).Where(line => line.Length > 0).ToArray()
            : null;
    }

    /// <summary>Writes the per-channel mean and standard deviation.</summary>
    public static void WriteStandardizer(string modelPath, ChannelStandardizer standardizer) =>
        File.WriteAllText(StandardizerPath(modelPath),
            "mean " + string.Join(' ', standardizer.Mean.Select(m => m.ToString("R", CultureInfo.InvariantCulture))) + "\n" +
            "std " + string.Join(' ', standardizer.Std.Select(s => s.ToString("R", CultureInfo.InvariantCulture))) + "\n");

    /// <summary>The standardizer saved with the model, or null when there is none.</summary>
    /// <exception cref="InvalidDataException">The file is not two lines "mean …" and "std …" of as many numbers.</exception>
    public static ChannelStandardizer? ReadStandardizer(string modelPath)
    {
        string path = StandardizerPath(modelPath);
        if (!File.Exists(path))
            return null;
        string[] lines = File.ReadAllLines(path).Where(line => line.Trim().Length > 0).ToArray();
        if (lines.Length != 2)
            throw new InvalidDataException($"{path}: expected two lines, 'mean ...' and 'std ...', found {lines.Length}.");
        float[] mean = Numbers(path, lines[0], "mean"), std = Numbers(path, lines[1], "std");
        if (mean.Length != std.Length || mean.Length == 0)
            throw new InvalidDataException($"{path}: {mean.Length} means but {std.Length} standard deviations.");
        return new ChannelStandardizer(mean, std);
    }

    private static float[] Numbers(string path, string line, string key)
    {
        string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields[0] != key)
            throw new InvalidDataException($"{path}: expected a line starting with '{key}', found '{fields[0]}'.");
        return fields[1..].Select(f => float.TryParse(f, NumberStyles.Float, CultureInfo.InvariantCulture, out float v)
            ? v : throw new InvalidDataException($"{path}: '{f}' on the {key} line is not a number.")).ToArray();
    }
}
