using System.Globalization;

namespace NanoNet.Kernels;

/// <summary>
/// The data-cache sizes of one core, as the operating system describes them: what <see cref="GemmBlocking"/>
/// sizes the GEMM's cache blocks from.
/// </summary>
/// <param name="L1Data">Level-1 data cache, bytes.</param>
/// <param name="L2">Level-2 cache, bytes (private to the core on current x86 and ARM server chips).</param>
/// <param name="L3">Level-3 cache, bytes (shared by several cores), or 0 when there is none.</param>
internal sealed record CpuCaches(long L1Data, long L2, long L3)
{
    /// <summary>What a machine that does not describe its caches is assumed to have: 32 KB L1d and 1 MB L2, common to x86 and ARM cores of the last decade.</summary>
    public static readonly CpuCaches Default = new(32 * 1024, 1024 * 1024, 0);

    /// <summary><see cref="ThisMachine"/>, read once per process.</summary>
    public static readonly CpuCaches OfThisMachine = ThisMachine();

    /// <summary>This machine's caches: Linux's description of cpu0, else <see cref="Default"/>.</summary>
    public static CpuCaches ThisMachine()
    {
        const string linux = "/sys/devices/system/cpu/cpu0/cache";
        try
        {
            return OperatingSystem.IsLinux() && Directory.Exists(linux) ? FromSysfs(linux) ?? Default : Default;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return Default; // an unreadable or odd description: the defaults are safe, only slower
        }
    }

    /// <summary>
    /// Reads a Linux cache description (<c>/sys/devices/system/cpu/cpuN/cache</c>: one <c>indexK</c> folder per
    /// cache, with <c>level</c>, <c>type</c> and <c>size</c> files such as <c>1</c>, <c>Data</c>, <c>48K</c>);
    /// null when it names no L1 data or no L2 cache. Instruction caches are ignored.
    /// </summary>
    public static CpuCaches? FromSysfs(string directory)
    {
        long l1 = 0, l2 = 0, l3 = 0;
        foreach (string index in Directory.EnumerateDirectories(directory, "index*"))
        {
            string type = ReadText(index, "type");
            if (type == "Instruction" || !File.Exists(Path.Combine(index, "size")))
                continue;
            long size = ParseSize(ReadText(index, "size"));
            switch (ReadText(index, "level"))
            {
                case "1": l1 = size; break;
                case "2": l2 = size; break;
                case "3": l3 = size; break;
            }
        }
        return l1 > 0 && l2 > 0 ? new CpuCaches(l1, l2, l3) : null;
    }

    private static string ReadText(string folder, string file)
    {
        string path = Path.Combine(folder, file);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : "";
    }

    /// <summary>"48K", "2048K", "32M" or a plain byte count, as sysfs writes sizes.</summary>
    internal static long ParseSize(string text)
    {
        long unit = text.EndsWith('K') ? 1024 : text.EndsWith('M') ? 1024 * 1024 : text.EndsWith('G') ? 1024L * 1024 * 1024 : 1;
        string digits = unit == 1 ? text : text[..^1];
        return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * unit;
    }
}
