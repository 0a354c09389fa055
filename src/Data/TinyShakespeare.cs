namespace NanoNet.Data;

/// <summary>
/// Tiny Shakespeare (the <c>input.txt</c> of Karpathy's char-rnn): 1,115,394 characters of plays,
/// 65 distinct characters, for character-level language models.
/// </summary>
public static class TinyShakespeare
{
    /// <summary>The file name NanoNet's data folder uses.</summary>
    public const string FileName = "tinyshakespeare.txt";

    /// <summary>The name of the file in the char-rnn repository.</summary>
    public const string OriginalFileName = "input.txt";

    /// <summary>Where the text is published.</summary>
    public const string DownloadUrl = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt";

    /// <summary>
    /// Finds the text in <paramref name="path"/> (the file, or a folder holding tinyshakespeare.txt or
    /// input.txt), then in <c>$NANONET_DATA</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Not found; the message says where it looked, the download URL and the --data option.</exception>
    public static string Locate(string? path = null) => DataLocator.Locate("Tiny Shakespeare", path, Probe, $"'{FileName}'", DownloadUrl);

    /// <summary>Loads the text from <paramref name="path"/> (the file or a folder holding it).</summary>
    public static CharCorpus Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return CharCorpus.FromFile(DataLocator.LocateIn("Tiny Shakespeare", path, Probe, $"'{FileName}'", DownloadUrl));
    }

    private static string? Probe(string path) => DataLocator.FileOrFolderContaining(path, FileName, OriginalFileName);
}
