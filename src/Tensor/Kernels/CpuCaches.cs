using System.Globalization;
using System.Runtime.Intrinsics.X86;

namespace NanoNet.Kernels;

/// <summary>
/// The data-cache sizes of one core, as the operating system (or else the processor) describes them: what <see cref="GemmBlocking"/>
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

    /// <summary>
    /// This machine's caches: Linux's description of cpu0; where there is none (some VMs and containers hide
    /// <c>/sys/devices/system/cpu/cpu0/cache</c>, and other systems have no sysfs) the x86 processor's own, from
    /// CPUID; else <see cref="Default"/>.
    /// </summary>
    public static CpuCaches ThisMachine()
    {
        const string linux = "/sys/devices/system/cpu/cpu0/cache";
        try
        {
            if (OperatingSystem.IsLinux() && Directory.Exists(linux) && FromSysfs(linux) is { } described)
                return described;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // an unreadable or odd description: ask the processor, else the defaults (safe, only slower)
        }
        return X86Base.IsSupported ? FromCpuid(static (leaf, subleaf) => X86Base.CpuId(leaf, subleaf)) ?? Default : Default;
    }

    /// <summary>
    /// Reads the x86 processor's own description of its caches through <paramref name="cpuid"/> (leaf, subleaf → EAX,
    /// EBX, ECX, EDX); null when it gives no L1 data or no L2 size.
    /// </summary>
    /// <remarks>
    /// <para>The deterministic cache parameters first: CPUID leaf 4 on Intel and most vendors, leaf 0x8000001D on AMD and
    /// Hygon (where leaf 4 is reserved; present when leaf 0x80000001 sets ECX bit 22, TopologyExtensions). Each subleaf
    /// describes one cache until one of type 0: EAX[4:0] its type (1 data, 2 instruction, 3 unified), EAX[7:5] its
    /// level, and its size is ways × partitions × line size × sets, each field stored minus one (EBX[31:22],
    /// EBX[21:12], EBX[11:0], ECX).</para>
    /// <para>AMD's older leaves second, where a hypervisor hides leaf 0x8000001D (the AMD EPYC VM of the seventeenth
    /// sitting cleared TopologyExtensions and zeroed the leaf, and its Linux then listed no caches): 0x80000005
    /// ECX[31:24] is the L1d in KB, 0x80000006 ECX[31:16] the L2 in KB and EDX[31:18] the L3 in 512 KB units.</para>
    /// </remarks>
    public static CpuCaches? FromCpuid(Func<int, int, (int Eax, int Ebx, int Ecx, int Edx)> cpuid)
    {
        const int extended = unchecked((int)0x80000000), amdL1 = unchecked((int)0x80000005), amdL2L3 = unchecked((int)0x80000006),
            amdCacheTopology = unchecked((int)0x8000001D);
        (int maxBasic, int vendorB, int vendorC, int vendorD) = cpuid(0, 0);
        bool amd = (vendorB, vendorD, vendorC) is (0x68747541, 0x69746E65, 0x444D4163)   // "AuthenticAMD"
                                               or (0x6F677948, 0x6E65476E, 0x656E6975);  // "HygonGenuine"
        if (!amd)
            return maxBasic >= 4 ? FromCacheParameterLeaf(cpuid, 4) : null;

        uint maxExtended = (uint)cpuid(extended, 0).Eax;
        const int topologyExtensions = 1 << 22;
        if (maxExtended >= 0x8000001D && (cpuid(unchecked((int)0x80000001), 0).Ecx & topologyExtensions) != 0
            && FromCacheParameterLeaf(cpuid, amdCacheTopology) is { } described)
            return described;
        if (maxExtended < 0x80000006)
            return null;
        long l1 = (long)((uint)cpuid(amdL1, 0).Ecx >> 24) * 1024;
        (_, _, int ecx, int edx) = cpuid(amdL2L3, 0);
        long l2 = (long)((uint)ecx >> 16) * 1024, l3 = (long)((uint)edx >> 18) * 512 * 1024;
        return l1 > 0 && l2 > 0 ? new CpuCaches(l1, l2, l3) : null;
    }

    /// <summary>The caches a deterministic cache parameter leaf (4, or AMD's 0x8000001D) lists; see <see cref="FromCpuid"/>.</summary>
    private static CpuCaches? FromCacheParameterLeaf(Func<int, int, (int Eax, int Ebx, int Ecx, int Edx)> cpuid, int leaf)
    {
        long l1 = 0, l2 = 0, l3 = 0;
        for (int subleaf = 0; subleaf < 16; subleaf++) // real processors list 4–6 caches; the bound guards a bad hypervisor
        {
            (int eax, int ebx, int ecx, _) = cpuid(leaf, subleaf);
            int type = eax & 0x1F, level = (eax >> 5) & 0x7;
            if (type == 0)
                break;
            if (type == 2)
                continue; // an instruction cache
            long ways = ((uint)ebx >> 22) + 1, partitions = (((uint)ebx >> 12) & 0x3FF) + 1, line = ((uint)ebx & 0xFFF) + 1,
                sets = (long)(uint)ecx + 1;
            long size = ways * partitions * line * sets;
            switch (level)
            {
                case 1: l1 = size; break;
                case 2: l2 = size; break;
                case 3: l3 = size; break;
            }
        }
        return l1 > 0 && l2 > 0 ? new CpuCaches(l1, l2, l3) : null;
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
