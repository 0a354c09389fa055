namespace NanoNet.Distributed.Native;

/// <summary>
/// The handle values of one MPI implementation's ABI: MPI's C constants (<c>MPI_COMM_WORLD</c>,
/// <c>MPI_FLOAT</c>, <c>MPI_SUM</c>, ...) are not part of the standard's binary interface, and the two
/// families differ.
/// </summary>
/// <remarks>
/// <para>
/// <b>Open MPI</b> (what Debian ships): a handle is a pointer, and the predefined ones are the addresses
/// of exported globals: <c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>, <c>MPI_FLOAT</c> is
/// <c>&amp;ompi_mpi_float</c>, <c>MPI_SUM</c> is <c>&amp;ompi_mpi_op_sum</c>; <c>MPI_IN_PLACE</c> is
/// <c>(void*)1</c>. They are read from the loaded library with <c>dlsym</c>.
/// </para>
/// <para>
/// <b>MPICH</b> (and Intel MPI, MVAPICH): handles are 32-bit integers with fixed values from
/// <c>mpi.h</c>, and <c>MPI_IN_PLACE</c> is <c>(void*)-1</c>. <see cref="Mpich"/> holds them, widened to
/// pointer size: on the 64-bit ABIs .NET runs on (x86-64 System V, AArch64) an int argument travels in
/// the low half of a 64-bit register, so the same declarations serve, and a request is written into the
/// low half of a zeroed 64-bit slot. This is the plug-in point for MPICH; only Open MPI is tested here.
/// </para>
/// </remarks>
internal sealed record MpiAbi(string Family, nint CommWorld, nint Float, nint Double, nint Sum, nint InPlace)
{
    /// <summary>The ABI of the loaded library: Open MPI when it exports <c>ompi_mpi_comm_world</c>, else MPICH.</summary>
    public static MpiAbi Detect()
    {
        nint world = MpiLibrary.Export("ompi_mpi_comm_world");
        return world != 0 ? OpenMpi(world) : Mpich;
    }

    private static MpiAbi OpenMpi(nint world) =>
        new("Open MPI", world, Required("ompi_mpi_float"), Required("ompi_mpi_double"), Required("ompi_mpi_op_sum"), InPlace: 1);

    /// <summary>MPICH's constants (mpi.h): MPI_COMM_WORLD 0x44000000, MPI_FLOAT 0x4c00040a, MPI_DOUBLE 0x4c00080b, MPI_SUM 0x58000003.</summary>
    public static MpiAbi Mpich { get; } = new("MPICH", 0x44000000, 0x4c00040a, 0x4c00080b, 0x58000003, InPlace: -1);

    private static nint Required(string symbol)
    {
        nint address = MpiLibrary.Export(symbol);
        return address != 0 ? address : throw new EntryPointNotFoundException(
            $"{MpiLibrary.Path} exports ompi_mpi_comm_world but not {symbol}: an Open MPI this binding does not know.");
    }
}
