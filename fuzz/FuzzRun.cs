using System.Diagnostics;

namespace NanoNet.Fuzz;

/// <summary>One input that broke the contract: the bytes and what happened.</summary>
public sealed record FuzzFinding(int Index, string SeedModel, byte[] Bytes, string Problem);

/// <summary>Counts of one fuzz run.</summary>
public sealed record FuzzReport(string Target, int Inputs, int Accepted, int Rejected, IReadOnlyList<FuzzFinding> Bugs, TimeSpan Elapsed)
{
    /// <summary>E.g. <c>safetensors: 10000 inputs, 1234 accepted, 8766 rejected, 0 bugs (3.2 s)</c>.</summary>
    public override string ToString() =>
        $"{Target}: {Inputs} inputs, {Accepted} accepted, {Rejected} rejected, {Bugs.Count} bugs ({Elapsed.TotalSeconds:F1} s)";
}

/// <summary>Runs a target on mutated seeds and sorts every input into accepted, rejected (correctly) or bug.</summary>
public static class FuzzRun
{
    /// <summary>How long one input may take before it counts as a hang.</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(10);

    /// <summary>The seeds of <paramref name="target"/>: (seed model name, file bytes), from <paramref name="seedFolder"/>.</summary>
    public static List<(string Model, byte[] Bytes)> Seeds(FuzzTarget target, string seedFolder) =>
        [.. SeedModels.Names.Select(m => (m, File.ReadAllBytes(Path.Combine(seedFolder, m + target.SeedSuffix))))];

    /// <summary>Mutates the seeds <paramref name="inputs"/> times (deterministically for <paramref name="seed"/>) and checks each result.</summary>
    public static FuzzReport Run(FuzzTarget target, string seedFolder, int inputs, int seed)
    {
        List<(string Model, byte[] Bytes)> seeds = Seeds(target, seedFolder);
        var mutator = new Mutator(seed);
        var picker = new Random(seed ^ 0x5EED);
        int accepted = 0, rejected = 0;
        var bugs = new List<FuzzFinding>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < inputs; i++)
        {
            (string model, byte[] original) = seeds[picker.Next(seeds.Count)];
            byte[] bytes = mutator.Mutate(original);
            string? problem = Check(target, bytes, $"fuzz-{i}{target.SeedSuffix}", model, out bool wasAccepted);
            if (problem is not null)
            {
                bugs.Add(new FuzzFinding(i, model, bytes, problem));
                if (problem.StartsWith("hang", StringComparison.Ordinal))
                    break; // the hung reader still runs; stop here
            }
            else if (wasAccepted)
                accepted++;
            else
                rejected++;
        }
        return new FuzzReport(target.Name, accepted + rejected + bugs.Count, accepted, rejected, bugs, clock.Elapsed);
    }

    /// <summary>Runs one input; null when the contract held (accepted, or rejected by a naming InvalidDataException), else the problem.</summary>
    public static string? Check(FuzzTarget target, byte[] bytes, string fileName, string seedModel, out bool accepted)
    {
        accepted = false;
        Exception? thrown = null;
        var run = Task.Run(() =>
        {
            try
            {
                target.Read(bytes, fileName, seedModel);
            }
            catch (Exception e)
            {
                thrown = e;
            }
        });
        if (!run.Wait(HangLimit))
            return $"hang: no answer within {HangLimit.TotalSeconds} s";
        switch (thrown)
        {
            case null:
                accepted = true;
                return null;
            case InvalidDataException e when e.Message.Contains(fileName, StringComparison.Ordinal):
                return null;
            case InvalidDataException e:
                return $"the InvalidDataException does not name the file: {e.Message}";
            default:
                return $"{thrown.GetType().Name}: {thrown.Message}\n{thrown.StackTrace}";
        }
    }
}
