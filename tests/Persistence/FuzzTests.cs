using NanoNet.Fuzz.Formats;

namespace NanoNet.Tests;

/// <summary>
/// A bounded run of the format fuzzer (fuzz/, 500 inputs per format, fixed seed) and every stored
/// regression input: the readers accept or reject with an InvalidDataException naming the file, nothing else.
/// </summary>
public class FuzzTests
{
    private static readonly string s_root = SeedFiles.RepositoryRoot(TestContext.CurrentContext.TestDirectory);

    [TestCase("safetensors")]
    [TestCase("model")]
    [TestCase("checkpoint")]
    public void FiveHundredMutatedFilesBreakNoReader(string targetName)
    {
        FuzzReport report = FuzzRun.Run(FuzzTarget.Named(targetName), SeedFiles.SeedFolder(s_root), inputs: 500, seed: 1);
        TestContext.Out.WriteLine(report);
        Assert.That(report.Bugs.Select(b => $"input {b.Index}: {b.Problem}"), Is.Empty);
        Assert.That(report.Rejected, Is.GreaterThan(100), "the mutations should mostly produce invalid files");
    }

    [Test]
    public void TheSeedsThemselvesAreAccepted()
    {
        foreach (FuzzTarget target in FuzzTarget.All)
            foreach ((string model, byte[] bytes) in FuzzRun.Seeds(target, SeedFiles.SeedFolder(s_root)))
            {
                Assert.That(FuzzRun.Check(target, bytes, "seed", model, out bool accepted), Is.Null);
                Assert.That(accepted, Is.True, $"{target.Name} seed {model}");
            }
    }

    [Test]
    public void EveryRegressionInputIsHandled()
    {
        string folder = SeedFiles.RegressionFolder(s_root);
        foreach (string file in Directory.GetFiles(folder, "*.bin"))
        {
            string[] parts = Path.GetFileNameWithoutExtension(file).Split('-', 2);
            string model = SeedModels.Names.First(m => parts[1].StartsWith(m, StringComparison.Ordinal));
            Assert.That(FuzzRun.Check(FuzzTarget.Named(parts[0]), File.ReadAllBytes(file), file, model, out _), Is.Null, Path.GetFileName(file));
        }
    }
}
