// libLibTorchSharp.so (TorchSharp 0.107) was linked by GCC 13 and lists GLIBCXX_3.4.32 among the libstdc++ versions
// it needs; Debian 12's libstdc++ (GCC 12) stops at 3.4.30, so the library fails to load and TorchSharp reports a
// missing libtorch. The one symbol of that version, std::ios_base_library_init(), is a marker no relocation uses.
// Marking the requirement weak (VER_FLG_WEAK, one bit of one Vernaux entry) makes the loader accept its absence.
// Only the copy in the build output is changed, and only when the system library lacks the version.
using System.Buffers.Binary;
using System.Text;

namespace NanoNet.LibTorchPeer;

internal static class GlibcxxPatch
{
    private const string Version = "GLIBCXX_3.4.32";

    public static int Run(string directory)
    {
        string library = Path.Combine(directory, "libLibTorchSharp.so");
        byte[] wanted = Encoding.ASCII.GetBytes(Version + "\0");
        string[] systemCopies = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6"];
        if (!File.Exists(library) || systemCopies.Any(p => File.Exists(p) && File.ReadAllBytes(p).AsSpan().IndexOf(wanted) >= 0))
            return 0; // nothing to patch, or the system can satisfy the requirement
        byte[] elf = File.ReadAllBytes(library);
        if (!Weaken(elf))
            return 0;
        File.WriteAllBytes(library + ".tmp", elf);
        File.Move(library + ".tmp", library, overwrite: true);
        Console.Error.WriteLine($"weaken-glibcxx: {Version} is now a weak requirement of {library}");
        return 0;
    }

    /// <summary>Sets VER_FLG_WEAK on the <see cref="Version"/> entry of the SHT_GNU_verneed section; false if absent or already weak.</summary>
    private static bool Weaken(byte[] elf)
    {
        Span<byte> f = elf;
        if (f.Length < 64 || f[4] != 2 || f[5] != 1)
            return false; // only 64-bit little-endian ELF
        int U16(int at) => BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(at));
        int U32(int at) => (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(at));
        int U64(int at) => checked((int)BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(at)));
        int sections = U64(0x28), entrySize = U16(0x3A), count = U16(0x3C);
        for (int s = 0; s < count; s++)
        {
            int header = sections + s * entrySize;
            if ((uint)U32(header + 4) != 0x6ffffffe) // SHT_GNU_verneed
                continue;
            int strings = U64(sections + U32(header + 40) * entrySize + 24);
            for (int need = U64(header + 24), n = U32(header + 44); n > 0; n--, need += U32(need + 12))
            {
                for (int aux = need + U32(need + 8), a = U16(need + 2); a > 0; a--, aux += U32(aux + 12))
                {
                    int name = strings + U32(aux + 8);
                    if (!f[name..].StartsWith(Encoding.ASCII.GetBytes(Version + "\0")))
                        continue;
                    int flags = U16(aux + 4);
                    if ((flags & 2) != 0)
                        return false;
                    BinaryPrimitives.WriteUInt16LittleEndian(f[(aux + 4)..], (ushort)(flags | 2));
                    return true;
                }
            }
        }
        return false;
    }
}
