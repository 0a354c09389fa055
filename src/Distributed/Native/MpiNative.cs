using System.Runtime.InteropServices;

namespace NanoNet.Distributed.Native;

/// <summary>
/// The MPI functions NanoNet.Distributed uses, bound with source-generated <c>LibraryImport</c> (no
/// runtime marshalling stubs, NativeAOT-clean). Handles (communicator, datatype, op, request) are
/// pointer-sized here: Open MPI's are pointers to exported globals, MPICH's are ints, passed widened
/// (see <see cref="MpiAbi"/>). Every function returns an MPI error code (0 = MPI_SUCCESS).
/// </summary>
internal static unsafe partial class MpiNative
{
    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Init_thread")]
    public static partial int InitThread(int* argc, byte*** argv, int required, int* provided);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Initialized")]
    public static partial int Initialized(int* flag);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Finalized")]
    public static partial int Finalized(int* flag);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Finalize")]
    public static partial int FinalizeMpi();

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Comm_rank")]
    public static partial int CommRank(nint comm, int* rank);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Comm_size")]
    public static partial int CommSize(nint comm, int* size);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Bcast")]
    public static partial int Bcast(void* buffer, int count, nint datatype, int root, nint comm);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Allreduce")]
    public static partial int Allreduce(void* sendBuffer, void* receiveBuffer, int count, nint datatype, nint op, nint comm);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Iallreduce")]
    public static partial int Iallreduce(void* sendBuffer, void* receiveBuffer, int count, nint datatype, nint op, nint comm, nint* request);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Wait")]
    public static partial int Wait(nint* request, void* status);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Test")]
    public static partial int Test(nint* request, int* flag, void* status);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Barrier")]
    public static partial int Barrier(nint comm);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Abort")]
    public static partial int Abort(nint comm, int errorCode);

    [LibraryImport(MpiLibrary.Name, EntryPoint = "MPI_Error_string")]
    public static partial int ErrorString(int errorCode, byte* text, int* length);
}
