using NanoNet.Fuzz.Mutation;

namespace NanoNet.Fuzz.Targets;

/// <summary>The outcome of one input: it loaded, it was rejected as the contract allows, or it broke the contract.</summary>
public enum Outcome
{
    Loaded,
    Rejected,
    Bug,
}

/// <summary>
/// A reader under fuzzing: its seed files, how to load a file, and its contract: every input either loads or
/// throws one of <see cref="Documented"/> with a message naming the file, within a memory and time bound.
/// </summary>
public sealed class FuzzTarget
{
    /// <summary>The name on the command line, e.g. "cifar10".</summary>
    public required string Name { get; init; }

    /// <summary>Seed file names under tests/Data/Seeds.</summary>
    public required string[] SeedFiles { get; init; }

    /// <summary>The file name inputs are written under (some readers look at it).</summary>
    public required string InputFileName { get; init; }

    /// <summary>Loads the file; <c>variant</c> (0..2) picks among the reader's options, e.g. limits.</summary>
    public required Action<string, int> Load { get; init; }

    /// <summary>The exception types the reader documents for bad input.</summary>
    public required Type[] Documented { get; init; }

    /// <summary>The length fields of the (decompressed) content, for the inflating mutation.</summary>
    public Func<byte[], IReadOnlyList<LengthField>> LengthFields { get; init; } = _ => [];

    /// <summary>Bytes one input may allocate before it counts as a bug (an allocation sized by an unchecked field).</summary>
    public long AllocationLimit { get; init; } = 256L << 20;

    /// <summary>Checks one file against the contract; <paramref name="problem"/> says what broke it.</summary>
    public Outcome Check(string path, int variant, out string? problem)
    {
        problem = null;
        long before = GC.GetAllocatedBytesForCurrentThread();
        long started = Environment.TickCount64;
        Outcome outcome;
        try
        {
            Load(path, variant);
            outcome = Outcome.Loaded;
        }
        catch (Exception e) when (Documented.Contains(e.GetType()))
        {
            if (!e.Message.Contains(path, StringComparison.Ordinal))
            {
                problem = $"{e.GetType().Name} whose message does not name the file: {e.Message}";
                return Outcome.Bug;
            }
            outcome = Outcome.Rejected;
        }
        catch (Exception e)
        {
            problem = $"undocumented {e.GetType().Name}: {e.Message}\n{e.StackTrace}";
            return Outcome.Bug;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > AllocationLimit)
        {
            problem = $"{outcome} after allocating {allocated:N0} bytes (limit {AllocationLimit:N0}) for an input of {new FileInfo(path).Length:N0} bytes";
            return Outcome.Bug;
        }
        long elapsed = Environment.TickCount64 - started;
        if (elapsed > 10_000)
        {
            problem = $"{outcome} after {elapsed} ms";
            return Outcome.Bug;
        }
        return outcome;
    }
}
