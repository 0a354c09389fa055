using System.Buffers.Binary;
using System.Text;
using NanoNet.Persistence;

namespace NanoNet.Tests;

/// <summary>The safetensors reader and writer: the exact layout, F16/BF16 conversion, and every kind of lying file.</summary>
public class SafeTensorsTests
{
    private const string FileName = "test.safetensors";

    /// <summary>A file from a header text and data bytes, the header padded as the format says.</summary>
    private static byte[] File(string header, byte[] data, ulong? lengthLie = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        int padded = (json.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, lengthLie ?? (ulong)padded);
        json.CopyTo(bytes, 8);
        bytes.AsSpan(8 + json.Length, padded - json.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }

    private static SafeTensorsFile Read(byte[] bytes) => SafeTensorsReader.Read(new MemoryStream(bytes), FileName);

    private static string Rejection(byte[] bytes)
    {
        var e = Assert.Throws<InvalidDataException>(() => Read(bytes))!;
        Assert.That(e.Message, Does.StartWith(FileName + ":"));
        return e.Message;
    }

    [Test]
    public void TheWriterProducesTheSpecifiedLayout()
    {
        var a = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var b = Tensor.FromArray([-1.5f], 1);
        var stream = new MemoryStream();
        SafeTensorsWriter.Write(stream, [new("a", a), new("b", b)], new Dictionary<string, string> { ["k"] = "v" });
        byte[] bytes = stream.ToArray();

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.That(n % 8, Is.EqualTo(0ul));
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.That(header.TrimEnd(' '), Is.EqualTo(
            "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}}"));
        Assert.That(bytes.Length, Is.EqualTo(8 + (int)n + 28));
        Assert.That(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n + 20)), Is.EqualTo(6f));
        Assert.That(BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + (int)n + 24)), Is.EqualTo(-1.5f));

        SafeTensorsFile file = Read(bytes);
        Assert.That(file.Metadata["k"], Is.EqualTo("v"));
        Assert.That(file.Tensors.Select(t => t.Name), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(file.Find("a")!.Shape.ToArray(), Is.EqualTo(new[] { 2, 3 }));
        Assert.That(file.Find("a")!.Values.ToArray(), Is.EqualTo(a.ToArray()));
        Assert.That(file.Find("b")!.Values.ToArray(), Is.EqualTo(b.ToArray()));
    }

    [Test]
    public void F16AndBF16ConvertToFloat32()
    {
        float[] expected = [1f, -2.5f, 0.099975586f, 65504f];   // all exactly representable in both formats' ranges below
        var half = new byte[8];
        var brain = new byte[8];
        for (int i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(half.AsSpan(2 * i), (Half)expected[i]);
            BinaryPrimitives.WriteUInt16LittleEndian(brain.AsSpan(2 * i), (ushort)(BitConverter.SingleToInt32Bits(expected[i]) >> 16));
        }
        byte[] bytes = File("{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[8,16]}}",
            [.. half, .. brain]);
        SafeTensorsFile file = Read(bytes);
        Assert.That(file.Find("h")!.DType, Is.EqualTo(SafeTensorsDType.F16));
        Assert.That(file.Find("h")!.Values.ToArray(), Is.EqualTo(expected.Select(v => (float)(Half)v).ToArray()));
        Assert.That(file.Find("b")!.Values.ToArray(),
            Is.EqualTo(expected.Select(v => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(v) & unchecked((int)0xFFFF0000))).ToArray()));
        Assert.That(file.Find("h")!.Values[0], Is.EqualTo(1f));
        Assert.That(file.Find("b")!.Values[1], Is.EqualTo(-2.5f));
    }

    [Test]
    public void AFileWithoutTensorsAndAScalarRead()
    {
        Assert.That(Read(File("{}", [])).Tensors, Is.Empty);
        var scalar = Read(File("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", BitConverter.GetBytes(7f)));
        Assert.That(scalar.Find("s")!.Values[0], Is.EqualTo(7f));
    }

    [Test]
    public void OtherDTypesAreCheckedButDoNotConvert()
    {
        SafeTensorsFile file = Read(File("{\"steps\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]));
        Assert.That(file.Find("steps")!.HasFloat32Values, Is.False);
        Assert.Throws<InvalidOperationException>(() => _ = file.Find("steps")!.Values.Length);
    }

    private const string One = "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    [Test]
    public void LyingFilesAreRejectedWithTheFileAndTheProblem()
    {
        Assert.That(Rejection([1, 2, 3]), Does.Contain("too few"));
        Assert.That(Rejection(File("{" + One + "}", new byte[8], lengthLie: 1_000_000)), Does.Contain("runs past the end of the file"));
        Assert.That(Rejection(File("{" + One + "}", new byte[8], lengthLie: ulong.MaxValue)), Does.Contain("runs past the end of the file"));
        Assert.That(Rejection(File("{" + One + "}", new byte[7])), Does.Contain("'x'").And.Contain("run past the end of the data"));
        Assert.That(Rejection(File("{" + One + "}", new byte[12])), Does.Contain("cover only the first 8"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8])),
            Does.Contain("overlaps"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8])), Does.Contain("belong to no tensor"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536,65536],\"data_offsets\":[0,8]}}", new byte[8])),
            Does.Contain("'x'").And.Contain("overflows"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8])), Does.Contain("needs 12 bytes"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8])), Does.Contain("unknown dtype 'Q7'"));
        Assert.That(Rejection(File("{" + One + "," + One + "}", new byte[8])), Does.Contain("'x' twice"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", new byte[8])), Does.Contain("shape entry 0"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", new byte[8])), Does.Contain("end before they begin"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8])), Does.Contain("lacks data_offsets"));
        Assert.That(Rejection(File("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}", new byte[8])), Does.Contain("unknown field 'extra'"));
        Assert.That(Rejection(File("{\"__metadata__\":{\"a\":1}}", [])), Does.Contain("not a string"));
        Assert.That(Rejection(File("[1,2]", [])), Does.Contain("not an object"));
        Assert.That(Rejection(File("{\"x\":", [])), Does.Contain("not valid JSON"));
    }

    [Test]
    public void StringsThatDoNotDecodeAreRejected()
    {
        // Found by fuzzing: JsonDocument accepts these, decoding them later threw InvalidOperationException.
        byte[] bytes = File("{\"xy\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]);
        bytes[10] = 0xC3; // a lead byte followed by 'y': invalid UTF-8 inside the name
        Assert.That(Rejection(bytes), Does.Contain("not valid UTF-8"));
        Assert.That(Rejection(File("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8])), Does.Contain("does not decode"));
        Assert.That(Rejection(File("{\"__metadata__\":{\"a\":\"\\udc00\"}}", [])), Does.Contain("does not decode"));
    }

    [Test]
    public void WritingToAPathReplacesTheFileWhole()
    {
        string path = Path.Combine(Path.GetTempPath(), $"nanonet-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensorsWriter.Write(path, [new("w", Tensor.FromArray([1f, 2f], 2))]);
            SafeTensorsWriter.Write(path, [new("w", Tensor.FromArray([3f], 1))]);
            Assert.That(SafeTensorsReader.Read(path).Find("w")!.Values.ToArray(), Is.EqualTo(new[] { 3f }));
            Assert.That(System.IO.File.Exists(path + ".tmp"), Is.False);
            Assert.Throws<ArgumentException>(() => SafeTensorsWriter.Write(path, [new("w", Tensor.Zeros(1)), new("w", Tensor.Zeros(1))]));
        }
        finally
        {
            System.IO.File.Delete(path);
        }
    }
}
