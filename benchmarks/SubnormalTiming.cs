using System.Diagnostics;
using NanoNet.Optim;

namespace NanoNet.Benchmarks;

/// <summary>
/// Subnormal floats on the paths where values decay step after step, timed (best of 20): a 20,000×128 embedding table
/// under dense RMSprop and Adam updates after 1,000 steps without a gradient (the states shrink by ρ, β each step; an
/// unused row's do), against the same table after one step; and, for the recurrent ops, run <c>recurrent-time</c> with
/// NANONET_RECURRENT_STEPS=200. <c>subnormal-time</c>. Intel cores take a microcode assist per vector operation on a
/// subnormal; AMD's Zen cores mostly do not.
/// </summary>
public static class SubnormalTiming
{
    public static void Run()
    {
        foreach (string name in new[] { "rmsprop", "adam" })
            foreach (int idleSteps in new[] { 0, 1000 })
            {
                var table = Tensor.RandomUniform([20_000, 128], -0.05f, 0.05f, 1).AsParameter("embedding");
                Optimizer optimizer = name == "adam" ? new Adam(0.001f) : new RmsProp(0.001f);
                table.EnsureGrad();
                table.Grad!.Span.Fill(1e-3f);
                optimizer.Step([table]);
                table.Grad!.Span.Clear();
                for (int i = 0; i < idleSteps; i++)
                    optimizer.Step([table]);
                double best = double.MaxValue;
                for (int i = 0; i < 20; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    optimizer.Step([table]);
                    best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                float state = optimizer.GetState()[0].Values.Span[0];
                Console.WriteLine($"{name,-8} after {idleSteps,4} steps without a gradient: best {best,6:F2} ms a step (first state value {state:E2}{(float.IsSubnormal(state) ? ", subnormal" : "")})");
            }
    }
}
