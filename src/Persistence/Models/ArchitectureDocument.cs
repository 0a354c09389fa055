// The architecture JSON of a NanoNet model file (snake_case, written and read by ArchitectureJson's
// source-generated serializer):
//
//   { "kind": "sequential" | "functional",
//     "name": "model",
//     "inputs":  [ { "name": "text", "shape": [200] }, ... ],            per-example shapes
//     "layers":  [ { "type": "Dense",                                    LayerRegistry key
//                    "arguments": [ { "name": "units", "int": 128 },     exactly one of int, float,
//                                   { "name": "activation", "string": "relu" }, ... ] }, ...]
//     "nodes":   [ { "layer": "dense", "inputs": [ { "input": 0 } | { "node": 3 } ] }, ... ],   functional only,
//     "outputs": [ { "node": 7 }, ... ] }                                                      in run order
//
// A node's inputs refer to a model input (by index) or to an earlier node's output (by index), so the
// graph is acyclic by construction; a layer called twice (shared weights) appears in two nodes. A node
// whose call has several outputs (an LSTM with return_state: output, h, c) is referred to with the
// output's index too, { "node": 3, "output": 2 } (Keras's [layer, node_index, tensor_index]); the index
// is left out for output 0, so files from before multi-output calls read the same.
namespace NanoNet.Persistence;

/// <summary>A model's architecture as stored in a model file (see the layout at the top of this file).</summary>
internal sealed record ArchitectureDocument(
    string Kind,
    string Name,
    InputDocument[] Inputs,
    LayerDocument[] Layers,
    NodeDocument[]? Nodes = null,
    TensorReference[]? Outputs = null)
{
    /// <summary>The <see cref="Kind"/> of a <c>Sequential</c> model (no nodes: the layers run in order).</summary>
    public const string SequentialKind = "sequential";

    /// <summary>The <see cref="Kind"/> of a graph of layer calls.</summary>
    public const string FunctionalKind = "functional";
}

/// <summary>A model input: its name and per-example shape.</summary>
internal sealed record InputDocument(string Name, int[] Shape);

/// <summary>A layer: its registry type name and constructor arguments (a <c>LayerConfig</c>).</summary>
internal sealed record LayerDocument(string Type, ArgumentDocument[] Arguments);

/// <summary>One constructor argument; exactly one of the value fields is set.</summary>
internal sealed record ArgumentDocument(string Name, int? Int = null, float? Float = null, bool? Bool = null, string? String = null, int[]? Ints = null);

/// <summary>One layer call: the layer (by name) and the tensors it is called on.</summary>
internal sealed record NodeDocument(string Layer, TensorReference[] Inputs);

/// <summary>
/// A tensor of the graph: model input number <see cref="Input"/>, or output number <see cref="Output"/> (null: 0, the
/// main output) of node number <see cref="Node"/>.
/// </summary>
internal sealed record TensorReference(int? Input = null, int? Node = null, int? Output = null);
