using System.Diagnostics;
using System.Text;

namespace NanoNet.Tests.Distributed;

/// <summary>
/// Runs examples/Distributed under <c>mpirun</c> on this machine's loopback, bounded in time: a run that
/// outlives its limit is killed with its whole process tree (mpirun and every rank) and reported.
/// </summary>
internal static class MpiRun
{
    /// <summary>The launcher, built beside the tests (a project reference).</summary>
    public static string Launcher => Path.Combine(AppContext.BaseDirectory, "Distributed.dll");

    /// <summary>mpirun's path; fails the test (not skips it) when Open MPI is not installed: CI installs it.</summary>
    public static string RequireMpirun()
    {
        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (File.Exists(Path.Combine(folder, "mpirun")))
                return Path.Combine(folder, "mpirun");
        Assert.Fail("mpirun is not installed: 'apt-get install openmpi-bin libopenmpi-dev' (.ci/run installs it).");
        return "";
    }

    /// <summary>The CIFAR-10 archive, or an ignored test when NANONET_DATA does not hold it (as the other real-data tests).</summary>
    public static string RequireCifar()
    {
        string? root = Environment.GetEnvironmentVariable("NANONET_DATA");
        string archive = root is null ? "" : Path.Combine(root, "cifar-10-binary.tar.gz");
        if (!File.Exists(archive))
            Assert.Ignore("Set NANONET_DATA to the folder holding cifar-10-binary.tar.gz to run this test.");
        return archive;
    }

    /// <summary>Exit code, combined output and wall time of one job of <paramref name="processes"/> ranks.</summary>
    public static (int ExitCode, string Output, TimeSpan Elapsed) Run(int processes, TimeSpan limit, params string[] arguments)
    {
        var start = new ProcessStartInfo(RequireMpirun()) { RedirectStandardOutput = true, RedirectStandardError = true };
        // Loopback only; no core binding (the threads of a 1-process run must not share one core).
        foreach (string argument in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", processes.ToString(), "dotnet", Launcher })
            start.ArgumentList.Add(argument);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using Process process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"mpirun -np {processes} {string.Join(' ', arguments)} did not finish within {limit.TotalSeconds} s and was killed. Output so far:\n{output}");
        }
        process.WaitForExit(); // drains the redirected output
        lock (output)
            return (process.ExitCode, output.ToString(), clock.Elapsed);
    }
}
