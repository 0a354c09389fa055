namespace NanoNet.Persistence;

/// <summary>
/// Replaces a file whole or not at all: the contents go to a temporary file in the same folder, are
/// flushed to the disk, and the temporary file is then renamed over the target (a rename within one
/// folder is atomic). A crash or an exception while writing leaves the previous file untouched.
/// </summary>
internal static class AtomicFile
{
    /// <summary>The temporary file next to <paramref name="path"/> that a write goes through.</summary>
    public static string TemporaryPath(string path) => path + ".tmp";

    /// <summary>Writes <paramref name="path"/> through <paramref name="writeContents"/>, atomically.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="writeContents">Writes the whole contents to the stream it is given.</param>
    /// <param name="wrapStream">Test seam: wraps the file stream (e.g. to fail in the middle of a write).</param>
    public static void Write(string path, Action<Stream> writeContents, Func<Stream, Stream>? wrapStream = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(writeContents);
        string temporary = TemporaryPath(path);
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
            {
                Stream target = wrapStream?.Invoke(file) ?? file;
                writeContents(target);
                target.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
                File.Delete(temporary);
        }
    }
}
