// The safetensors byte layout (https://github.com/huggingface/safetensors), all integers little-endian:
//
//   offset 0        8 bytes   N: unsigned 64-bit length of the header
//   offset 8        N bytes   header: UTF-8 JSON object, padded with spaces (0x20) so that N % 8 == 0
//                               "__metadata__": { "key": "value", ... }             (optional, strings only)
//                               "<tensor name>": { "dtype": "F32",
//                                                  "shape": [d0, d1, ...],
//                                                  "data_offsets": [begin, end] }   (one per tensor)
//   offset 8 + N    the data: every tensor's raw row-major little-endian elements, back to back;
//                   [begin, end) is relative to offset 8 + N, the tensors cover the data exactly
//                   without gaps or overlaps, and end − begin = product(shape) × size(dtype).
namespace NanoNet.Persistence;

/// <summary>Constants of the safetensors layout (described at the top of this file).</summary>
internal static class SafeTensorsLayout
{
    /// <summary>Bytes of the header-length prefix.</summary>
    public const int LengthPrefixBytes = 8;

    /// <summary>The header is padded to a multiple of this many bytes.</summary>
    public const int HeaderAlignment = 8;

    /// <summary>The header key that holds string metadata instead of a tensor.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The largest header a reader accepts (the reference implementation's limit: 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;
}
