using NanoNet.Kernels;

namespace NanoNet.Tests;

/// <summary>The GEMM's cache blocks chosen from recorded cache descriptions (tests/Tensor/CpuCaches).</summary>
public class GemmBlockingTests
{
    private static string Recorded(string machine) => Path.Combine(AppContext.BaseDirectory, "Tensor", "CpuCaches", machine);

    private static readonly string[] Machines = ["zen4-epyc-vm", "zen5-epyc-9005", "sapphire-rapids-xeon-8480", "emerald-rapids-xeon-kvm"];

    [Test]
    public void RecordedDescriptionsAreReadAsTheirSizeFilesSay()
    {
        Assert.That(CpuCaches.FromSysfs(Recorded("zen5-epyc-9005")), Is.EqualTo(new CpuCaches(48 * 1024, 1024 * 1024, 32L * 1024 * 1024)));
        Assert.That(CpuCaches.FromSysfs(Recorded("sapphire-rapids-xeon-8480")), Is.EqualTo(new CpuCaches(48 * 1024, 2048 * 1024, 107520L * 1024)));
        Assert.That(CpuCaches.FromSysfs(Recorded("zen4-epyc-vm")), Is.EqualTo(new CpuCaches(32 * 1024, 1024 * 1024, 32L * 1024 * 1024)));
        Assert.That(CpuCaches.FromSysfs(Recorded("emerald-rapids-xeon-kvm")), Is.EqualTo(new CpuCaches(48 * 1024, 2048 * 1024, 266240L * 1024)));
    }

    [Test]
    public void SizesParseInSysfsUnits()
    {
        Assert.That(CpuCaches.ParseSize("48K"), Is.EqualTo(49_152));
        Assert.That(CpuCaches.ParseSize("2M"), Is.EqualTo(2_097_152));
        Assert.That(CpuCaches.ParseSize("4096"), Is.EqualTo(4096));
        Assert.That(() => CpuCaches.ParseSize("48 KB"), Throws.InstanceOf<FormatException>());
    }

    [Test]
    public void AFolderWithoutDataCachesGivesNoDescription()
    {
        string dir = Path.Combine(Path.GetTempPath(), "nanonet-caches-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "index0"));
        try
        {
            File.WriteAllText(Path.Combine(dir, "index0", "level"), "1\n");
            File.WriteAllText(Path.Combine(dir, "index0", "type"), "Instruction\n");
            File.WriteAllText(Path.Combine(dir, "index0", "size"), "32K\n");
            Assert.That(CpuCaches.FromSysfs(dir), Is.Null); // ThisMachine falls back to CpuCaches.Default then
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void TheCoreTheKernelsWereTunedOnKeepsTheTunedBlocks()
    {
        GemmBlocking tuned = GemmBlocking.For(CpuCaches.FromSysfs(Recorded("zen4-epyc-vm"))!);
        Assert.That(tuned, Is.EqualTo(new GemmBlocking(256, 96, 1024)));
        Assert.That(GemmBlocking.For(CpuCaches.Default), Is.EqualTo(tuned), "the default is the common 32 KB / 1 MB core");
    }

    [TestCaseSource(nameof(Machines))]
    public void BlocksFitTheirCachesAndHoldWholeTilesOfEveryKernel(string machine)
    {
        CpuCaches caches = CpuCaches.FromSysfs(Recorded(machine))!;
        GemmBlocking b = GemmBlocking.For(caches);
        Assert.That((long)b.KC * 32 * sizeof(float), Is.LessThanOrEqualTo(caches.L1Data), "one widest B micro-panel fits L1d");
        Assert.That((long)b.MC * b.KC * sizeof(float), Is.LessThanOrEqualTo(caches.L2 / 8), "the packed A block leaves most of L2 to B");
        Assert.That((long)b.KC * b.NC * sizeof(float), Is.LessThanOrEqualTo(caches.L2), "the packed B slab fits L2");
        Assert.That(b.KC % 16, Is.Zero);
        foreach (GemmKernelKind kind in Enum.GetValues<GemmKernelKind>())
        {
            (int mr, int nr) = GemmMicroKernels.TileSize(kind);
            Assert.That(b.MC % mr, Is.Zero, $"MC {b.MC} is a whole number of {kind} strips");
            Assert.That(b.NC % nr, Is.Zero, $"NC {b.NC} is a whole number of {kind} panels");
        }
    }

    [Test]
    public void LargerL2sGiveLargerBlocksButTheBPanelStopsAt32KB()
    {
        GemmBlocking zen4 = GemmBlocking.For(CpuCaches.FromSysfs(Recorded("zen4-epyc-vm"))!);
        GemmBlocking zen5 = GemmBlocking.For(CpuCaches.FromSysfs(Recorded("zen5-epyc-9005"))!);
        GemmBlocking rapids = GemmBlocking.For(CpuCaches.FromSysfs(Recorded("sapphire-rapids-xeon-8480"))!);
        GemmBlocking emerald = GemmBlocking.For(CpuCaches.FromSysfs(Recorded("emerald-rapids-xeon-kvm"))!);
        Assert.That(zen5, Is.EqualTo(zen4), "48 KB L1d against 32 KB: the B panel stays 32 KB (KC 256), the L2 is the same");
        Assert.That(rapids.KC, Is.EqualTo(256), "a 48 KB panel (KC 384) thrashed the 48 KB L1d: measured on Emerald Rapids");
        Assert.That(rapids.MC, Is.GreaterThan(zen5.MC), "2 MB L2 against 1 MB: a taller A block");
        Assert.That(rapids.NC, Is.GreaterThan(zen5.NC), "and a wider B slab");
        Assert.That(emerald, Is.EqualTo(new GemmBlocking(256, 192, 2048)), "the blocks measured best on Emerald Rapids");
        Assert.That(emerald, Is.EqualTo(rapids), "same L1d and L2");
    }

    [Test]
    public void ADirectAProductTakesKWholeWhileItsBPanelFitsHalfOfL2()
    {
        GemmBlocking zen5 = GemmBlocking.For(CpuCaches.FromSysfs(Recorded("zen5-epyc-9005"))!);
        GemmBlocking emerald = GemmBlocking.For(CpuCaches.FromSysfs(Recorded("emerald-rapids-xeon-kvm"))!);
        Assert.That(zen5.DirectASlabLimit, Is.EqualTo(3072), "1 MB L2: an 8×K edge strip fills the 96×256 packed-A block at K = 3072");
        Assert.That(emerald.DirectASlabLimit, Is.EqualTo(6144), "2 MB L2: the 192×256 packed-A block at K = 6144");
        foreach (string machine in Machines)
        {
            CpuCaches caches = CpuCaches.FromSysfs(Recorded(machine))!;
            GemmBlocking b = GemmBlocking.For(caches);
            Assert.That((long)b.DirectASlabLimit * 32 * sizeof(float), Is.LessThanOrEqualTo(caches.L2 / 2), $"{machine}: the K×32 B panel within half of L2");
            Assert.That((long)b.DirectASlabLimit * 8, Is.LessThanOrEqualTo((long)b.MC * b.KC), $"{machine}: an 8×K edge strip within the packed-A block");
            Assert.That(b.DirectASlabLimit, Is.GreaterThan(b.KC), $"{machine}: deeper than a KC slab");
        }
    }

    [Test]
    public void TheGemmUsesThisMachinesBlocks()
    {
        Assert.That((Gemm.KC, Gemm.MC, Gemm.MaxNC), Is.EqualTo((GemmBlocking.ThisMachine.KC, GemmBlocking.ThisMachine.MC, GemmBlocking.ThisMachine.NC)));
    }
}
