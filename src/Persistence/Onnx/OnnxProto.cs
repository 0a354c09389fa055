// The ONNX messages NanoNet writes, with the field numbers of onnx.proto (proto2, package onnx).
// An .onnx file is one serialized ModelProto; every field below is written with ProtobufWriter.
//
// ModelProto        1 ir_version int64 · 2 producer_name string · 3 producer_version string ·
//                   6 doc_string string · 7 graph GraphProto · 8 opset_import OperatorSetIdProto (repeated) ·
//                   14 metadata_props StringStringEntryProto (repeated)
// OperatorSetIdProto 1 domain string ("" = the default ONNX domain) · 2 version int64
// StringStringEntryProto 1 key string · 2 value string
// GraphProto        1 node NodeProto (repeated, topologically sorted) · 2 name string ·
//                   5 initializer TensorProto (repeated: the weights) · 10 doc_string string ·
//                   11 input ValueInfoProto (repeated) · 12 output ValueInfoProto (repeated)
// NodeProto         1 input string (repeated; "" = optional input left out) · 2 output string (repeated) ·
//                   3 name string · 4 op_type string · 5 attribute AttributeProto (repeated)
// AttributeProto    1 name string · 20 type enum (FLOAT 1, INT 2, STRING 3, INTS 7) ·
//                   2 f float (fixed32) · 3 i int64 · 4 s bytes · 8 ints int64 (repeated)
// TensorProto       1 dims int64 (repeated) · 2 data_type int32 (FLOAT 1, INT64 7) · 8 name string ·
//                   9 raw_data bytes (the values, little-endian, row-major)
// ValueInfoProto    1 name string · 2 type TypeProto · 3 doc_string string
// TypeProto         1 tensor_type TypeProto.Tensor
// TypeProto.Tensor  1 elem_type int32 · 2 shape TensorShapeProto
// TensorShapeProto  1 dim Dimension (repeated)
// Dimension         1 dim_value int64 | 2 dim_param string (a named, free size such as the batch "N")
using System.Buffers.Binary;

namespace NanoNet.Persistence.Onnx;

/// <summary>TensorProto.DataType values NanoNet writes.</summary>
internal enum OnnxElementType
{
    /// <summary>float32.</summary>
    Float = 1,

    /// <summary>int64 (shapes, axes, indices).</summary>
    Int64 = 7,

    /// <summary>bool (Where's condition; only as a Cast target).</summary>
    Bool = 9,
}

/// <summary>A constant tensor of the graph (TensorProto), its values stored as raw_data.</summary>
internal sealed class OnnxTensor
{
    private readonly float[]? _floats;
    private readonly long[]? _int64s;

    /// <summary>A float32 tensor; <paramref name="values"/> is row-major and is not copied.</summary>
    public OnnxTensor(string name, long[] dims, float[] values)
    {
        CheckLength(name, dims, values.Length);
        (Name, Dims, ElementType, _floats) = (name, dims, OnnxElementType.Float, values);
    }

    /// <summary>An int64 tensor.</summary>
    public OnnxTensor(string name, long[] dims, long[] values)
    {
        CheckLength(name, dims, values.Length);
        (Name, Dims, ElementType, _int64s) = (name, dims, OnnxElementType.Int64, values);
    }

    /// <summary>The value name nodes refer to.</summary>
    public string Name { get; }

    /// <summary>The shape.</summary>
    public long[] Dims { get; }

    /// <summary>The element type.</summary>
    public OnnxElementType ElementType { get; }

    /// <summary>Writes the TensorProto fields.</summary>
    public void WriteTo(ProtobufWriter writer)
    {
        foreach (long dim in Dims)
            writer.WriteInt64(1, dim);
        writer.WriteInt64(2, (long)ElementType);
        writer.WriteString(8, Name);
        if (_floats is not null)
        {
            writer.WriteFloatsAsBytes(9, _floats);
        }
        else
        {
            var raw = new byte[_int64s!.Length * sizeof(long)];
            for (int i = 0; i < _int64s.Length; i++)
                BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), _int64s[i]);
            writer.WriteBytes(9, raw);
        }
    }

    private static void CheckLength(string name, long[] dims, int length)
    {
        long product = 1;
        foreach (long dim in dims)
            product *= dim;
        if (product != length)
            throw new ArgumentException($"ONNX tensor '{name}': shape ({string.Join(", ", dims)}) holds {product} values, got {length}.");
    }
}

/// <summary>A node attribute (AttributeProto) of one of the kinds NanoNet uses: int, ints, float, string, strings.</summary>
internal sealed class OnnxAttribute
{
    private const int FloatType = 1, IntType = 2, StringType = 3, IntsType = 7, StringsType = 8;

    private readonly int _type;
    private readonly long _int;
    private readonly long[]? _ints;
    private readonly float _float;
    private readonly string? _string;
    private readonly string[]? _strings;

    private OnnxAttribute(string name, int type, long integer = 0, long[]? integers = null, float real = 0, string? text = null,
        string[]? texts = null) =>
        (Name, _type, _int, _ints, _float, _string, _strings) = (name, type, integer, integers, real, text, texts);

    /// <summary>The attribute's name, e.g. "kernel_shape".</summary>
    public string Name { get; }

    /// <summary>An INT attribute.</summary>
    public static OnnxAttribute Int(string name, long value) => new(name, IntType, integer: value);

    /// <summary>An INTS attribute.</summary>
    public static OnnxAttribute Ints(string name, params long[] values) => new(name, IntsType, integers: values);

    /// <summary>A FLOAT attribute.</summary>
    public static OnnxAttribute Float(string name, float value) => new(name, FloatType, real: value);

