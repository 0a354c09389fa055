#!/usr/bin/env python3
"""Where the calling thread of a seed case runs alone: reads `perf script -F pid,tid,ip,sym` (stdin) of a `case` run
recorded with call graphs and .NET perf maps (benchmarks/serial-parts.sh does both), keeps the main thread's samples
taken in the timed steps (under the case's step lambda, not in the warm-up), and counts those outside every parallel
region (no WorkerPool::Run or Parallelism::Run on the stack): the serial part of a step, which no second core can
shorten. Prints its share of the main thread's step samples, then the serial samples by leaf function and by the
framework frame (op, tape, optimizer) that called it."""
import collections
import re
import sys

# The step's own lambda (SeedCases.Run's train step, InferenceStep's or PredictOneStep's), not under the warm-up.
STEP = re.compile(r'SeedCases\+<>c__DisplayClass[0-9_]+::<(Run|InferenceStep|PredictOneStep)>b__')
HEADER = re.compile(r'^\s*\d+/\d+\s*$')  # a sample's "pid/tid" line (right-aligned: leading spaces for short pids)
FRAME = re.compile(r'([A-Za-z0-9_`+<>\[\]]+::[A-Za-z0-9_<>`|]+)\(')


def short(symbol):
    """Class::Method of a .NET frame (perf-map name), else the symbol as perf gave it."""
    match = FRAME.search(symbol)
    return match.group(1) if match else symbol[:80]


def main_thread_stacks(lines):
    """Yields the stacks (leaf first) of the samples whose thread is its process's first (pid == tid)."""
    stack, keep = [], False
    for line in lines:
        if not line.strip():
            if keep and stack:
                yield stack
            stack, keep = [], False
        elif HEADER.match(line):
            pid, tid = line.split()[0].split('/')
            keep = pid == tid
        elif keep:
            parts = line.strip().split(' ', 1)
            if len(parts) > 1:
                stack.append(parts[1])
    if keep and stack:
        yield stack


def framework_frame(stack):
    for frame in stack:
        if any(name in frame for name in ('NanoNet.Ops', 'NanoNet.Autograd', 'NanoNet.Optim.Optimizer', 'NanoNet.Layers')):
            return short(frame)
    return '?'


def main():
    steps = serial = 0
    by_leaf, by_frame = collections.Counter(), collections.Counter()
    for stack in main_thread_stacks(sys.stdin):
        joined = '\n'.join(stack)
        if not STEP.search(joined) or 'SteadyState::WarmUp' in joined:
            continue
        steps += 1
        if 'WorkerPool::Run' in joined or 'Parallelism::Run' in joined:
            continue
        serial += 1
        by_leaf[short(stack[0])] += 1
        by_frame[framework_frame(stack)] += 1
    if steps == 0:
        sys.exit('serial-parts: no sample of the timed steps (was the run recorded with -g and DOTNET_PerfMapEnabled=1?)')
    print(f'main thread: {steps} samples in the timed steps, {serial} outside any parallel region ({100 * serial / steps:.1f}%)')
    for title, counter in (('by leaf function', by_leaf), ('by the framework frame that called it', by_frame)):
        print(f'\nserial samples {title} (% of the step samples):')
        for name, count in counter.most_common(20):
            print(f'{count:7d} {100 * count / steps:6.2f}%  {name}')


if __name__ == '__main__':
    main()
