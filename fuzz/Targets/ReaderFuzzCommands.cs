using NanoNet.Fuzz.Mutation;
using NanoNet.Fuzz.Targets;

namespace NanoNet.Fuzz.Targets;

/// <summary>The commands that fuzz the data-set readers (issue 15). See Program.cs for usage.</summary>
internal static class ReaderFuzzCommands
{
    public static int Run(string[] args)
    {
        if (args.Length < 2 || !int.TryParse(args[1], out int count) || count < 0)
        {
            Console.Error.WriteLine($"usage: <target|all> <count> [--seed N] [--no-save]; targets: {string.Join(", ", ReaderTargets.All.Select(t => t.Name))}");
            return 2;
        }
        int seed = 1;
        bool save = true;
        for (int i = 2; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], out seed): i++; break;
                case "--no-save": save = false; break;
                default:
                    Console.Error.WriteLine($"unknown option '{args[i]}'; the options are --seed N and --no-save");
                    return 2;
            }
        }
        IEnumerable<FuzzTarget> targets = args[0] == "all" ? ReaderTargets.All : [ReaderTargets.Get(args[0])];
        int violations = 0;
        foreach (FuzzTarget target in targets)
        {
            FuzzReport report = FuzzRunner.Run(target, count, seed, save ? FuzzRunner.RegressionsFolder : null, Console.Out);
            Console.WriteLine(report);
            violations += report.Bugs.Count;
        }
        return violations == 0 ? 0 : 1;
    }
}
