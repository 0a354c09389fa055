namespace NanoNet.Data;

/// <summary>
/// A word ↔ id mapping built from training texts: the most frequent words get the smallest ids.
/// Id 0 is padding and id 1 stands for every word outside the vocabulary ("out of vocabulary").
/// </summary>
/// <remarks>
/// <para><c>maxSize</c> counts every id including the two reserved ones, like Keras' <c>num_words</c>:
/// with maxSize = 20,000 the ids are 0..19,999 (the 19,998 most frequent words get ids 2..19,999), so
/// <c>Embedding(20000, …)</c> accepts every encoded text. <see cref="Size"/> is the actual number of ids.</para>
/// <para>Words with the same count are ordered by their first occurrence in the training texts (the
/// order Keras' stable sort gives), so the vocabulary is deterministic.</para>
/// </remarks>
public sealed class Vocabulary
{
    /// <summary>The id of padding.</summary>
    public const int PaddingId = 0;

    /// <summary>The id of any word not in the vocabulary.</summary>
    public const int OutOfVocabularyId = 1;

    /// <summary>How padding and unknown words are shown by <see cref="Decode"/>.</summary>
    public const string PaddingToken = "<pad>", OutOfVocabularyToken = "<oov>";

    private readonly string[] _words;
    private readonly Dictionary<string, int> _ids;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private Vocabulary(string[] words, long[] counts, Tokenizer tokenizer)
    {
        _words = words;
        Counts = counts;
        Tokenizer = tokenizer;
        _ids = new Dictionary<string, int>(words.Length, StringComparer.Ordinal);
        for (int id = 2; id < words.Length; id++)
            _ids[words[id]] = id;
        _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// Counts the words of <paramref name="texts"/> and keeps the most frequent, ids 2, 3, … in order of
    /// decreasing count (ties: first occurrence first).
    /// </summary>
    /// <param name="texts">The training texts.</param>
    /// <param name="maxSize">Number of ids including the reserved 0 and 1 (Keras' num_words); at least 2.</param>
    /// <param name="tokenizer">How texts are split into words (default: a Keras-style <see cref="Data.Tokenizer"/>).</param>
    public static Vocabulary Build(IEnumerable<string> texts, int maxSize = 20_000, Tokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (maxSize < 2)
            throw new ArgumentOutOfRangeException(nameof(maxSize), maxSize, "The vocabulary needs at least the two reserved ids (padding and out-of-vocabulary).");
        tokenizer ??= new Tokenizer();
        var counts = new WordCounts();
        char[] buffer = [];
        foreach (string text in texts)
            tokenizer.ForEachWord(text, ref buffer, ref counts, static (word, ref c) => c.Add(word));

        int kept = Math.Min(maxSize - 2, counts.Entries.Count);
        var order = counts.Entries.ToArray(); // in order of first occurrence
        // A stable sort by decreasing count keeps first-occurrence order among equal counts.
        var ranked = order.Select((e, firstSeen) => (e.Word, e.Count, firstSeen))
            .OrderByDescending(e => e.Count).ThenBy(e => e.firstSeen).Take(kept).ToArray();
        var words = new string[kept + 2];
        var wordCounts = new long[kept + 2];
        words[PaddingId] = PaddingToken;
        words[OutOfVocabularyId] = OutOfVocabularyToken;
        for (int i = 0; i < kept; i++)
        {
            words[i + 2] = ranked[i].Word;
            wordCounts[i + 2] = ranked[i].Count;
        }
        long keptTotal = wordCounts.Sum();
        wordCounts[OutOfVocabularyId] = counts.Total - keptTotal;
        return new Vocabulary(words, wordCounts, tokenizer);
    }

    /// <summary>
    /// A vocabulary with the given word of each id, e.g. as read back by <see cref="VocabularyFile.Read(string, Data.Tokenizer?)"/>.
    /// Ids 0 and 1 must be <see cref="PaddingToken"/> and <see cref="OutOfVocabularyToken"/>; the other
    /// words must be distinct, non-empty and free of whitespace (as the tokenizer produces them). Counts are zero.
    /// </summary>
    /// <exception cref="ArgumentException">The list breaks one of these rules; the message names the id.</exception>
    public static Vocabulary FromWords(IReadOnlyList<string> words, Tokenizer? tokenizer = null)
    {
        ArgumentNullException.ThrowIfNull(words);
        if (words.Count < 2 || words[PaddingId] != PaddingToken || words[OutOfVocabularyId] != OutOfVocabularyToken)
            throw new ArgumentException($"A vocabulary starts with the reserved words {PaddingToken} (id 0) and {OutOfVocabularyToken} (id 1).", nameof(words));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int id = 2; id < words.Count; id++)
        {
            string word = words[id];
            if (string.IsNullOrEmpty(word) || word.Any(char.IsWhiteSpace))
                throw new ArgumentException($"Vocabulary word {id} is empty or contains whitespace, which no tokenizer word can.", nameof(words));
            if (!seen.Add(word))
                throw new ArgumentException($"Vocabulary word {id} ('{word}') appears twice.", nameof(words));
        }
        return new Vocabulary([.. words], new long[words.Count], tokenizer ?? new Tokenizer());
    }

