using System.Globalization;
using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>
/// The caches read from the processor (CPUID) where Linux lists none: recorded leaves (tests/Tensor/CpuCaches/cpuid)
/// give the sizes their sysfs descriptions give, and a processor without the leaves gives no description.
/// </summary>
public class CpuCachesFromCpuidTests
{
    /// <summary>A recorded CPUID: the listed (leaf, subleaf) words, zeros for any other.</summary>
    private static Func<int, int, (int, int, int, int)> Recorded(string machine)
    {
        var words = new Dictionary<(int Leaf, int Subleaf), (int, int, int, int)>();
        foreach (string line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Tensor", "CpuCaches", "cpuid", machine + ".txt")))
        {
            string text = line.Trim();
            if (text.Length == 0 || text.StartsWith('#'))
                continue;
            // 0x80000006 0x00: eax=0x40802040 ebx=0x60804040 ecx=0x04006140 edx=0x0fe09140
            string[] parts = text.Replace(":", "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int Hex(string s) => unchecked((int)uint.Parse(s[(s.IndexOf("0x", StringComparison.Ordinal) + 2)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            words[(Hex(parts[0]), Hex(parts[1]))] = (Hex(parts[2]), Hex(parts[3]), Hex(parts[4]), Hex(parts[5]));
        }
        return (leaf, subleaf) => words.GetValueOrDefault((leaf, subleaf));
    }

    private static CpuCaches Sysfs(string machine) =>
        CpuCaches.FromSysfs(Path.Combine(AppContext.BaseDirectory, "Tensor", "CpuCaches", machine))!;

    [Test]
    public void IntelLeafFourGivesWhatLinuxReadsFromIt()
    {
        Assert.That(CpuCaches.FromCpuid(Recorded("emerald-rapids-xeon-kvm")), Is.EqualTo(Sysfs("emerald-rapids-xeon-kvm")));
    }

    [Test]
    public void AmdCacheTopologyLeafGivesTheSizesOfTheCore()
    {
        Assert.That(CpuCaches.FromCpuid(Recorded("zen5-epyc-9005")), Is.EqualTo(Sysfs("zen5-epyc-9005")));
    }

    [Test]
    public void AnAmdVmThatZeroesTheTopologyLeafIsReadFromTheLegacyLeaves()
    {
        // 48 KB L1d (0x80000005 ECX[31:24]), 1 MB L2 (0x80000006 ECX[31:16]), 1016 × 512 KB L3 (EDX[31:18]).
        Assert.That(CpuCaches.FromCpuid(Recorded("zen5-epyc-vm")), Is.EqualTo(new CpuCaches(48 * 1024, 1024 * 1024, 1016L * 512 * 1024)));
        Assert.That(GemmBlocking.For(CpuCaches.FromCpuid(Recorded("zen5-epyc-vm"))!), Is.EqualTo(GemmBlocking.For(Sysfs("zen5-epyc-9005"))),
            "the VM blocks as the Zen 5 core it runs on");
    }

    [Test]
    public void AProcessorWithoutCacheLeavesGivesNoDescription()
    {
        var intel = Recorded("emerald-rapids-xeon-kvm");
        // An Intel processor whose highest basic leaf is 2, and one whose leaf 4 lists nothing.
        Assert.That(CpuCaches.FromCpuid((leaf, subleaf) => leaf == 0 ? (2, intel(0, 0).Item2, intel(0, 0).Item3, intel(0, 0).Item4) : intel(leaf, subleaf)), Is.Null);
        Assert.That(CpuCaches.FromCpuid((leaf, subleaf) => leaf == 4 ? default : intel(leaf, subleaf)), Is.Null);
        // An AMD processor without the legacy leaves whose topology leaf is zeroed.
        var amd = Recorded("zen5-epyc-vm");
        Assert.That(CpuCaches.FromCpuid((leaf, subleaf) => leaf == unchecked((int)0x80000000) ? (unchecked((int)0x80000004), 0, 0, 0) : amd(leaf, subleaf)), Is.Null);
        // A CPUID whose highest basic leaf is 0 gives nothing.
        Assert.That(CpuCaches.FromCpuid((_, _) => default), Is.Null);
    }

    [Test]
    public void OnlyTheTopologyExtensionsBitLetsAmdLeafBeRead()
    {
        // The Zen 5 record without TopologyExtensions (0x80000001 ECX bit 22) and without legacy leaves: nothing to read.
        var zen5 = Recorded("zen5-epyc-9005");
        Assert.That(CpuCaches.FromCpuid((leaf, subleaf) =>
        {
            var words = zen5(leaf, subleaf);
            return leaf == unchecked((int)0x80000001) ? (words.Item1, words.Item2, words.Item3 & ~(1 << 22), words.Item4) : words;
        }), Is.Null);
    }
}
