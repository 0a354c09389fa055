using System.Runtime.InteropServices;

namespace NanoNet.LibTorchPeer;

/// <summary>
/// PyTorch's <c>torch.set_flush_denormal(True)</c>, which TorchSharp 0.107 does not expose: LibTorch's
/// <c>at::globalContext().setFlushDenormal(true)</c>, called through its exported C++ symbols. It sets the FTZ and DAZ
/// bits of the calling thread's MXCSR, so subnormal floats read as and round to zero; threads created afterwards (the
/// OpenMP pool) inherit the bits. Intel cores take a microcode assist (~100+ cycles) for each vector operation that
/// reads or produces a subnormal; AMD's Zen cores handle most of them at full speed.
/// </summary>
internal static partial class FlushDenormal
{
    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static partial nint GlobalContext();

    // bool at::Context::setFlushDenormal(bool): a member function, so `this` is the first argument.
    [LibraryImport("libtorch_cpu", EntryPoint = "_ZN2at7Context16setFlushDenormalEb")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static partial bool SetFlushDenormal(nint context, [MarshalAs(UnmanagedType.U1)] bool on);

    /// <summary>Turns flushing on for this thread and the threads LibTorch creates later; false where the CPU cannot.</summary>
    public static bool TurnOn() => SetFlushDenormal(GlobalContext(), true);
}
