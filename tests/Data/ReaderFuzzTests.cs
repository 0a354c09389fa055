using NanoNet.Fuzz.Mutation;
using NanoNet.Fuzz.Targets;

namespace NanoNet.Tests.Data;

/// <summary>
/// A bounded run of the reader fuzzer (fuzz/, issue 15) with a fixed seed, and every kept regression input:
/// each input must load or throw the reader's documented exception naming the file. The full runs are
/// <c>dotnet run -c Release --project fuzz -- all 10000 --seed 1</c>.
/// </summary>
public class ReaderFuzzTests
{
    private static IEnumerable<string> Targets() => ReaderTargets.All.Select(t => t.Name);

    /// <summary>Inputs per target in CI: 2–3 seconds each on one core, about 12 s in all.</summary>
    private static int InputsFor(string target) => target switch
    {
        "cifar10" => 4000,
        "imdb" => 5000,
        _ => 8000,
    };

    [TestCaseSource(nameof(Targets))]
    public void A_bounded_fuzz_run_keeps_the_contract(string name)
    {
        FuzzTarget target = ReaderTargets.Get(name);
        FuzzReport report = FuzzRunner.Run(target, InputsFor(name), seed: 15);
        TestContext.Out.WriteLine(report);
        Assert.That(report.Bugs, Is.Empty);
        Assert.That(report.Loaded, Is.GreaterThan(0), "some mutated inputs should still load");
        if (name != "text") // any bytes are a text corpus
            Assert.That(report.Rejected, Is.GreaterThan(0), "some mutated inputs should be rejected");
    }

    [TestCaseSource(nameof(Targets))]
    public void Kept_regression_inputs_keep_the_contract(string name)
    {
        FuzzTarget target = ReaderTargets.Get(name);
        foreach (var (file, variant) in FuzzRunner.Regressions(target))
        {
            Outcome outcome = FuzzRunner.CheckFile(target, file, variant, out string? problem);
            TestContext.Out.WriteLine($"{Path.GetFileName(file)}: {outcome}");
            Assert.That(outcome, Is.Not.EqualTo(Outcome.Bug), $"{file}: {problem}");
        }
    }

    [Test]
    public void The_seed_files_load()
    {
        foreach (FuzzTarget target in ReaderTargets.All)
            foreach (string seed in target.SeedFiles)
                for (int variant = 0; variant < 3; variant++)
                {
                    // Variant 0 is the reader's default use; the others may reject a seed (e.g. the CSV's header read as data).
                    Outcome outcome = FuzzRunner.CheckFile(target, Path.Combine(FuzzRunner.SeedsFolder, seed), variant, out string? problem);
                    Assert.That(outcome, variant == 0 ? Is.EqualTo(Outcome.Loaded) : Is.Not.EqualTo(Outcome.Bug), $"{target.Name} {seed} variant {variant}: {problem}");
                }
    }
}
