// A NanoNet checkpoint is a safetensors file (layout: see SafeTensorsLayout.cs) with
//
//   __metadata__:  "format": "nanonet.checkpoint", "format_version": "1",
//                  "training": the JSON document below, as a string
//   tensors:       "model/{layer}/{weight}"            every weight, F32, as in a weights file
//                  "optimizer/{state}/{layer}/{weight}" every optimizer state buffer, F32, shaped as its parameter
//                                                       (state names such as "momentum" contain no '/')
//
// The "training" document (snake_case, written and read by CheckpointJson's source-generated serializer):
//
//   { "epoch": 2, "step": 64,
//     "optimizer": { "type": "Adam", "iterations": 64 },        type = the optimizer's class name;
//                                                               iterations fixes the schedule position;
//                                                               "lazy": true only for a lazy optimizer
//                                                               (Optimizer.Lazy; absent = false)
//     "random_states": [ { "name": "augmentation", "seed": 1, "stream": 3, "position": 12000 } ] }
namespace NanoNet.Persistence;

/// <summary>The training position stored in a checkpoint's metadata (see the layout at the top of this file).</summary>
internal sealed record CheckpointDocument(int Epoch, long Step, OptimizerDocument Optimizer, RandomStateDocument[] RandomStates);

/// <summary>The optimizer's class name, step count and whether it is lazy (written only when true, so older readers still read dense checkpoints).</summary>
internal sealed record OptimizerDocument(string Type, long Iterations,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)] bool Lazy = false);

/// <summary>One named random generator's state (a <see cref="RandomStreamState"/>).</summary>
internal sealed record RandomStateDocument(string Name, ulong Seed, ulong Stream, ulong Position);
