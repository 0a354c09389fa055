using System.Security.Cryptography;
using NanoNet.Fuzz.Targets;

namespace NanoNet.Fuzz.Mutation;

/// <summary>What one fuzz run did.</summary>
/// <param name="Target">The target's name.</param>
/// <param name="Inputs">Inputs tried.</param>
/// <param name="Loaded">Inputs the reader accepted.</param>
/// <param name="Rejected">Inputs the reader rejected with its documented exception naming the file.</param>
/// <param name="Bugs">One line per input that broke the contract.</param>
/// <param name="Elapsed">Wall time.</param>
public sealed record FuzzReport(string Target, int Inputs, int Loaded, int Rejected, IReadOnlyList<string> Bugs, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"{Target}: {Inputs} inputs, {Loaded} loaded, {Rejected} rejected, {Bugs.Count} contract violations, {Elapsed.TotalSeconds:F1} s";
}

/// <summary>
/// Runs a target on mutated seeds. A compressed seed is mutated mostly inside (decompress, mutate, recompress,
/// so the damage reaches the parser past the gzip CRC), sometimes in its compressed bytes or its gzip wrapper.
/// </summary>
public static class FuzzRunner
{
    private sealed record Seed(string Name, byte[] Bytes, byte[]? Inner);

    /// <summary>tests/Data/Seeds, found by walking up from the current folder and from the program's folder.</summary>
    public static string SeedsFolder => FindUp(Path.Combine("tests", "Data", "Seeds"));

    /// <summary>tests/Data/Regressions, where inputs that broke a contract are kept.</summary>
    public static string RegressionsFolder => Path.Combine(Path.GetDirectoryName(SeedsFolder)!, "Regressions");

    private static string FindUp(string relative)
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (DirectoryInfo? folder = new(start); folder is not null; folder = folder.Parent)
            {
                string candidate = Path.Combine(folder.FullName, relative);
                if (Directory.Exists(candidate))
                    return candidate;
            }
        throw new DirectoryNotFoundException($"'{relative}' not found above {Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}.");
    }

    /// <summary>
    /// Tries <paramref name="count"/> inputs made from the target's seeds by a generator seeded with
    /// <paramref name="seed"/>. Inputs that break the contract are saved under <paramref name="saveBugsTo"/>/target/ when given.
    /// </summary>
    public static FuzzReport Run(FuzzTarget target, int count, int seed, string? saveBugsTo = null, TextWriter? log = null)
    {
        var seeds = target.SeedFiles.Select(name =>
        {
            byte[] bytes = File.ReadAllBytes(Path.Combine(SeedsFolder, name));
            return new Seed(name, bytes, GzipLayer.IsGzip(bytes) ? GzipLayer.Decompress(bytes) : null);
        }).ToArray();
        byte[][] outerDonors = seeds.Select(s => s.Bytes).ToArray();
        byte[][] innerDonors = seeds.Select(s => s.Inner ?? s.Bytes).ToArray();
        var mutator = new Mutator(seed);
        Random random = mutator.Random;
        string work = Directory.CreateTempSubdirectory("nanonet-fuzz-").FullName;
        string path = Path.Combine(work, target.InputFileName);
        var bugs = new List<string>();
        int loaded = 0, rejected = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            for (int i = 0; i < count; i++)
            {
                Seed s = seeds[random.Next(seeds.Length)];
                byte[] input;
                double layer = random.NextDouble();
                if (s.Inner is not null && layer < 0.7)
                {
                    input = GzipLayer.Compress(mutator.Mutate(s.Inner, target.LengthFields, innerDonors));
                    if (random.Next(8) == 0)
                        input = GzipLayer.MutateWrapper(input, random);
                }
                else if (s.Inner is not null && layer < 0.8)
                {
                    input = GzipLayer.MutateWrapper(s.Bytes, random);
                }
                else
                {
                    input = mutator.Mutate(s.Bytes, s.Inner is null ? target.LengthFields : _ => [], outerDonors);
                }
                File.WriteAllBytes(path, input);
                int variant = i % 3;
                switch (target.Check(path, variant, out string? problem))
                {
                    case Outcome.Loaded: loaded++; break;
                    case Outcome.Rejected: rejected++; break;
                    default:
                        string saved = saveBugsTo is null ? "" : " -> " + Save(saveBugsTo, target, input, variant);
                        string line = $"input {i} (seed {s.Name}, variant {variant}){saved}: {problem}";
                        bugs.Add(line);
                        log?.WriteLine($"{target.Name}: {line}");
                        break;
                }
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
        return new FuzzReport(target.Name, count, loaded, rejected, bugs, clock.Elapsed);
    }

    private static string Save(string folder, FuzzTarget target, byte[] input, int variant)
    {
        string directory = Path.Combine(folder, target.Name);
        Directory.CreateDirectory(directory);
        string file = Path.Combine(directory, $"{Convert.ToHexString(SHA256.HashData(input))[..12].ToLowerInvariant()}-v{variant}.bin");
        File.WriteAllBytes(file, input);
        return file;
    }

    /// <summary>The kept regression inputs of a target: (file, variant), the variant read from the "-vN" suffix.</summary>
    public static IEnumerable<(string File, int Variant)> Regressions(FuzzTarget target)
    {
        string directory = Path.Combine(RegressionsFolder, target.Name);
        if (!Directory.Exists(directory))
            yield break;
        foreach (string file in Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileNameWithoutExtension(file);
            int variant = name.Length > 3 && name[^3..^1] == "-v" ? name[^1] - '0' : 0;
            yield return (file, variant);
        }
    }

    /// <summary>Checks one kept input, copied under the target's file name as the fuzzer wrote it.</summary>
    public static Outcome CheckFile(FuzzTarget target, string file, int variant, out string? problem)
    {
        string work = Directory.CreateTempSubdirectory("nanonet-fuzz-").FullName;
        try
        {
            string path = Path.Combine(work, target.InputFileName);
            File.Copy(file, path);
            return target.Check(path, variant, out problem);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
