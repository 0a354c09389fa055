"""Reads the JSON lines of both sides (stdin) and prints the comparison table with ratios."""
import json, sys

rows = [json.loads(line) for line in sys.stdin if line.startswith("{") and '"side"' in line]
by_key = {(r["side"], r["model"], r["mode"], r["threads"]): r for r in rows}
units = {"cifar10": "images/s", "text": "sequences/s"}
print("| model | mode | batch | threads | PyTorch | NanoNet | NanoNet / PyTorch |")
print("|---|---|---|---|---|---|---|")
for model in ("cifar10", "text"):
    for mode in ("train", "inference"):
        for threads in (1, 2):
            p = by_key.get(("pytorch", model, mode, threads))
            n = by_key.get(("nanonet", model, mode, threads))
            if not p or not n:
                continue
            print(f"| {model} | {mode} | {n['batch']} | {threads} | {p['per_second']:,.0f} {units[model]} | "
                  f"{n['per_second']:,.0f} {units[model]} | **{n['per_second'] / p['per_second']:.2f}x** |")
print()
print("| model | mode | PyTorch 2 threads / 1 | NanoNet 2 threads / 1 |")
print("|---|---|---|---|")
for model in ("cifar10", "text"):
    for mode in ("train", "inference"):
        k = lambda side, t: by_key.get((side, model, mode, t))
        if all(k(s, t) for s in ("pytorch", "nanonet") for t in (1, 2)):
            print(f"| {model} | {mode} | {k('pytorch', 2)['per_second'] / k('pytorch', 1)['per_second']:.2f}x | "
                  f"{k('nanonet', 2)['per_second'] / k('nanonet', 1)['per_second']:.2f}x |")
alloc = [r for r in rows if r["side"] == "nanonet"]
if alloc:
    print()
    print("NanoNet managed allocation per step: " + ", ".join(
        f"{r['model']} {r['mode']} {r['threads']}t: {r['alloc_bytes_per_step']:,} B (gen-2 GCs: {r['gen2']})" for r in alloc))
