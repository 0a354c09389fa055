using System.Globalization;
using NanoNet.Data;

namespace NanoNet.Examples.MiniBatch;

/// <summary>Command-line options of the example.</summary>
internal sealed record LessonOptions
{
    /// <summary>Small subsets and few steps, for CI (well under 30 s).</summary>
    public bool Quick { get; init; }

    /// <summary>Folder with the four Fashion-MNIST IDX files.</summary>
    public string DataDirectory { get; init; } = FashionMnist.DebianDirectory;

    /// <summary>Where the CSVs and SVG charts go.</summary>
    public string OutputDirectory { get; init; } = Path.Combine("examples", "MiniBatch", "results");

    /// <summary>Kernel threads (null: NanoNet's default, all cores).</summary>
    public int? Threads { get; init; }

    /// <summary>Passes over the training set per run (null: 5, or 2 in quick mode): every run sees the same number of examples.</summary>
    public int? Epochs { get; init; }

    /// <summary>Training examples used: all 60,000, or the first 2,000 in quick mode.</summary>
    public int TrainCount => Quick ? 2_000 : 60_000;

    /// <summary>Validation (test-set) examples used: all 10,000, or the first 1,000 in quick mode.</summary>
    public int ValidationCount => Quick ? 1_000 : 10_000;

    /// <summary>Epochs per run.</summary>
    public int EpochsPerRun => Epochs ?? (Quick ? 2 : 5);

    /// <summary>
    /// Training-loss points are the mean over windows of at least this many examples (one step if bigger):
    /// about 200 points per run (1,500 examples in the default full mode, 20 in quick mode).
    /// </summary>
    public int LossWindow => (int)Math.Max(1, (long)EpochsPerRun * TrainCount / 200);

    public const string Usage = "Options: --quick  --data DIR  --out DIR  --threads N  --epochs N";

    /// <summary>Parses the command line; throws <see cref="ArgumentException"/> with a usage line on a bad option.</summary>
    public static LessonOptions Parse(IReadOnlyList<string> args)
    {
        var options = new LessonOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string option = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{option} needs a value. {Usage}");
            int Count()
            {
                string text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1
                    ? n : throw new ArgumentException($"{option} takes a positive integer, not '{text}'. {Usage}");
            }
            options = option switch
            {
                "--quick" => options with { Quick = true },
                "--data" => options with { DataDirectory = Value() },
                "--out" => options with { OutputDirectory = Value() },
                "--threads" => options with { Threads = Count() },
                "--epochs" => options with { Epochs = Count() },
                _ => throw new ArgumentException($"Unknown option {option}. {Usage}"),
            };
        }
        return options;
    }
}
