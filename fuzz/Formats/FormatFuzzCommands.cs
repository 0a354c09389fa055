namespace NanoNet.Fuzz.Formats;

/// <summary>
/// The commands for NanoNet's own file formats (safetensors weights, model files, checkpoints): fuzzing, regression
/// replay, seed making and measurements. See Program.cs for usage.
/// </summary>
internal static class FormatFuzzCommands
{
    public static readonly string[] Commands = ["safetensors", "model", "checkpoint", "regressions", "make-seeds", "measure"];

    public static int Run(string[] args)
    {
        string root = SeedFiles.RepositoryRoot();
        string command = args.Length > 0 ? args[0] : "help";
        string? Option(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

        switch (command)
        {
            case "make-seeds":
                SeedFiles.Make(SeedFiles.SeedFolder(root), Option("--data"));
                return 0;
            case "measure":
                Measurements.Print();
                return 0;
            case "regressions":
            {
                int bugs = 0, files = 0;
                foreach (string file in Directory.Exists(SeedFiles.RegressionFolder(root)) ? Directory.GetFiles(SeedFiles.RegressionFolder(root), "*.bin").Order().ToArray() : [])
                {
                    string[] parts = Path.GetFileNameWithoutExtension(file).Split('-', 2);
                    FuzzTarget target = FuzzTarget.Named(parts[0]);
                    string model = SeedModels.Names.First(m => parts[1].StartsWith(m, StringComparison.Ordinal));
                    string? problem = FuzzRun.Check(target, File.ReadAllBytes(file), file, model, out _);
                    files++;
                    if (problem is not null)
                    {
                        bugs++;
                        Console.WriteLine($"{Path.GetFileName(file)}: {problem}");
                    }
                }
                Console.WriteLine($"regressions: {files} files, {bugs} bugs");
                return bugs == 0 ? 0 : 1;
            }
            case "safetensors" or "model" or "checkpoint":
            {
                FuzzTarget target = FuzzTarget.Named(command);
                int inputs = args.Length > 1 && int.TryParse(args[1], out int n) ? n : 10_000;
                int seed = int.TryParse(Option("--seed"), out int s) ? s : 1;
                FuzzReport report = FuzzRun.Run(target, SeedFiles.SeedFolder(root), inputs, seed);
                Console.WriteLine(report);
                if (args.Contains("--kinds"))
                    foreach ((string kind, int count) in report.Rejections.OrderByDescending(k => k.Value).Take(25))
                        Console.WriteLine($"  {count,6}  {kind}");
                if (report.Bugs.Count > 0)
                {
                    string findings = Option("--findings") ?? Path.Combine(root, "fuzz-findings");
                    Directory.CreateDirectory(findings);
                    foreach (FuzzFinding bug in report.Bugs)
                    {
                        string stem = Path.Combine(findings, $"{target.Name}-{bug.SeedModel}-seed{seed}-{bug.Index}");
                        File.WriteAllBytes(stem + ".bin", bug.Bytes);
                        File.WriteAllText(stem + ".txt", bug.Problem);
                    }
                    foreach (IGrouping<string, FuzzFinding> kind in report.Bugs.GroupBy(b => b.Problem.Split('\n')[0]).Take(10))
                        Console.WriteLine($"  {kind.Count()} × {kind.Key}\n    first: input {kind.First().Index}");
                    Console.WriteLine($"inputs written to {findings}");
                }
                return report.Bugs.Count == 0 ? 0 : 1;
            }
            default:
                Console.WriteLine("usage: fuzz (safetensors|model|checkpoint) [inputs] [--seed N] [--findings DIR] | regressions | make-seeds [--data PATH] | measure");
                return command == "help" ? 0 : 2;
        }
    }
}
