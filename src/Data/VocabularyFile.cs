using System.Text;

namespace NanoNet.Data;

/// <summary>
/// Writes a <see cref="Vocabulary"/> to a text file and reads it back, so a model trained on text can
/// classify raw text later with the same ids.
/// </summary>
/// <remarks>
/// <para>Layout: UTF-8 without a byte-order mark, one word per line, in id order, each line ended by
/// <c>\n</c>. Line 1 is <c>&lt;pad&gt;</c> (id 0), line 2 is <c>&lt;oov&gt;</c> (id 1), line k + 1 is the word of
/// id k. Words never contain whitespace (the tokenizer splits on it), so a line is exactly one word.
/// The tokenizer is not stored: a file read back gets the default Keras-style <see cref="Tokenizer"/>
/// unless one is passed, so pass the one the vocabulary was built with if it was not the default.</para>
/// <para>Example (a vocabulary of 5 ids): <c>&lt;pad&gt;\n&lt;oov&gt;\nthe\nand\na\n</c>.</para>
/// </remarks>
public static class VocabularyFile
{
    /// <summary>The longest file <see cref="Read(string, Tokenizer?)"/> accepts (a 20,000-word vocabulary is about 170 kB).</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Writes <paramref name="vocabulary"/>'s words, one per line in id order, to <paramref name="path"/>.</summary>
    public static void Write(Vocabulary vocabulary, string path)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.NewLine = "\n";
        foreach (string word in vocabulary.Words)
            writer.WriteLine(word);
    }

    /// <summary>Reads a file written by <see cref="Write"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="tokenizer">The tokenizer the vocabulary was built with (default: a default <see cref="Tokenizer"/>).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is too large, does not start with &lt;pad&gt; and &lt;oov&gt;, or has an empty, duplicated or space-holding line; the message names the file and the line.</exception>
    public static Vocabulary Read(string path, Tokenizer? tokenizer = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Vocabulary file not found: {path}", path);
        long length = new FileInfo(path).Length;
        if (length > MaxFileBytes)
            throw new InvalidDataException($"{path}: {length} bytes is too large for a vocabulary file (at most {MaxFileBytes}).");
        string[] lines = File.ReadAllText(path, Encoding.UTF8).Split('\n');
        int count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length; // the last line's \n
        var words = new string[count];
        for (int i = 0; i < count; i++)
            words[i] = lines[i].TrimEnd('\r');
        if (count < 2 || words[Vocabulary.PaddingId] != Vocabulary.PaddingToken || words[Vocabulary.OutOfVocabularyId] != Vocabulary.OutOfVocabularyToken)
            throw new InvalidDataException($"{path}: not a vocabulary file: its first two lines must be {Vocabulary.PaddingToken} and {Vocabulary.OutOfVocabularyToken}.");
        try
        {
            return Vocabulary.FromWords(words, tokenizer);
        }
        catch (ArgumentException e)
        {
            // "Vocabulary word {id} ..." : id k is on line k + 1.
            throw new InvalidDataException($"{path}: {e.Message.Split(" (Parameter")[0]} (line = id + 1).", e);
        }
    }
}
