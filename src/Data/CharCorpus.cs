using System.Text;

namespace NanoNet.Data;

/// <summary>
/// A plain-text corpus for character-level language models: its character vocabulary (the sorted
/// distinct characters, ids 0..V−1), encoding and decoding, and a train/validation split.
/// </summary>
/// <remarks>
/// Characters are UTF-16 code units, so a character outside the Basic Multilingual Plane counts as
/// two. Cut the encoded text into training sequences with <see cref="NextTokenSequences"/>.
/// </remarks>
/// <example><code>
/// CharCorpus corpus = TinyShakespeare.Load(TinyShakespeare.Locate(dataOption));
/// var (train, validation) = corpus.Split(0.1);
/// Dataset sequences = NextTokenSequences.Windows(train, length: 100);
/// </code></example>
public sealed class CharCorpus
{
    private readonly char[] _characters;
    private readonly int[] _idOf; // indexed by character; −1 = not in the vocabulary

    /// <summary>Builds the vocabulary of <paramref name="text"/> and encodes it.</summary>
    public CharCorpus(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Text = text;
        _characters = text.Distinct().Order().ToArray();
        _idOf = new int[_characters.Length == 0 ? 0 : _characters[^1] + 1];
        Array.Fill(_idOf, -1);
        for (int id = 0; id < _characters.Length; id++)
            _idOf[_characters[id]] = id;
        Ids = Encode(text);
    }

    /// <summary>Reads a UTF-8 text file (a byte-order mark, if any, is honoured and dropped).</summary>
    public static CharCorpus FromFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Text file not found: {path}", path);
        return new CharCorpus(File.ReadAllText(path, Encoding.UTF8));
    }

    /// <summary>The whole text.</summary>
    public string Text { get; }

    /// <summary>The whole text encoded, one id per character.</summary>
    public int[] Ids { get; }

    /// <summary>The vocabulary: the distinct characters in ordinal order; a character's id is its index.</summary>
    public IReadOnlyList<char> Characters => _characters;

    /// <summary>Number of distinct characters (ids are 0..VocabularySize−1).</summary>
    public int VocabularySize => _characters.Length;

    /// <summary>Number of characters in the text.</summary>
    public int Length => Text.Length;

    /// <summary>Whether <paramref name="c"/> is in the vocabulary.</summary>
    public bool Contains(char c) => c < _idOf.Length && _idOf[c] >= 0;

    /// <summary>The id of <paramref name="c"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="c"/> is not in the vocabulary.</exception>
    public int IdOf(char c) => Contains(c) ? _idOf[c]
        : throw new ArgumentException($"Character {Describe(c)} is not in the corpus vocabulary of {VocabularySize} characters.", nameof(c));

    /// <summary>The ids of the characters of <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">A character is not in the vocabulary; the message gives it and its position.</exception>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!Contains(c))
                throw new ArgumentException($"Character {Describe(c)} at position {i} is not in the corpus vocabulary of {VocabularySize} characters.", nameof(text));
            ids[i] = _idOf[c];
        }
        return ids;
    }

    /// <summary>The text of <paramref name="ids"/>.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)_characters.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Id {id} at position {i} is outside the vocabulary [0, {VocabularySize}).");
            chars[i] = _characters[id];
        }
        return new string(chars);
    }

    /// <summary>
    /// Splits the encoded text in two contiguous parts: the first (1 − <paramref name="validationFraction"/>)
    /// for training, the rest for validation (contiguous, so no sequence straddles both).
    /// </summary>
    public (int[] Train, int[] Validation) Split(double validationFraction = 0.1)
    {
        if (!(validationFraction >= 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in [0, 1).");
        int trainLength = (int)Math.Round(Ids.Length * (1 - validationFraction));
        return (Ids[..trainLength], Ids[trainLength..]);
    }

    private static string Describe(char c) => char.IsControl(c) || char.IsWhiteSpace(c) ? $"U+{(int)c:X4}" : $"'{c}' (U+{(int)c:X4})";
}
