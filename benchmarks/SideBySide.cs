using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace NanoNet.Benchmarks;

/// <summary>
/// NanoNet against LibTorch 2.10 (TorchSharp, benchmarks/libtorch), case by case: each case runs in a fresh
/// process per side, the two sides alternating (NanoNet first in odd rounds, LibTorch first in even ones), for
/// several rounds at each thread count; the table gives each side's median over the rounds of its per-run
/// median step time, and NanoNet's speed as a multiple of LibTorch's.
/// </summary>
/// <remarks>
/// The machine is shared, so absolute times drift by ±20% from minute to minute; alternating the sides per
/// case puts both under the same neighbours, and the ratio is what to read. Before every process the FMA probe runs
/// pinned to each CPU in turn (<see cref="VcpuProbe"/>), and the slowest and fastest figures go into the result's line
/// and the table: a round run while the host slowed one vCPU down shows there. Results are appended to a JSON-lines
/// file as they come, so a long comparison can run in chunks (one round or one thread count at a time, e.g.
/// under a lock) and <c>--table-only</c> prints the table of everything gathered.
/// </remarks>
public static class SideBySide
{
    public static int Run(string[] args)
    {
        int rounds = 3, steps = 40;
        int[] threads = [1, 2];
        var cases = new List<string>();
        string peer = Path.Combine(AppContext.BaseDirectory, "../../../libtorch/bin/Release/net10.0/linux-x64/NanoNet.LibTorchPeer");
        string results = "libtorch-comparison.jsonl";
        bool tableOnly = false;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--steps": steps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--peer": peer = args[++i]; break;
                case "--results": results = args[++i]; break;
                case "--table-only": tableOnly = true; break;
                case "--threads":
                    var counts = new List<int>();
                    while (i + 1 < args.Length && int.TryParse(args[i + 1], out int t)) { counts.Add(t); i++; }
                    threads = [.. counts];
                    break;
                default:
                    if (!SeedCases.Names.Contains(args[i]))
                        throw new ArgumentException($"Unknown option or case '{args[i]}'. Cases: {string.Join(", ", SeedCases.Names)}.");
                    cases.Add(args[i]);
                    break;
            }
        }
        if (cases.Count == 0)
            cases.AddRange(SeedCases.Names);
        if (!tableOnly)
        {
            if (!File.Exists(peer))
                throw new FileNotFoundException($"The LibTorch peer is not built: {peer} (bash benchmarks/compare-libtorch.sh builds it).");
            // The imdb-* cases: the reviews' ids in a file for the peer, one per batch size.
            var idsFiles = new Dictionary<int, string>();
            foreach (string name in cases.Where(c => c.StartsWith("imdb-", StringComparison.Ordinal)))
            {
                int batch = SeedCases.BatchSize(name);
                if (!idsFiles.ContainsKey(batch))
                    SeedCases.WriteImdbIds(batch, idsFiles[batch] = Path.Combine(Path.GetTempPath(), $"nanonet-imdb-ids-{batch}.bin"));
            }
            string self = Environment.ProcessPath ?? "dotnet";
            string[] selfPrefix = self.EndsWith("dotnet", StringComparison.Ordinal) ? [typeof(SideBySide).Assembly.Location] : [];
            for (int round = 1; round <= rounds; round++)
            {
                foreach (int t in threads)
                    foreach (string name in cases)
                    {
                        int n = Steps(name, steps);
                        string[] caseArgs = [name, t.ToString(CultureInfo.InvariantCulture), "5", n.ToString(CultureInfo.InvariantCulture)];
                        (string File, string[] Args)[] sides = [(self, [.. selfPrefix, "case", .. caseArgs]), (peer, caseArgs)];
                        if (round % 2 == 0)
                            Array.Reverse(sides);
                        string? idsFile = name.StartsWith("imdb-", StringComparison.Ordinal) ? idsFiles[SeedCases.BatchSize(name)] : null;
                        double[] vcpus = VcpuProbe.Measure(); // just before the pair, on this (main) thread
                        foreach ((string file, string[] sideArgs) in sides)
                        {
                            string line = WithVcpus(RunProcess(file, sideArgs, t, idsFile), vcpus);
                            File.AppendAllText(results, WithRound(line, round) + "\n");
                            Console.Error.WriteLine($"round {round}: {line}");
                        }
                    }
                // NanoNet's own scaling, one and T threads interleaved in one process (the 1- and T-thread rows above run
                // minutes apart, and the host's drift moves them by more than the scaling target's margin).
                if (threads.Contains(1) && threads.Max() > 1)
                    foreach (string name in cases.Where(c => SeedCases.Parse(c).Mode == "train"))
                    {
                        int t = threads.Max(), n = Math.Max(160, 4 * Steps(name, steps));
                        double[] vcpus = VcpuProbe.Measure();
                        string line = WithVcpus(RunProcess(self, [.. selfPrefix, "case", name, t.ToString(CultureInfo.InvariantCulture), "5",
                            n.ToString(CultureInfo.InvariantCulture)], t, null, ("NANONET_THREADS_SWITCH", $"1,1,{t},{t}")), vcpus);
                        File.AppendAllText(results, WithRound(line, round) + "\n");
                        Console.Error.WriteLine($"round {round}: {line}");
                    }
            }
        }
        PrintTable(results);
        return 0;
    }

    /// <summary>A result's JSON line with its round added (before the line's last brace: a switched run's line nests an object).</summary>
    private static string WithRound(string line, int round) =>
        string.Create(CultureInfo.InvariantCulture, $"{line[..line.LastIndexOf('}')]}, \"round\": {round}}}");

    /// <summary>A result's JSON line with the per-CPU FMA probe taken before it: <c>"host_vcpu_fma": [slowest, fastest]</c> (GFLOP/s).</summary>
    private static string WithVcpus(string line, double[] vcpus) => vcpus.Length == 0 ? line :
        string.Create(CultureInfo.InvariantCulture, $"{line[..line.LastIndexOf('}')]}, \"host_vcpu_fma\": [{vcpus.Min():F1}, {vcpus.Max():F1}]}}");

    /// <summary>Fewer steps for the slow cases, so each process runs for a few seconds at most.</summary>
    private static int Steps(string name, int steps) => name switch
    {
        "text-train" or "text-inference" or "imdb-train" or "imdb-inference" => Math.Max(8, steps / 4),
        "cifar10-inference" or "keras-cifar10-train" => Math.Max(10, steps / 2),
        "cifar10-predict1" or "text-predict1" => steps * 5,
        _ => steps,
    };

    private static string RunProcess(string file, string[] args, int threads, string? idsFile, (string Name, string Value)? variable = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
        if (variable is (string name, string value))
            start.Environment[name] = value;
        if (idsFile is not null)
            start.Environment[SeedCases.IdsFileVariable] = idsFile;
        foreach (string a in args)
            start.ArgumentList.Add(a);
        // OpenMP and MKL size their pools at start-up; the peer also calls torch.set_num_threads.
        start.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        start.Environment["MKL_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        start.Environment.Remove("OPENBLAS_CORETYPE");
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string? json = output.Split('\n').LastOrDefault(l => l.StartsWith('{'));
        if (process.ExitCode != 0 || json is null)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed (exit code {process.ExitCode}): {output}");
        return json.Trim();
    }

    private sealed record Row(string Side, string Case, int Threads, int Batch, double MedianMs, long? Allocated, double[] Vcpus);

    /// <summary>The <c>host_vcpu_fma</c> pair of a result's line (empty in files written before it existed).</summary>
    private static double[] Vcpus(JsonElement r) =>
        r.TryGetProperty("host_vcpu_fma", out JsonElement v) ? [.. v.EnumerateArray().Select(e => e.GetDouble())] : [];

    public static void PrintTable(string results)
    {
        var rows = new List<Row>();
        var scaling = new List<ScalingRow>();
        foreach (string line in File.ReadLines(results))
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            JsonElement r = doc.RootElement;
            if (r.GetProperty("side").GetString() == SeedCases.ThreadsSwitchSide)
            {
                int most = r.GetProperty("threads").GetInt32();
                JsonElement steady = r.GetProperty("steady_ms_by_threads");
                scaling.Add(new ScalingRow(r.GetProperty("case").GetString()!, most, steady.GetProperty("1").GetDouble(),
                    steady.GetProperty(most.ToString(CultureInfo.InvariantCulture)).GetDouble(),
                    [.. r.GetProperty("host_fma_scaling").EnumerateArray().Select(e => e.GetDouble())], Vcpus(r)));
                continue;
            }
            rows.Add(new Row(r.GetProperty("side").GetString()!, r.GetProperty("case").GetString()!, r.GetProperty("threads").GetInt32(),
                r.GetProperty("batch").GetInt32(), r.GetProperty("median_ms").GetDouble(),
                r.TryGetProperty("alloc_bytes_per_step", out JsonElement a) ? a.GetInt64() : null, Vcpus(r)));
        }
        Console.WriteLine("| case | batch | threads | rounds | LibTorch ms | NanoNet ms | NanoNet / LibTorch speed | per-round range | fastest rounds | NanoNet B/step | vCPU FMA slowest–fastest |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|");
        foreach (IGrouping<(string Case, int Threads), Row> g in rows.GroupBy(r => (r.Case, r.Threads))
                     .OrderBy(g => Array.IndexOf(SeedCases.Names, g.Key.Case)).ThenBy(g => g.Key.Threads))
        {
            Row[] nano = [.. g.Where(r => r.Side == "nanonet")], torch = [.. g.Where(r => r.Side == "libtorch")];
            if (nano.Length == 0 || torch.Length == 0)
                continue;
            double n = Median(nano.Select(r => r.MedianMs)), t = Median(torch.Select(r => r.MedianMs));
            // Per round: the two sides' runs of one round, next to each other in time.
            double[] perRound = [.. nano.Zip(torch, (a, b) => b.MedianMs / a.MedianMs).Order()];
            // Each side's fastest round: on a host whose neighbours come and go, the round least slowed down on each side
            // (a second estimator beside the medians; it need not favour either side).
            double fastest = torch.Min(r => r.MedianMs) / nano.Min(r => r.MedianMs);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {g.Key.Case} | {nano[0].Batch} | {g.Key.Threads} | {Math.Min(nano.Length, torch.Length)} | {t:F3} | {n:F3} | **{t / n:F2}x** | {perRound[0]:F2}–{perRound[^1]:F2} | {fastest:F2}x | {nano.Max(r => r.Allocated ?? 0):N0} | {VcpuRange(g.Select(r => r.Vcpus))} |"));
        }
        if (scaling.Count == 0)
            return;
        // Each round's ratio comes from one process; the host's own figure (the FMA probe, no memory) bounds what any
        // program could get from the second core in those same seconds.
        Console.WriteLine();
        Console.WriteLine("NanoNet's own scaling: 1 and T threads interleaved in one process (two steps each, the second timed), medians;");
        Console.WriteLine("the host's: the FMA probe at T threads over 1, just before and after each process.");
        Console.WriteLine();
        Console.WriteLine("| case | T | rounds | 1 thread ms | T threads ms | NanoNet T / 1 | per-round range | host FMA T / 1 | vCPU FMA slowest–fastest |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---|---|---|");
        foreach (IGrouping<(string Case, int Threads), ScalingRow> g in scaling.GroupBy(r => (r.Case, r.Threads))
                     .OrderBy(g => Array.IndexOf(SeedCases.Names, g.Key.Case)).ThenBy(g => g.Key.Threads))
        {
            double[] ratios = [.. g.Select(r => r.OneMs / r.ManyMs).Order()];
            double[] host = [.. g.SelectMany(r => r.Host).Order()];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {g.Key.Case} | {g.Key.Threads} | {ratios.Length} | {Median(g.Select(r => r.OneMs)):F3} | {Median(g.Select(r => r.ManyMs)):F3} | **{Median(ratios):F2}x** | {ratios[0]:F2}–{ratios[^1]:F2} | {host[0]:F2}–{host[^1]:F2} | {VcpuRange(g.Select(r => r.Vcpus))} |"));
        }
    }

    private sealed record ScalingRow(string Case, int Threads, double OneMs, double ManyMs, double[] Host, double[] Vcpus);

    /// <summary>The slowest and fastest vCPU probed before any of a row's processes, GFLOP/s ("–" without probes).</summary>
    private static string VcpuRange(IEnumerable<double[]> probes)
    {
        double[] all = [.. probes.SelectMany(p => p)];
        return all.Length == 0 ? "–" : string.Create(CultureInfo.InvariantCulture, $"{all.Min():F0}–{all.Max():F0}");
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] v = [.. values.Order()];
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}
