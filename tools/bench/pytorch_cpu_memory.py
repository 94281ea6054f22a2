#!/usr/bin/env python3
"""PyTorch's peak tensor bytes over one training step, measured on the CPU, for comparison with Cct's device bytes
where no GPU is at hand.

The same model, batch, loss and AdamW as tools/bench/pytorch_bench.py (which on CUDA reads
torch.cuda.max_memory_allocated instead). One warm-up step creates AdamW's state; the next runs under the profiler
with profile_memory=True. Every allocation and free of the CPU allocator is credited to the op that makes it, so
summing the ops' self memory in start order gives the live tensor bytes at each op boundary, and their maximum is
the step's peak. Resident across the step: the parameters, AdamW's moments and the input batch (the gradients are set
to None by zero_grad and reappear in backward, so they are in the events). The live total is checked to end at
exactly the gradients' bytes, so no free went uncounted.

What it leaves out, so PyTorch's CUDA peak is at least this: a leaf op's temporaries (allocated and freed inside it,
as cuDNN's workspace is on CUDA), the CUDA caching allocator's rounding (512 bytes a block), and CUDA's context.

usage: pytorch_cpu_memory.py --model PRESET --batch N [--json FILE]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import pytorch_bench as bench  # noqa: E402

MIB = 2 ** 20


def measure(model_name, batch):
    torch.manual_seed(0)
    cfg = bench.PRESETS[model_name]
    model = bench.build_model(cfg).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=bench.LR, betas=bench.BETAS, eps=bench.EPS,
                                  weight_decay=bench.WEIGHT_DECAY)
    images = torch.randn(batch, cfg["in_channels"], cfg["image_size"], cfg["image_size"])
    labels = torch.randint(0, cfg["classes"], (batch,))

    def step():
        loss = F.cross_entropy(model(images), labels, label_smoothing=bench.LABEL_SMOOTHING)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()
    parameters = sum(p.numel() * p.element_size() for p in model.parameters())
    state = sum(t.numel() * t.element_size() for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t))
    resident = parameters + state + images.numel() * images.element_size() + labels.numel() * labels.element_size()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    live = peak = 0
    for event in sorted(prof.profiler.function_events, key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    if live != parameters:
        raise SystemExit("pytorch_cpu_memory.py: the step ended with %d live bytes, not the gradients' %d: "
                         "some allocation or free was not credited to an op" % (live, parameters))
    return {"model": model_name, "batch": batch, "torch": torch.__version__,
            "resident_bytes": resident, "step_peak_bytes": peak, "peak_bytes": resident + peak,
            "peak_mib": round((resident + peak) / MIB, 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, choices=sorted(bench.PRESETS))
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--json")
    args = p.parse_args()
    if args.batch < 1:
        p.error("--batch must be at least 1")
    result = measure(args.model, args.batch)
    print("%s, batch %d: peak %.1f MiB (resident %.1f, step %.1f; torch %s, CPU)" % (
        args.model, args.batch, result["peak_mib"], result["resident_bytes"] / MIB, result["step_peak_bytes"] / MIB,
        result["torch"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
