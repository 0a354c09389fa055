using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace NanoNet.Benchmarks;

/// <summary>
/// What handing data from one core to the other costs here: a cache line's round trip between two spinning threads
/// (ping-pong on one counter), and reading a block that the other core has just written against reading a block this
/// core wrote itself (the case of a pipelined pass whose product worker reads the dZ the step worker wrote, or of a
/// gather reading table rows the other worker's update wrote). Two threads on a 2-core machine run on both cores.
/// </summary>
public static class CoreToCore
{
    public static void Run(int kilobytes, int repeats)
    {
        Console.WriteLine($"Round trip of one cache line between two threads: {RoundTripNanoseconds(200_000):F0} ns " +
            $"(then {RoundTripNanoseconds(200_000):F0} ns)");
        int floats = kilobytes * 256;
        float[] block = GC.AllocateArray<float>(floats, pinned: true); // zeros: never a subnormal to add
        var own = new List<double>();
        var other = new List<double>();
        // The two threads hand the turn over by spinning on one counter (no sleeping: a core woken from idle reads slowly).
        var turn = new long[32];
        var writer = new Thread(() =>
        {
            for (long r = 0; r < repeats; r++)
            {
                while (Volatile.Read(ref turn[8]) != 2 * r + 1) { }
                Write(block);
                Volatile.Write(ref turn[8], 2 * r + 2);
            }
        }) { IsBackground = true };
        writer.Start();
        float sink = 0;
        for (int r = 0; r < repeats; r++)
        {
            // This core writes the block, then reads it (from its own caches).
            Write(block);
            long start = Stopwatch.GetTimestamp();
            sink += ReadAll(block);
            own.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            // The other thread writes it, then this core reads it (every line from the other core).
            Volatile.Write(ref turn[8], 2L * r + 1);
            while (Volatile.Read(ref turn[8]) != 2L * r + 2) { }
            start = Stopwatch.GetTimestamp();
            sink += ReadAll(block);
            other.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        writer.Join();
        own.Sort();

        other.Sort();
        double ownUs = own[own.Count / 2], otherUs = other[other.Count / 2], bytes = floats * 4.0;
        Console.WriteLine($"Reading {kilobytes} KB, median of {repeats}: written by this core {ownUs:F1} µs ({bytes / ownUs / 1e3:F1} GB/s), " +
            $"by the other core {otherUs:F1} µs ({bytes / otherUs / 1e3:F1} GB/s), {otherUs / ownUs:F2}x {(sink == 1.5f ? "" : "")}");
    }

    /// <summary>Every float of the block into four vector sums (a plain stream of loads; TensorPrimitives.Sum is slower than the caches here).</summary>
    private static unsafe float ReadAll(float[] block)
    {
        Vector512<float> a = default, b = default, c = default, d = default;
        fixed (float* p = block)
            for (int i = 0; i + 64 <= block.Length; i += 64)
            {
                a += Vector512.Load(p + i);
                b += Vector512.Load(p + i + 16);
                c += Vector512.Load(p + i + 32);
                d += Vector512.Load(p + i + 48);
            }
        return Vector512.Sum(a + b + c + d);
    }

    private static void Write(float[] block)
    {
        for (int i = 0; i < block.Length; i += 16) // one store per 64-byte line: each line becomes Modified in this core
            block[i] = i;
    }

    /// <summary>Nanoseconds for the counter to go to the other thread and back.</summary>
    private static double RoundTripNanoseconds(int trips)
    {
        var line = new long[32]; // the counter alone on its line (index 8: 64 bytes in)
        var partner = new Thread(() =>
        {
            for (long expected = 1; expected < 2L * trips; expected += 2)
            {
                while (Volatile.Read(ref line[8]) != expected) { }
                Volatile.Write(ref line[8], expected + 1);
            }
        }) { IsBackground = true };
        partner.Start();
        long start = Stopwatch.GetTimestamp();
        for (long value = 0; value < 2L * trips; value += 2)
        {
            Volatile.Write(ref line[8], value + 1);
            while (Volatile.Read(ref line[8]) != value + 2) { }
        }
        double ns = Stopwatch.GetElapsedTime(start).TotalNanoseconds / trips;
        partner.Join();
        return ns;
    }
}
