using System.Reflection;
using System.Runtime.InteropServices;

namespace NanoNet.Distributed.Native;

/// <summary>
/// Finds and loads libmpi for the <c>LibraryImport</c> declarations of <see cref="MpiNative"/>, with
/// global symbol visibility, and tells which MPI it is (<see cref="MpiAbi"/>).
/// </summary>
/// <remarks>
/// <para>
/// <b>Why <c>RTLD_GLOBAL</c>.</b> .NET loads a native library with <c>dlopen(RTLD_LAZY)</c>: its symbols
/// stay private to it. Open MPI loads most of its machinery as plugins (<c>mca_*.so</c> under
/// <c>openmpi/lib/openmpi3</c>), and a plugin built to resolve its references to libmpi and
/// libopen-pal from the global namespace then fails to load ("undefined symbol"), so MPI_Init finds no
/// transport. A resolver registered for this assembly therefore opens libmpi itself with
/// <c>RTLD_NOW | RTLD_GLOBAL</c> before the first call, and hands that handle to the runtime.
/// </para>
/// <para>
/// Tried in order: <c>$NANONET_MPI_LIBRARY</c> (a path or file name), Open MPI's <c>libmpi.so.40</c>,
/// MPICH's <c>libmpi.so.12</c>, then <c>libmpi.so</c>. Missing all, the error names the packages to install.
/// </para>
/// </remarks>
internal static partial class MpiLibrary
{
    /// <summary>The name the <c>LibraryImport</c> declarations use; the resolver maps it to the real file.</summary>
    public const string Name = "mpi";

    private const int RtldNow = 0x2, RtldGlobal = 0x100; // <dlfcn.h> on Linux
    private static readonly object s_gate = new();
    private static nint s_handle;
    private static string? s_path;

    /// <summary>The file that was loaded (after <see cref="Load"/>).</summary>
    public static string Path => s_path ?? throw new InvalidOperationException("libmpi is not loaded yet.");

    /// <summary>Loads libmpi (once) and registers the resolver; returns the library handle.</summary>
    /// <exception cref="DllNotFoundException">No MPI library was found; the message names the packages.</exception>
    public static nint Load()
    {
        lock (s_gate)
        {
            if (s_handle != 0)
                return s_handle;
            s_handle = Open(Candidates(), out s_path);
            NativeLibrary.SetDllImportResolver(typeof(MpiLibrary).Assembly, Resolve);
            return s_handle;
        }
    }

    /// <summary>Opens the first of <paramref name="candidates"/> that loads, with <c>RTLD_NOW | RTLD_GLOBAL</c>.</summary>
    /// <exception cref="DllNotFoundException">None loads; the message names the packages to install and why each failed.</exception>
    internal static nint Open(IEnumerable<string> candidates, out string path)
    {
        var tried = new List<string>();
        foreach (string candidate in candidates)
        {
            nint handle = DlOpen(candidate, RtldNow | RtldGlobal);
            if (handle != 0)
            {
                path = candidate;
                return handle;
            }
            tried.Add($"{candidate} ({DlErrorText()})");
        }
        throw new DllNotFoundException(
            "NanoNet.Distributed needs an MPI library and none was found. Install Open MPI: on Debian or Ubuntu " +
            "'apt-get install openmpi-bin' (the runtime library is libopenmpi3, pulled in by openmpi-bin; add libopenmpi-dev to build against it), " +
            "on Fedora 'dnf install openmpi', or set NANONET_MPI_LIBRARY to the path of libmpi.so. Tried: " + string.Join("; ", tried) + ".");
    }

    private static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("NANONET_MPI_LIBRARY") is { Length: > 0 } configured)
            yield return configured;
        yield return "libmpi.so.40"; // Open MPI 3, 4 and 5
        yield return "libmpi.so.12"; // MPICH 3 and 4 (and its derivatives)
        yield return "libmpi.so";
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == Name ? s_handle : 0; // 0: let the runtime resolve any other library as usual

    /// <summary>The address of an exported symbol, or 0.</summary>
    public static nint Export(string symbol) =>
        NativeLibrary.TryGetExport(Load(), symbol, out nint address) ? address : 0;

    private static string DlErrorText()
    {
        nint message = DlError();
        return message == 0 ? "not found" : Marshal.PtrToStringUTF8(message) ?? "not found";
    }

    // libdl.so.2 holds dlopen on every glibc (since 2.34 it forwards to libc.so.6).
    [LibraryImport("libdl.so.2", EntryPoint = "dlopen", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint DlOpen(string fileName, int flags);

    [LibraryImport("libdl.so.2", EntryPoint = "dlerror")]
    private static partial nint DlError();
}
