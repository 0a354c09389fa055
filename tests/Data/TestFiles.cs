using System.Formats.Tar;
using System.IO.Compression;
using System.Text;

namespace NanoNet.Tests.Data;

/// <summary>Small files and archives that data tests build in a temporary folder.</summary>
internal sealed class TestFiles : IDisposable
{
    public TestFiles()
    {
        Root = Path.Combine(Path.GetTempPath(), "nanonet-data-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    /// <summary>The temporary folder, deleted on dispose.</summary>
    public string Root { get; }

    /// <summary>Writes a file under <see cref="Root"/> (creating folders) and returns its path.</summary>
    public string Write(string relativePath, byte[] data)
    {
        string path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data);
        return path;
    }

    /// <summary>Writes UTF-8 text (no BOM) under <see cref="Root"/>.</summary>
    public string Write(string relativePath, string text) => Write(relativePath, new UTF8Encoding(false).GetBytes(text));

    /// <summary>Writes a .tar.gz under <see cref="Root"/> holding the entries in the given order.</summary>
    public string WriteTarGz(string relativePath, IEnumerable<(string Name, byte[] Data)> entries)
    {
        string path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, TarGz(entries));
        return path;
    }

    /// <summary>The bytes of a .tar.gz holding the entries in the given order (with a directory entry per folder).</summary>
    public static byte[] TarGz(IEnumerable<(string Name, byte[] Data)> entries)
    {
        var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            var folders = new HashSet<string>();
            foreach (var (name, data) in entries)
            {
                string folder = name.Contains('/') ? name[..(name.LastIndexOf('/') + 1)] : "";
                if (folder.Length > 0 && folders.Add(folder))
                    tar.WriteEntry(new PaxTarEntry(TarEntryType.Directory, folder));
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
            }
        }
        return memory.ToArray();
    }

    public static byte[] Utf8(string text) => new UTF8Encoding(false).GetBytes(text);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>The real data sets, found through $NANONET_DATA; tests are ignored when they are absent.</summary>
internal static class RealData
{
    public static string PathOf(string fileName)
    {
        string? folder = Environment.GetEnvironmentVariable("NANONET_DATA");
        if (string.IsNullOrEmpty(folder))
            Assert.Ignore("NANONET_DATA is not set; real-data test skipped.");
        string path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
            Assert.Ignore($"{path} not found; real-data test skipped.");
        return path;
    }
}

/// <summary>Raw tar and gzip bytes for crafting damaged archives (no directory entries added).</summary>
internal static class CraftedTar
{
    /// <summary>A ustar stream (uncompressed) holding exactly the given regular files, in order.</summary>
    public static byte[] Tar(IEnumerable<(string Name, byte[] Data)> entries)
    {
        var memory = new MemoryStream();
        using (var tar = new TarWriter(memory, TarEntryFormat.Ustar, leaveOpen: true))
            foreach (var (name, data) in entries)
                tar.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
        return memory.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(data);
        return output.ToArray();
    }

    /// <summary>
    /// Rewrites the size field (12 octal bytes at offset 124) of the ustar header of the entry named
    /// <paramref name="name"/> and fixes the header checksum, so the header claims <paramref name="size"/> bytes.
    /// </summary>
    public static void PatchSize(byte[] tar, string name, long size)
    {
        int offset = 0;
        while (offset + 512 <= tar.Length)
        {
            string entryName = Encoding.ASCII.GetString(tar, offset, 100).TrimEnd('\0');
            long entrySize = Convert.ToInt64(Encoding.ASCII.GetString(tar, offset + 124, 11).Trim('\0', ' '), 8);
            if (entryName == name)
            {
                Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(tar, offset + 124);
                Array.Fill(tar, (byte)' ', offset + 148, 8);
                int sum = 0;
                for (int i = 0; i < 512; i++)
                    sum += tar[offset + i];
                Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(tar, offset + 148);
                return;
            }
            offset += 512 + (int)((entrySize + 511) / 512 * 512);
        }
        throw new ArgumentException($"No entry {name} in the tar stream.");
    }
}
