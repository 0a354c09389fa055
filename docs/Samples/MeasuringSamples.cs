using System.Diagnostics;
using System.Runtime;
using NanoNet.Diagnostics;
using NanoNet.Layers;
using NanoNet.Losses;
using NanoNet.Optim;

namespace NanoNet.Docs.Samples;

/// <summary>Samples of docs/measuring.md.</summary>
public static class MeasuringSamples
{
    /// <summary>Profiles one epoch of a small model; returns the report.</summary>
    public static string ProfileOneEpoch()
    {
        var train = TrainingStep.ThreeClasses(512);
        #region profile
        var model = new Sequential([4],
            new Dense(32, ActivationFunction.Relu),
            new Dense(3, ActivationFunction.Softmax));
        model.Compile(new Adam(), new SparseCategoricalCrossEntropy(), seed: 0);

        Profiler.Enabled = true;                  // what NANONET_PROFILE=1 sets at start-up
        Profiler.Reset();
        model.Fit(train, batchSize: 64, epochs: 1, verbose: 0);   // verbose: 1 would print the report itself
        string report = Profiler.Report();        // one row per (layer, op, pass), slowest first
        Profiler.Enabled = false;
        Profiler.Reset();
        #endregion
        return report;
    }

    #region median-step
    /// The throughput command's method: warm up until the JIT is done, time each step on its own, report the median.
    public static double MedianMilliseconds(Action step, int steps = 50)
    {
        // Warm up: pools, first touch of every buffer, and .NET's tiered JIT, which promotes a method called once
        // per step twice, 30 steps apart: run until 40 steps in a row and 0.3 s compiled no method.
        long started = Stopwatch.GetTimestamp(), quietSince = started, compiled = JitInfo.GetCompiledMethodCount();
        for (int quiet = 0; (quiet < 40 || Stopwatch.GetElapsedTime(quietSince).TotalSeconds < 0.3)
                            && Stopwatch.GetElapsedTime(started).TotalSeconds < 60; quiet++)
        {
            step();
            if (JitInfo.GetCompiledMethodCount() != compiled)
                (compiled, quiet, quietSince) = (JitInfo.GetCompiledMethodCount(), -1, Stopwatch.GetTimestamp());
        }
        var times = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return times[steps / 2];                  // robust to a neighbour's build stealing a core
    }
    #endregion
}
