using System.Formats.Tar;
using System.IO.Compression;

namespace NanoNet.Data;

/// <summary>
/// Streams the regular files of a .tar.gz archive in one pass, without extracting anything to disk.
/// </summary>
/// <remarks>
/// <para>A .tar.gz is a gzip stream (RFC 1952: magic 1F 8B, method 08, flags, then deflate blocks and an
/// 8-byte trailer of CRC-32 and length mod 2³²) whose decompressed bytes are a tar stream: a sequence of
/// 512-byte headers (name at offset 0, size as octal text at offset 124, checksum at 148, type flag at 156,
/// "ustar" magic at 257), each followed by the entry's data padded to a multiple of 512, and two zero blocks at
/// the end. POSIX pax entries carry extra attributes (long names, large sizes) in an extended header entry.</para>
/// <para>The gzip stream is not seekable, so each entry's data must be read before moving to the next
/// entry; entries the caller does not want are skipped by reading (decompressing) past them. The header's
/// size is not trusted: callers check it against their own caps before allocating anything by it.</para>
/// </remarks>
internal static class TarGzReader
{
    /// <summary>
    /// Calls <paramref name="visit"/> for every regular file, with its name normalised to forward
    /// slashes without a leading "./", until it returns false (the rest of the archive is then not read).
    /// The visitor may read <see cref="TarEntry.DataStream"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The archive is corrupt or truncated; the message names it and the last good entry.</exception>
    public static void ForEachFile(string archivePath, Func<string, TarEntry, bool> visit)
    {
        using var file = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        string previous = "(none: the first entry)";
        while (true)
        {
            TarEntry? entry;
            try
            {
                entry = tar.GetNextEntry(copyData: false);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException
                                          or OverflowException      // a base-256 (GNU binary) number field too large for its type
                                          or NotSupportedException  // an entry type TarReader cannot read, e.g. a sparse file
                                          or ArgumentException)     // a header field out of range, e.g. a time stamp beyond DateTime
            {
                throw new InvalidDataException(
                    $"{archivePath}: corrupt or truncated .tar.gz archive after entry '{previous}': {e.Message}", e);
            }
            if (entry is null)
                return;
            string name = NormaliseName(entry.Name);
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile
                && !visit(name, entry))
                return;
            previous = name;
        }
    }

    /// <summary>
    /// Reads up to <paramref name="buffer"/>.Length bytes of an entry's data; returns how many were
    /// read (fewer only when the archive ends early). Decompression errors name the archive and entry.
    /// </summary>
    public static int ReadData(TarEntry entry, Span<byte> buffer, string archivePath, string entryName)
    {
        Stream? data = entry.DataStream;
        if (data is null)
            return 0;
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int read = data.Read(buffer[total..]);
                if (read == 0)
                    break;
                total += read;
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new InvalidDataException(
                $"{archivePath}: {entryName}: corrupt or truncated compressed data after {total} bytes: {e.Message}", e);
        }
        return total;
    }

    /// <summary>Forward slashes, no leading "./".</summary>
    public static string NormaliseName(string name)
    {
        name = name.Replace('\\', '/');
        while (name.StartsWith("./", StringComparison.Ordinal))
            name = name[2..];
        return name;
    }
}
