using System.Diagnostics;
using System.Runtime;

namespace NanoNet.Benchmarks;

/// <summary>
/// The warm-up of the Stopwatch timings: run the code until .NET's tiered JIT has finished with it, so the timed calls
/// run the code a long training runs.
/// </summary>
/// <remarks>
/// Tiered compilation promotes a method through three tiers (tier 0, instrumented, tier 1), each after 30 calls and a
/// 100 ms quiet period, compiling on a background thread; a loop that runs long in tier-0 code moves to optimized code
/// on stack replacement. A fixed warm-up misses part of it: after 40 steps and 2 s the IMDB training step still tiered
/// up 1–38 methods in half of 40 timed steps (29–47 ms against 20–21, the background compiler taking one of the two
/// cores), and <c>gemm-time</c>'s two warm-up calls timed the 64 × 128 × 7200 product at 5.2 ms in code the JIT had
/// not finished, 0.75 ms in a training step (benchmarks/README.md, seventeenth sitting). The warm-up therefore ends only
/// when the process-wide count of compiled methods (<see cref="JitInfo.GetCompiledMethodCount"/>) has not moved for
/// <see cref="QuietCalls"/> calls in a row and <see cref="QuietSeconds"/>. Both bounds matter: a method called once per
/// call waits 30 calls between its promotions, compiling nothing meanwhile (10 quiet steps still let a wave of ~70
/// methods fall into the IMDB inference's timed steps), and the 100 ms tiering delay can outlast many short calls.
/// </remarks>
public static class SteadyState
{
    /// <summary>Calls in a row without a compiled method that end the warm-up: more than the 30 calls between two promotions.</summary>
    public const int QuietCalls = 40;

    /// <summary>Seconds without a compiled method that end the warm-up (with <see cref="QuietCalls"/>).</summary>
    public const double QuietSeconds = 0.3;

    /// <summary>The longest warm-up, in seconds, however busy the JIT still is.</summary>
    public const double MaxSeconds = 60.0;

    /// <summary>
    /// The side-by-side cases' least warm-up in steps, on both sides (the LibTorch peer compiles this file too), before
    /// the quiet rule: the tiered JIT promotes a method after 30 calls, so a method called once per step reaches its
    /// first optimized code only at step 30, and 2 s alone warmed the IMDB step at 1 thread (~90 ms) for ~23.
    /// </summary>
    public const int CaseMinSteps = 40;

    /// <summary>
    /// The side-by-side cases' least warm-up in seconds, on both sides: a few-step warm-up timed a millisecond-long step
    /// partly in tier-0 code (single-sample Predict measured 3–5x slower).
    /// </summary>
    public const double CaseMinSeconds = 2.0;

    /// <summary>
    /// Runs <paramref name="call"/> at least <paramref name="minCalls"/> times and for <paramref name="minSeconds"/>,
    /// then until the JIT is quiet (see the remarks), at most <see cref="MaxSeconds"/>; returns the number of calls.
    /// </summary>
    public static int WarmUp(Action call, int minCalls = 3, double minSeconds = 0)
    {
        long start = Stopwatch.GetTimestamp(), quietSince = start;
        long compiled = JitInfo.GetCompiledMethodCount();
        int calls = 0, quiet = 0;
        while (calls < minCalls || Seconds(start) < minSeconds
               || (quiet < QuietCalls || Seconds(quietSince) < QuietSeconds) && Seconds(start) < MaxSeconds)
        {
            call();
            calls++;
            long now = JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                quiet = 0;
                quietSince = Stopwatch.GetTimestamp();
                compiled = now;
            }
            else
                quiet++;
        }
        return calls;
    }

    private static double Seconds(long since) => Stopwatch.GetElapsedTime(since).TotalSeconds;
}
