using System.Runtime.InteropServices;
using NanoNet.Distributed.Native;

namespace NanoNet.Distributed;

/// <summary>
/// MPI's world communicator: every process of the job. <see cref="Initialize"/> once per process (it
/// calls <c>MPI_Init_thread</c>), use it, and dispose it at the end (<c>MPI_Finalize</c>).
/// </summary>
/// <remarks>
/// <para>
/// The operations are the few data-parallel training needs: broadcast, sum all-reduce (float32 and
/// float64; blocking, and non-blocking for the gradient buckets), barrier and abort. They are collective:
/// every process calls them in the same order with the same lengths.
/// </para>
/// <para>
/// MPI is initialised at <c>MPI_THREAD_FUNNELED</c>: the kernels' worker threads never call MPI, and every
/// call must come from the thread that called <see cref="Initialize"/> (the one that runs <c>Fit</c>);
/// a call from another thread throws. Errors are MPI's default, fatal: a failed peer ends the job
/// through <c>mpirun</c>, which names the rank.
/// </para>
/// </remarks>
public sealed unsafe class MpiWorld : IDisposable
{
    private const int ThreadFunneled = 1; // MPI_THREAD_FUNNELED in Open MPI and MPICH
    private static MpiWorld? s_current;
    private readonly MpiAbi _abi;
    private readonly int _thread;
    private bool _disposed;

    private MpiWorld(MpiAbi abi, int rank, int size)
    {
        _abi = abi;
        Rank = rank;
        Size = size;
        _thread = Environment.CurrentManagedThreadId;
    }

    /// <summary>
    /// Initialises MPI (once per process; a second call returns the same world) and returns the world
    /// communicator. Run under <c>mpirun</c> for several processes; run directly it is a world of one.
    /// </summary>
    /// <exception cref="DllNotFoundException">No MPI library is installed; the message names the package.</exception>
    public static MpiWorld Initialize()
    {
        if (s_current is { _disposed: false } current)
            return current;
        MpiLibrary.Load();
        MpiAbi abi = MpiAbi.Detect();
        int flag, provided, rank, size;
        Check(MpiNative.Initialized(&flag), "MPI_Initialized");
        if (flag == 0)
            Check(MpiNative.InitThread(null, null, ThreadFunneled, &provided), "MPI_Init_thread");
        Check(MpiNative.CommRank(abi.CommWorld, &rank), "MPI_Comm_rank");
        Check(MpiNative.CommSize(abi.CommWorld, &size), "MPI_Comm_size");
        return s_current = new MpiWorld(abi, rank, size);
    }

    /// <summary>This process's rank, 0 … <see cref="Size"/> − 1.</summary>
    public int Rank { get; }

    /// <summary>Number of processes in the job.</summary>
    public int Size { get; }

    /// <summary>Whether this is rank 0, the one that prints and writes files.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>The MPI family behind it ("Open MPI" or "MPICH") and the library file.</summary>
    public string Library => $"{_abi.Family} ({MpiLibrary.Path})";

    /// <summary>Copies <paramref name="values"/> of rank <paramref name="root"/> into every other rank's <paramref name="values"/>.</summary>
    public void Broadcast(Span<float> values, int root = 0)
    {
        CheckUsable();
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, Size);
        fixed (float* data = values)
            Check(MpiNative.Bcast(data, values.Length, _abi.Float, root, _abi.CommWorld), "MPI_Bcast");
    }

    /// <summary>Replaces every value with its sum over the ranks (float32, in place).</summary>
    public void AllReduceSum(Span<float> values)
    {
        CheckUsable();
        fixed (float* data = values)
            Check(MpiNative.Allreduce((void*)_abi.InPlace, data, values.Length, _abi.Float, _abi.Sum, _abi.CommWorld), "MPI_Allreduce");
    }

    /// <summary>Replaces every value with its sum over the ranks (float64, in place).</summary>
    public void AllReduceSum(Span<double> values)
    {
        CheckUsable();
        fixed (double* data = values)
            Check(MpiNative.Allreduce((void*)_abi.InPlace, data, values.Length, _abi.Double, _abi.Sum, _abi.CommWorld), "MPI_Allreduce");
    }

    /// <summary>
    /// Starts a sum all-reduce of <paramref name="count"/> floats at <paramref name="data"/> in place
    /// (<c>MPI_Iallreduce</c>); the memory must stay pinned and untouched until <see cref="Wait"/> or a
    /// true <see cref="Test"/>.
    /// </summary>
    internal nint StartAllReduceSum(float* data, int count)
    {
        CheckUsable();
        nint request = 0;
        Check(MpiNative.Iallreduce((void*)_abi.InPlace, data, count, _abi.Float, _abi.Sum, _abi.CommWorld, &request), "MPI_Iallreduce");
        return request;
    }

    /// <summary>Waits for a request from <see cref="StartAllReduceSum"/> to complete.</summary>
    internal void Wait(ref nint request)
    {
        fixed (nint* r = &request)
            Check(MpiNative.Wait(r, null), "MPI_Wait");
    }

    /// <summary>Lets MPI make progress on a request; true once it is complete.</summary>
    internal bool Test(ref nint request)
    {
        int flag;
        fixed (nint* r = &request)
            Check(MpiNative.Test(r, &flag, null), "MPI_Test");
        return flag != 0;
    }

    /// <summary>Returns once every rank has called it.</summary>
    public void Barrier()
    {
        CheckUsable();
        Check(MpiNative.Barrier(_abi.CommWorld), "MPI_Barrier");
    }

    /// <summary>Ends every process of the job with <paramref name="errorCode"/> (<c>MPI_Abort</c>): for an error one rank cannot recover from.</summary>
    public void Abort(int errorCode) => MpiNative.Abort(_abi.CommWorld, errorCode);

    /// <summary>Finalises MPI (<c>MPI_Finalize</c>); every rank must do it.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        int flag;
        if (MpiNative.Finalized(&flag) == 0 && flag == 0)
            Check(MpiNative.FinalizeMpi(), "MPI_Finalize");
    }

    private void CheckUsable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Environment.CurrentManagedThreadId != _thread)
            throw new InvalidOperationException(
                $"MPI was initialised on managed thread {_thread} (MPI_THREAD_FUNNELED) and must be called from it, not from thread {Environment.CurrentManagedThreadId}: run Fit on the thread that called MpiWorld.Initialize.");
    }

    private static void Check(int code, string function)
    {
        if (code == 0)
            return;
        byte* text = stackalloc byte[1024]; // MPI_MAX_ERROR_STRING: 256 in Open MPI, 1024 in MPICH
        int length = 0;
        string description = MpiNative.ErrorString(code, text, &length) == 0
            ? Marshal.PtrToStringUTF8((nint)text, length)
            : "(no description)";
        throw new MpiException(function, code, description);
    }
}
