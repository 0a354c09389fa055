#!/usr/bin/env python3
"""Load a NanoNet model file into the equivalent torch.nn model and compare predictions.

    /usr/bin/python3 tools/pytorch/load_nanonet.py MODEL.safetensors INPUTS.npy PROBABILITIES.npy

MODEL is a file written by model.Save (examples' --save PATH); INPUTS and PROBABILITIES are what
examples/Predict --dump-npy PREFIX wrote: the inputs NanoNet classified and its output probabilities.
Supports NanoNet's two seed models (see README.md): the CIFAR-10 convnet and the IMDB LSTM.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn


def read_safetensors(path):
    """Parses a safetensors file by hand: u64 LE header length N, N bytes of JSON header, raw data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = blob[8 + n:]
    dtypes = {"F32": np.float32, "F16": np.float16}
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=np.dtype(dtypes[entry["dtype"]]).newbyteorder("<"))
        tensors[name] = array.reshape(entry["shape"]).astype(np.float32)
    return tensors, metadata


class Cifar10ConvNet(nn.Module):
    """Conv2D(32, 3x3, relu, valid) -> MaxPool(2) -> Flatten -> Dense(128, relu) -> Dense(10, softmax)."""

    def __init__(self, filters, hidden, classes, pooled):
        super().__init__()
        self.conv = nn.Conv2d(3, filters, 3)
        self.pool = nn.MaxPool2d(2)
        self.dense = nn.Linear(pooled * pooled * filters, hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x_nhwc):
        x = x_nhwc.permute(0, 3, 1, 2)  # NanoNet feeds NHWC; PyTorch convolves NCHW
        x = self.pool(torch.relu(self.conv(x)))
        x = torch.relu(self.dense(torch.flatten(x, 1)))  # flattens C, H, W
        return torch.softmax(self.out(x), dim=1)


class ImdbLstm(nn.Module):
    """Embedding(V, E) -> LSTM(U) (last state) -> Dense(classes, softmax)."""

    def __init__(self, vocabulary, dim, units, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, dim)
        self.lstm = nn.LSTM(dim, units, batch_first=True)
        self.out = nn.Linear(units, classes)

    def forward(self, ids):
        _, (h, _) = self.lstm(self.embedding(ids.long()))
        return torch.softmax(self.out(h[-1]), dim=1)


def t(array):
    return torch.from_numpy(np.ascontiguousarray(array))


def load_cifar(w):
    kernel = w["conv2d/kernel"]                     # (kh, kw, in, out): Keras HWIO
    filters = kernel.shape[3]
    dense = w["dense/kernel"]                       # (inputs, units), inputs in NHWC flatten order
    pooled = int(round((dense.shape[0] / filters) ** 0.5))
    model = Cifar10ConvNet(filters, dense.shape[1], w["dense_1/kernel"].shape[1], pooled)
    with torch.no_grad():
        model.conv.weight.copy_(t(kernel.transpose(3, 2, 0, 1)))  # HWIO -> OIHW
        model.conv.bias.copy_(t(w["conv2d/bias"]))
        # Rows of the Dense kernel are (h, w, c); PyTorch's flatten gives (c, h, w): permute, then transpose.
        hwc = dense.reshape(pooled, pooled, filters, dense.shape[1])
        model.dense.weight.copy_(t(hwc.transpose(2, 0, 1, 3).reshape(-1, dense.shape[1]).T))
        model.dense.bias.copy_(t(w["dense/bias"]))
        model.out.weight.copy_(t(w["dense_1/kernel"].T))     # Dense (in, out) -> Linear (out, in)
        model.out.bias.copy_(t(w["dense_1/bias"]))
    return model


def load_imdb(w):
    table = w["embedding/embeddings"]
    kernel, recurrent, bias = w["lstm/kernel"], w["lstm/recurrent_kernel"], w["lstm/bias"]
    units = recurrent.shape[0]
    model = ImdbLstm(table.shape[0], table.shape[1], units, w["dense/kernel"].shape[1])
    with torch.no_grad():
        model.embedding.weight.copy_(t(table))
        # Gate order: Keras i, f, c, o == PyTorch i, f, g, o, so the blocks need no reordering.
        model.lstm.weight_ih_l0.copy_(t(kernel.T))      # (D, 4U) -> (4U, D)
        model.lstm.weight_hh_l0.copy_(t(recurrent.T))   # (U, 4U) -> (4U, U)
        model.lstm.bias_ih_l0.copy_(t(bias))
        model.lstm.bias_hh_l0.zero_()                    # Keras has one bias; PyTorch adds two
        model.out.weight.copy_(t(w["dense/kernel"].T))
        model.out.bias.copy_(t(w["dense/bias"]))
    return model


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    weights, metadata = read_safetensors(sys.argv[1])
    if "conv2d/kernel" in weights:
        name, model = "CIFAR-10 convnet", load_cifar(weights)
    elif "lstm/kernel" in weights:
        if '"mask_zero","bool":true' in metadata.get("architecture", ""):
            sys.exit("The model masks padding (mask_zero); this script's torch.nn.LSTM does not.")
        name, model = "IMDB LSTM", load_imdb(weights)
    else:
        sys.exit(f"{sys.argv[1]}: neither seed model (no conv2d/kernel or lstm/kernel); tensors: {sorted(weights)}")
    inputs = np.load(sys.argv[2])
    expected = np.load(sys.argv[3])
    model.eval()
    with torch.no_grad():
        got = model(torch.from_numpy(inputs)).numpy()
    difference = np.abs(got - expected)
    agree = (got.argmax(1) == expected.argmax(1)).mean()
    print(f"{name}: {len(inputs)} inputs {inputs.shape}, torch {torch.__version__}")
    print(f"max abs difference of the probabilities: {difference.max():.3g} (mean {difference.mean():.3g})")
    print(f"same predicted class: {agree:.2%}")


if __name__ == "__main__":
    main()