    /// <summary>A STRING attribute.</summary>
    public static OnnxAttribute String(string name, string value) => new(name, StringType, text: value);

    /// <summary>A STRINGS attribute (e.g. a recurrent op's activations).</summary>
    public static OnnxAttribute Strings(string name, params string[] values) => new(name, StringsType, texts: values);

    /// <summary>Writes the AttributeProto fields.</summary>
    public void WriteTo(ProtobufWriter writer)
    {
        writer.WriteString(1, Name);
        switch (_type)
        {
            case FloatType: writer.WriteFloat(2, _float); break;
            case IntType: writer.WriteInt64(3, _int); break;
            case StringType: writer.WriteString(4, _string!); break;
            case IntsType:
                foreach (long value in _ints!)
                    writer.WriteInt64(8, value);
                break;
            case StringsType:
                foreach (string value in _strings!)
                    writer.WriteString(9, value);
                break;
        }
        writer.WriteInt64(20, _type);
    }
}

/// <summary>One operator call (NodeProto): op type, named inputs and outputs, attributes.</summary>
/// <param name="OpType">The ONNX operator, e.g. "Conv".</param>
/// <param name="Name">The node's name (unique in the graph).</param>
/// <param name="Inputs">Value names read; "" leaves an optional input out.</param>
/// <param name="Outputs">Value names written; "" leaves an optional output out.</param>
/// <param name="Attributes">The operator's attributes.</param>
internal sealed record OnnxNode(string OpType, string Name, string[] Inputs, string[] Outputs, OnnxAttribute[] Attributes)
{
    /// <summary>Writes the NodeProto fields.</summary>
    public void WriteTo(ProtobufWriter writer)
    {
        foreach (string input in Inputs)
            writer.WriteString(1, input);
        foreach (string output in Outputs)
            writer.WriteString(2, output);
        writer.WriteString(3, Name);
        writer.WriteString(4, OpType);
        foreach (OnnxAttribute attribute in Attributes)
            writer.WriteMessage(5, attribute.WriteTo);
    }
}

/// <summary>One axis of a graph input's or output's shape: a fixed size or a named free one.</summary>
/// <param name="Size">The size, or null for a free axis.</param>
/// <param name="Parameter">The free axis's name (e.g. "N" for the batch), used when <paramref name="Size"/> is null.</param>
internal readonly record struct OnnxDimension(long? Size, string? Parameter);

/// <summary>A typed, shaped graph input or output (ValueInfoProto with a tensor TypeProto).</summary>
/// <param name="Name">The value's name.</param>
/// <param name="ElementType">Its element type.</param>
/// <param name="Shape">Its axes.</param>
/// <param name="Documentation">A human-readable note (doc_string), or null.</param>
internal sealed record OnnxValueInfo(string Name, OnnxElementType ElementType, OnnxDimension[] Shape, string? Documentation)
{
    /// <summary>Writes the ValueInfoProto fields.</summary>
    public void WriteTo(ProtobufWriter writer)
    {
        writer.WriteString(1, Name);
        writer.WriteMessage(2, type => type.WriteMessage(1, tensor =>
        {
            tensor.WriteInt64(1, (long)ElementType);
            tensor.WriteMessage(2, shape =>
            {
                foreach (OnnxDimension dimension in Shape)
                    shape.WriteMessage(1, dim =>
                    {
                        if (dimension.Size is long size)
                            dim.WriteInt64(1, size);
                        else
                            dim.WriteString(2, dimension.Parameter ?? "");
                    });
            });
        }));
        if (Documentation is not null)
            writer.WriteString(3, Documentation);
    }
}

/// <summary>The computation (GraphProto): nodes in run order, weights, inputs and outputs.</summary>
internal sealed record OnnxGraph(string Name, IReadOnlyList<OnnxNode> Nodes, IReadOnlyList<OnnxTensor> Initializers,
    IReadOnlyList<OnnxValueInfo> Inputs, IReadOnlyList<OnnxValueInfo> Outputs, string? Documentation)
{
    /// <summary>Writes the GraphProto fields.</summary>
    public void WriteTo(ProtobufWriter writer)
    {
        foreach (OnnxNode node in Nodes)
            writer.WriteMessage(1, node.WriteTo);
        writer.WriteString(2, Name);
        foreach (OnnxTensor initializer in Initializers)
            writer.WriteMessage(5, initializer.WriteTo);
        if (Documentation is not null)
            writer.WriteString(10, Documentation);
        foreach (OnnxValueInfo input in Inputs)
            writer.WriteMessage(11, input.WriteTo);
        foreach (OnnxValueInfo output in Outputs)
            writer.WriteMessage(12, output.WriteTo);
    }
}

/// <summary>The whole file (ModelProto): versions, producer, the graph and key-value metadata.</summary>
internal sealed record OnnxModel(long IrVersion, long OpsetVersion, string ProducerName, string ProducerVersion,
    string? Documentation, OnnxGraph Graph, IReadOnlyList<KeyValuePair<string, string>> Metadata)
{
    /// <summary>Writes the ModelProto fields.</summary>
    public void WriteTo(ProtobufWriter writer)
    {
        writer.WriteInt64(1, IrVersion);
        writer.WriteString(2, ProducerName);
        writer.WriteString(3, ProducerVersion);
        if (Documentation is not null)
            writer.WriteString(6, Documentation);
        writer.WriteMessage(7, Graph.WriteTo);
        writer.WriteMessage(8, opset =>
        {
            opset.WriteString(1, "");
            opset.WriteInt64(2, OpsetVersion);
        });
        foreach (KeyValuePair<string, string> entry in Metadata)
            writer.WriteMessage(14, pair =>
            {
                pair.WriteString(1, entry.Key);
                pair.WriteString(2, entry.Value);
            });
    }
}
