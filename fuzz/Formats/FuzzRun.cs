using System.Diagnostics;

namespace NanoNet.Fuzz.Formats;

/// <summary>One input that broke the contract: the bytes and what happened.</summary>
public sealed record FuzzFinding(int Index, string SeedModel, byte[] Bytes, string Problem);

/// <summary>Counts of one fuzz run.</summary>
public sealed record FuzzReport(string Target, int Inputs, int Accepted, int Rejected, IReadOnlyList<FuzzFinding> Bugs, TimeSpan Elapsed)
{
    /// <summary>How often each kind of rejection occurred (the message with file name and numbers removed, shortened).</summary>
    public IReadOnlyDictionary<string, int> Rejections { get; init; } = new Dictionary<string, int>();

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
        var rejections = new Dictionary<string, int>();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < inputs; i++)
        {
            (string model, byte[] original) = seeds[picker.Next(seeds.Count)];
            byte[] bytes = mutator.Mutate(original);
            string fileName = $"fuzz-{i}{target.SeedSuffix}";
            string? problem = Check(target, bytes, fileName, model, out bool wasAccepted, out string? rejection);
            if (problem is not null)
            {
                bugs.Add(new FuzzFinding(i, model, bytes, problem));
                if (problem.StartsWith("hang", StringComparison.Ordinal))
                    break; // the hung reader still runs; stop here
            }
            else if (wasAccepted)
                accepted++;
            else
            {
                rejected++;
                string kind = Kind(rejection!, fileName);
                rejections[kind] = rejections.GetValueOrDefault(kind) + 1;
            }
        }
        return new FuzzReport(target.Name, accepted + rejected + bugs.Count, accepted, rejected, bugs, clock.Elapsed) { Rejections = rejections };
    }

    /// <summary>Runs one input; null when the contract held (accepted, or rejected by a naming InvalidDataException), else the problem.</summary>
    public static string? Check(FuzzTarget target, byte[] bytes, string fileName, string seedModel, out bool accepted) =>
        Check(target, bytes, fileName, seedModel, out accepted, out _);

    /// <summary>Like the other overload, also giving the rejection message.</summary>
    public static string? Check(FuzzTarget target, byte[] bytes, string fileName, string seedModel, out bool accepted, out string? rejection)
    {
        accepted = false;
        rejection = null;
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
                rejection = e.Message;
                return null;
            case InvalidDataException e:
                return $"the InvalidDataException does not name the file: {e.Message}";
            default:
                return $"{thrown.GetType().Name}: {thrown.Message}\n{thrown.StackTrace}";
        }
    }

    /// <summary>The kind of a rejection: its message without the file name, quoted names and numbers, cut at 70 characters.</summary>
    private static string Kind(string message, string fileName)
    {
        string kind = message.Replace(fileName + ": ", "");
        kind = System.Text.RegularExpressions.Regex.Replace(kind, @"'[^']*'|""[^""]*""|\(.*?\)|\d+", "_");
        return kind.Length <= 70 ? kind : kind[..70];
    }
}