    /// <summary>The tokenizer texts are split with (the one the vocabulary was built with).</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Number of ids, including the two reserved ones: every id is in [0, Size).</summary>
    public int Size => _words.Length;

    /// <summary>The word of each id; ids 0 and 1 show as <see cref="PaddingToken"/> and <see cref="OutOfVocabularyToken"/>.</summary>
    public IReadOnlyList<string> Words => _words;

    /// <summary>How often each id's word occurred in the training texts (for id 1, all words left out; for id 0, zero).</summary>
    public IReadOnlyList<long> Counts { get; }

    /// <summary>The id of <paramref name="word"/> (as the tokenizer produces it), or <see cref="OutOfVocabularyId"/>.</summary>
    public int IdOf(ReadOnlySpan<char> word) => _lookup.TryGetValue(word, out int id) ? id : OutOfVocabularyId;

    /// <summary>Whether <paramref name="word"/> has its own id.</summary>
    public bool Contains(ReadOnlySpan<char> word) => _lookup.ContainsKey(word);

    /// <summary>Tokenises <paramref name="text"/> and maps each word to its id (unknown words to 1).</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        char[] buffer = [];
        var ids = new List<int>();
        return Encode(text, ref buffer, ids);
    }

    /// <summary>Encodes many texts, reusing one buffer.</summary>
    public int[][] Encode(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        char[] buffer = [];
        var ids = new List<int>();
        var result = new int[texts.Count][];
        for (int i = 0; i < result.Length; i++)
            result[i] = Encode(texts[i], ref buffer, ids);
        return result;
    }

    /// <summary>The words of <paramref name="ids"/> joined by spaces (padding is skipped).</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var words = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            if (id < 0 || id >= _words.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Id {id} is outside the vocabulary [0, {_words.Length}).");
            if (id != PaddingId)
                words.Add(_words[id]);
        }
        return string.Join(' ', words);
    }

    private int[] Encode(string text, ref char[] buffer, List<int> ids)
    {
        ids.Clear();
        var state = (this, ids);
        Tokenizer.ForEachWord(text, ref buffer, ref state, static (word, ref s) => s.ids.Add(s.Item1.IdOf(word)));
        return [.. ids];
    }

    /// <summary>Word counts in order of first occurrence, looked up by span so known words allocate nothing.</summary>
    private sealed class WordCounts
    {
        private readonly Dictionary<string, int> _index;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

        public WordCounts()
        {
            _index = new Dictionary<string, int>(StringComparer.Ordinal);
            _lookup = _index.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public List<(string Word, long Count)> Entries { get; } = [];
        public long Total { get; private set; }

        public void Add(ReadOnlySpan<char> word)
        {
            if (_lookup.TryGetValue(word, out int i))
            {
                Entries[i] = (Entries[i].Word, Entries[i].Count + 1);
            }
            else
            {
                string s = word.ToString();
                _index[s] = Entries.Count;
                Entries.Add((s, 1));
            }
            Total++;
        }
    }
}
