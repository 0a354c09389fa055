"""PyTorch side of NanoNet's comparison: the two seed models, timed the same way NanoNet times them.

Prints one JSON object per line: {"side":"pytorch","model":...,"mode":"train"|"inference","threads":N,
"batch":B,"median_ms":...,"per_second":...}. Run by compare-pytorch.sh; usable alone:
    /usr/bin/python3 benchmarks/pytorch/seed_models.py --threads 1 2 --steps 50
Synthetic data of the right shapes; median of repeated timings after warm-up.
"""
import argparse, json, os, statistics, time

import torch
import torch.nn as nn


class Cifar10Seed(nn.Module):
    # Conv2D(32, 3x3, relu, valid) -> MaxPool(2) -> Flatten -> Dense(128, relu) -> Dense(10)
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 15 * 15, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class TextSeed(nn.Module):
    # Embedding(20000, 128) -> LSTM(128) (last state) -> Dense(2)
    def __init__(self, vocab=20000, dim=128, units=128, classes=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, units, batch_first=True)
        self.fc = nn.Linear(units, classes)

    def forward(self, ids):
        _, (h, _) = self.lstm(self.embedding(ids))
        return self.fc(h[-1])


def median_ms(step, steps, warmup):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cifar_inputs(batch, channels_last):
    x = torch.rand(batch, 3, 32, 32)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, torch.randint(0, 10, (batch,))


def run_cifar(threads, steps, warmup):
    results = []
    for mode, batch in (("train", 64), ("inference", 256)):
        best = None
        for channels_last in (False, True):  # report the faster layout
            torch.manual_seed(0)
            model = Cifar10Seed()
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            x, y = cifar_inputs(batch, channels_last)
            if mode == "train":
                opt = torch.optim.SGD(model.parameters(), lr=0.01)
                loss_fn = nn.CrossEntropyLoss()

                def step():
                    opt.zero_grad(set_to_none=True)
                    loss_fn(model(x), y).backward()
                    opt.step()
            else:
                model.eval()

                def step():
                    with torch.no_grad():
                        model(x)
            ms = median_ms(step, steps, warmup)
            if best is None or ms < best[0]:
                best = (ms, "channels_last" if channels_last else "NCHW")
        results.append(dict(side="pytorch", model="cifar10", mode=mode, threads=threads, batch=batch,
                            median_ms=best[0], per_second=batch * 1000 / best[0], layout=best[1]))
    return results


def run_text(threads, steps, warmup):
    results = []
    for mode, batch in (("train", 32), ("inference", 256)):
        torch.manual_seed(0)
        model = TextSeed()
        ids = torch.randint(1, 20000, (batch, 200))
        y = torch.randint(0, 2, (batch,))
        if mode == "train":
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            loss_fn = nn.CrossEntropyLoss()

            def step():
                opt.zero_grad(set_to_none=True)
                loss_fn(model(ids), y).backward()
                opt.step()
        else:
            model.eval()

            def step():
                with torch.no_grad():
                    model(ids)
        ms = median_ms(step, steps, warmup)
        results.append(dict(side="pytorch", model="text", mode=mode, threads=threads, batch=batch,
                            median_ms=ms, per_second=batch * 1000 / ms))
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["cifar10", "text"])
    args = parser.parse_args()
    if os.environ.get("OPENBLAS_CORETYPE"):
        print(json.dumps(dict(warning="OPENBLAS_CORETYPE is set; it slows OpenBLAS down. compare-pytorch.sh unsets it.")))
    for threads in args.threads:
        torch.set_num_threads(threads)  # torch starts with one thread here: set it explicitly
        if "cifar10" in args.models:
            for r in run_cifar(threads, args.steps, args.warmup):
                print(json.dumps(r), flush=True)
        if "text" in args.models:
            for r in run_text(threads, max(10, args.steps // 3), args.warmup):
                print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
