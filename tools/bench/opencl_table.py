#!/usr/bin/env python3
"""The bench pair's OpenCL mode table: Cct on OpenCL, Cct on its CPU accelerator and PyTorch on the CPU, per preset
and batch, from one run-bench-pair.sh OUT_DIR (cct-*.json, simulator-*.json, pytorch-*.json)."""

import argparse
import glob
import json
import os
import sys


def load(pattern):
    results = {}
    for name in sorted(glob.glob(pattern)):
        try:
            with open(name) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print("opencl_table.py: skipping %s: %s" % (name, e), file=sys.stderr)
            continue
        results[(data.get("preset"), data.get("batch"))] = data
    return results


def pytorch_run(report):
    for run in (report or {}).get("runs", []):
        if run.get("mode") == "fp32":
            return run
    return None


def number(x):
    return "-" if x is None else "%.0f" % x if x >= 100 else "%.1f" % x


def ratio(a, b):
    return "-" if not a or not b else "%.2f" % (a / b) if a / b >= 0.1 else "%.3g" % (a / b)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--markdown", help="also write the table here")
    args = p.parse_args()
    opencl = load(os.path.join(args.out_dir, "cct-*.json"))
    simulator = load(os.path.join(args.out_dir, "simulator-*.json"))
    torch = load(os.path.join(args.out_dir, "pytorch-*.json"))
    device = next((r.get("device") for r in opencl.values() if r.get("device")), "the OpenCL device")
    lines = ["Images/s on %s, the CPU accelerator and PyTorch (fp32) on the same cores; "
             "x = the OpenCL run's ratio to each." % device, "",
             "| model | batch | pass | OpenCL | CPU accelerator | x | PyTorch CPU | x |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for key in sorted(set(opencl) | set(simulator) | set(torch), key=lambda k: (str(k[0]), k[1] or 0)):
        for metric, name in (("train_images_per_second", "train"), ("inference_images_per_second", "infer")):
            ours = (opencl.get(key) or {}).get(metric)
            sim = (simulator.get(key) or {}).get(metric)
            theirs = (pytorch_run(torch.get(key)) or {}).get(metric)
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                key[0], key[1], name, number(ours), number(sim), ratio(ours, sim), number(theirs), ratio(ours, theirs)))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0 if opencl else 1


if __name__ == "__main__":
    sys.exit(main())
