#!/usr/bin/env python3
"""Markdown tables of `Cct.Bench train` results against tools/bench/pytorch_bench.py results.

usage: compare.py DIR_OR_JSON... [--markdown FILE] [--top N] [--peak-tflops X]

Reads every Cct JSON (implementation "cct-ilgpu") and PyTorch JSON (implementation "pytorch-eager") given or
found in the given folders, pairs them by (architecture, batch, device class), a row per Cct precision ("precision":
fp32, tf32x3, tf32 or bf16 for its Linear products; fp32 in reports from before it) and launch mode (a run replayed
as CUDA graphs, "cuda_graphs": true, is its own row, "tf32x3+graphs"), and prints: throughput and
its ratio Cct / PyTorch (above 1 = Cct faster) for training and inference against each PyTorch precision
mode found (fp32, tf32, bf16, compile; "default" in reports from before those modes), with "not run" or
"skipped: reason" where a report lacks a mode or could not run it; training compute in GFLOP/s from Cct's
analytic FLOPs per image, and its share of --peak-tflops; peak memory and its ratio (below 1 = Cct uses
less) per mode; the largest time shares of a training step on each side. On a GPU it starts with BENCHMARKS.md's
targets (TARGETS, MEMORY_PRESETS), each met, missed or not measured. Needs only the Python standard
library.
"""
import argparse
import glob
import json
import os
import sys

# The fields that fix the architecture; both sides write them under "config".
ARCHITECTURE = ("image_size", "in_channels", "kernel", "mid_channels", "classes", "layers", "heads", "mlp_ratio",
                "dim", "conv_layers", "attention_dropout", "stochastic_depth")
# Cct on OpenCL runs on a GPU as a rule, and PyTorch's counterpart there is CUDA: they share one table.
DEVICE_CLASS = {"cuda": "gpu", "opencl": "gpu", "cpu": "cpu"}
NAME_WIDTH = 48  # CUDA kernel names can run to hundreds of characters
REASON_WIDTH = 64  # a failed mode's error line can be long too; the notes under the tables give it whole
# PyTorch's precision modes in column order. "default" (PyTorch's start-up switches) is the second mode of the
# reports written before tf32, bf16 and compile existed; it is shown where such a report is read.
MODES = ("fp32", "default", "tf32", "bf16", "compile")
MODE_MEANINGS = {"fp32": "fp32 = TF32 off", "default": "default = PyTorch's start-up switches",
                 "tf32": "tf32 = TF32 on for matmuls and cuDNN",
                 "bf16": "bf16 = autocast to bfloat16, AdamW in fp32", "compile": "compile = torch.compile, fp32"}
# The modes that compute in fp32 throughout, whose GFLOP/s the fp32 (non-tensor-core) peak bounds.
FP32_MODES = ("fp32", "compile")
# Cct's precisions whose products keep fp32's accuracy (3xTF32: within fp32's parity bound).
FP32_ACCURATE = ("fp32", "tf32x3")


class Target:
    """One speed target of BENCHMARKS.md: Cct's training images/s in the best of `precisions` over PyTorch's `mode`."""

    def __init__(self, preset, batch, precisions, mode, at_least):
        self.preset, self.batch, self.precisions, self.mode, self.at_least = preset, batch, precisions, mode, at_least


# BENCHMARKS.md's "Speed and memory targets on one H100 or H200", side by side in one run.
TARGETS = (
    Target("cct-7/3x1", 128, FP32_ACCURATE, "fp32", 1.3),
    Target("cct-7/3x1", 128, ("bf16",), "bf16", 1.0),
    Target("cct-2/3x2", 512, FP32_ACCURATE, "fp32", 1.0),
)
# And Cct's peak device memory (fp32) at most PyTorch fp32's, for both presets at every batch measured.
MEMORY_PRESETS = ("cct-2/3x2", "cct-7/3x1")


class Fail(Exception):
    """A one-line error for the user."""


def model_key(data):
    """Results pair by architecture, not by name, so a --config run pairs with the preset it copies."""
    config = data.get("config") or {}
    try:
        return tuple(round(float(config[k]), 6) for k in ARCHITECTURE)
    except (KeyError, TypeError, ValueError):
        return data.get("preset")


def json_files(paths):
    files = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(sorted(glob.glob(os.path.join(path, "*.json"))))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise Fail("%s is neither a folder nor a file" % path)
    return files


def cct_precision(data):
    """A Cct report's row name: its precision, with "+graphs" when its steps were replayed as CUDA graphs."""
    return data.get("precision", "fp32") + ("+graphs" if data.get("cuda_graphs") else "")


def precision_of(row_name):
    """The precision of a row name from cct_precision: graph replay launches the same kernels, so the same numerics."""
    return row_name.split("+")[0]


def load(paths):
    """(Cct results keyed by (architecture, batch, device class, Cct precision), PyTorch results keyed by the first three)."""
    ours, theirs = {}, {}
    for name in json_files(paths):
        try:
            with open(name) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print("compare.py: skipping %s: %s" % (name, e), file=sys.stderr)
            continue
        if not isinstance(data, dict):
            continue  # other JSON in the folder
        key = (model_key(data), data.get("batch"), DEVICE_CLASS.get(data.get("kind"), data.get("kind")))
        if data.get("implementation") == "cct-ilgpu":
            ours[key + (cct_precision(data),)] = data
        elif data.get("implementation") == "pytorch-eager":
            theirs[key] = data
    return ours, theirs


def label(key, ours, theirs):
    name = next((r["preset"] for r in (ours.get(key), theirs.get(key[:3])) if r and r.get("preset")), "custom")
    return name if key[3] == "fp32" else "%s (Cct %s)" % (name, key[3])


def ratio(a, b):
    if not a or not b:
        return "-"
    r = a / b
    # Three significant digits below 0.1, so the CPU simulator's tiny ratios do not print as 0.00.
    return "%.2f" % r if r >= 0.1 else "%.3g" % r


def number(x):
    if x is None:
        return "-"
    return "%.0f" % x if x >= 100 else "%.1f" % x if x >= 1 else "%.3g" % x


def mib(x):
    return "%.1f" % (x / 2 ** 20) if x is not None else "-"


def percent(x):
    return "-" if x is None else "%.1f %%" % x if x >= 0.1 else "%.2g %%" % x


def run_of(torch_report, mode):
    for run in (torch_report or {}).get("runs", []):
        if run.get("mode") == mode:
            return run
    return None


def measured(run):
    # Reports from before the "status" field hold measured runs only.
    return run is not None and run.get("status", "ok") == "ok"


def modes_in(rows, theirs):
    """The PyTorch modes any report of these rows has, in column order; fp32 alone when there is none."""
    return [m for m in MODES if any(run_of(theirs.get(k[:3]), m) for k in rows)] or ["fp32"]


def mode_figure(report, mode, name):
    """(value, why): one PyTorch mode's figure `name`, or why a table cell has none instead of a number."""
    if report is None:
        return None, "-"
    run = run_of(report, mode)
    if run is None:
        return None, "not run"
    if not measured(run):
        reason = short(str(run.get("reason") or "no reason given"), REASON_WIDTH).replace("|", "\\|")
        return None, "%s: %s" % (run.get("status"), reason)
    return run.get(name), None


def mode_cells(report, mode, name, mine, show):
    """The value cell (formatted by `show`) and the ratio cell of one PyTorch mode against Cct's `mine`."""
    other, why = mode_figure(report, mode, name)
    return [why or show(other), ratio(mine, other)]


def meanings(modes):
    return "PyTorch " + "; ".join(MODE_MEANINGS[m] for m in modes) + "."


def field(report, name):
    return report.get(name) if report else None


def short(name, width=NAME_WIDTH):
    return name if len(name) <= width else name[:width - 3] + "..."


def shares(rows, top):
    return ", ".join("%s %.0f%%" % (short(r["name"]), 100 * r["share"]) for r in rows[:top])


def row(cells):
    return "| " + " | ".join(cells) + " |"


def throughput_table(rows, names, ours, theirs):
    modes = modes_in(rows, theirs)
    header = ["model", "batch"]
    for phase in ("train", "infer"):
        header.append("Cct " + phase)
        for mode in modes:
            header += ["PyTorch %s %s" % (mode, phase), "ratio"]
    lines = ["Throughput in images/s; ratio = Cct / PyTorch (above 1: Cct is faster). " + meanings(modes), "",
             row(header), row(["---"] + ["---:"] * (len(header) - 1))]
    for key in rows:
        a, t = ours.get(key), theirs.get(key[:3])
        cells = [names[key], str(key[1])]
        for metric in ("train_images_per_second", "inference_images_per_second"):
            mine = field(a, metric)
            cells.append(number(mine))
            for mode in modes:
                cells += mode_cells(t, mode, metric, mine, number)
        lines.append(row(cells))
    return lines


def compute_table(rows, names, ours, theirs, peak_tflops):
    """Achieved training GFLOP/s: Cct's analytic FLOPs per image times each side's img/s (the same model)."""
    modes = modes_in(rows, theirs)
    peak_gflops = peak_tflops * 1e3 if peak_tflops else None
    lines = ["Training compute in GFLOP/s = Cct's analytic training FLOPs per image x training img/s "
             "(the same FLOPs for PyTorch: same model)%s." % (
                 "; %% of peak = share of %g TFLOP/s, the fp32 (non-tensor-core) peak given with --peak-tflops, "
                 "for the runs that compute in fp32 throughout; TF32 and bf16 run on tensor cores and can pass it"
                 % peak_tflops if peak_tflops else
                 "; pass --peak-tflops to see the share of the device's fp32 peak"), ""]
    header = ["model", "batch", "GFLOP/image", "Cct GFLOP/s"] + (["Cct % of peak"] if peak_gflops else [])
    for mode in modes:
        header.append("PyTorch %s GFLOP/s" % mode)
        if peak_gflops and mode in FP32_MODES:
            header.append("PyTorch %s %% of peak" % mode)
    lines += [row(header), row(["---"] + ["---:"] * (len(header) - 1))]
    for key in rows:
        a, t = ours.get(key), theirs.get(key[:3])
        flops = field(a, "training_flops_per_image")
        if not flops:
            continue

        def gflops(rate):
            return flops * rate / 1e9 if rate else None

        def share(value):
            return percent(value and 100 * value / peak_gflops)

        mine = gflops(field(a, "train_images_per_second"))
        cells = [names[key], str(key[1]), "%.4g" % (flops / 1e9), number(mine)]
        if peak_gflops:
            cells.append(share(mine))
        for mode in modes:
            rate, why = mode_figure(t, mode, "train_images_per_second")
            cells.append(why or number(gflops(rate)))
            if peak_gflops and mode in FP32_MODES:
                cells.append("-" if why else share(gflops(rate)))
        lines.append(row(cells))
    return lines if len(lines) > 4 else []


def memory_table(rows, names, ours, theirs, device_class):
    modes = modes_in(rows, theirs)
    header = ["model", "batch", "Cct allocated", "Cct device free-memory drop"]
    for mode in modes:
        header += ["PyTorch %s max allocated" % mode, "ratio"]
    lines = ["Peak memory in MiB; ratio = Cct / PyTorch (below 1: Cct uses less).", "",
             row(header), row(["---"] + ["---:"] * (len(header) - 1))]
    for key in rows:
        a, t = ours.get(key), theirs.get(key[:3])
        mine = field(a, "memory_bytes")
        cells = [names[key], str(key[1]), mib(mine), mib(field(field(a, "memory"), "device_free_delta_bytes"))]
        for mode in modes:
            cells += mode_cells(t, mode, "memory_bytes", mine, mib)
        lines.append(row(cells))
    if device_class == "cpu":
        lines += ["", "PyTorch has no allocator peak on the CPU, so the memory ratio needs a GPU."]
    return lines


def profile_lines(rows, names, ours, theirs, top):
    lines = ["Largest shares of a training step (Cct: per kernel; PyTorch: per ATen op, torch.profiler self "
             "time, GPU time on CUDA). Launches = kernel launches per step.", ""]
    for key in rows:
        a, t = ours.get(key), theirs.get(key[:3])
        parts = []
        profile = field(a, "kernel_profile") or {}
        if profile.get("kernels"):
            launches = profile.get("launches_per_step")
            parts.append("Cct%s: %s" % (" (%.0f launches)" % launches if launches else "", shares(profile["kernels"], top)))
        run = next((r for r in (run_of(t, m) for m in MODES) if measured(r)), None)
        profile = field(run, "kernel_profile") or {}
        if profile.get("ops"):
            launches = profile.get("launches_per_step")
            parts.append("PyTorch %s%s: %s" % (run["mode"], " (%.0f launches)" % launches if launches else "",
                                               shares(profile["ops"], top)))
        if parts:
            lines.append("- %s, batch %s. %s" % (names[key], key[1], ". ".join(parts)))
    return lines if len(lines) > 2 else []


def notes_for(rows, names, ours, theirs):
    notes = []
    for key in rows:
        a, t = ours.get(key), theirs.get(key[:3])
        what = "%s batch %s" % (names[key], key[1])
        if a is None or t is None:
            notes.append("%s: no %s result" % (what, "Cct" if a is None else "PyTorch"))
        elif a.get("parameters") != t.get("parameters"):
            notes.append("%s: parameter counts differ (Cct %s, PyTorch %s): not the same model"
                         % (what, a.get("parameters"), t.get("parameters")))
        if a and a.get("cuda_graphs") and not a.get("graph_replays"):
            notes.append("%s: asked for CUDA graphs, but no graph was replayed (capture failed, or the run stopped first):"
                         " its figures are plain launches" % what)
        for side, report in (("Cct", a), ("PyTorch", t)):
            if report and report.get("complete") is False:
                notes.append("%s: the %s run was cut short; only the figures it reached are shown" % (what, side))
        for run in (t or {}).get("runs", []):
            if run.get("status") == "failed":
                notes.append("%s: PyTorch %s failed: %s" % (what, run.get("mode"), run.get("reason")))
    return ["Note: " + n for n in notes]


def verdict(value, bound, at_most=False):
    if value is None:
        return "not measured"
    met = value <= bound if at_most else value >= bound
    return "**met**" if met else "missed"


def targets_table(rows, ours, theirs):
    """BENCHMARKS.md's speed targets and the memory target, each met or missed by the figures of these rows."""
    lines = ["Targets (BENCHMARKS.md; a GPU run's figures): Cct's best fp32-accurate precision is the faster of %s,"
             " with plain launches or replayed as CUDA graphs." % " and ".join(FP32_ACCURATE), "",
             row(["target", "Cct", "PyTorch", "ratio", "needed", "verdict"]), row(["---", "---", "---", "---:", "---:", "---"])]

    def cct_rows(preset, batch):
        return [k for k in rows if k[1] == batch and field(ours.get(k), "preset") == preset]

    for target in TARGETS:
        best = None
        for key in cct_rows(target.preset, target.batch):
            if precision_of(key[3]) not in target.precisions:
                continue
            mine = field(ours.get(key), "train_images_per_second")
            other, _ = mode_figure(theirs.get(key[:3]), target.mode, "train_images_per_second")
            if mine and other and (best is None or mine / other > best[0]):
                best = (mine / other, key[3], mine, other)
        what = "%s, batch %d, training: Cct %s vs PyTorch %s" % (
            target.preset, target.batch, " or ".join(target.precisions), target.mode)
        if best is None:
            lines.append(row([what, "-", "-", "-", ">= %.1f" % target.at_least, verdict(None, target.at_least)]))
        else:
            lines.append(row([what, "%s img/s (%s)" % (number(best[2]), best[1]), "%s img/s" % number(best[3]),
                              "%.2f" % best[0], ">= %.1f" % target.at_least, verdict(best[0], target.at_least)]))
    for preset in MEMORY_PRESETS:
        keys = sorted((k for k in rows if k[3] == "fp32" and field(ours.get(k), "preset") == preset), key=lambda k: k[1])
        for key in keys or [None]:
            mine = field(ours.get(key), "memory_bytes") if key else None
            other, _ = mode_figure(theirs.get(key[:3]) if key else None, "fp32", "memory_bytes")
            value = mine / other if mine and other else None
            what = "%s%s, peak memory: Cct fp32 vs PyTorch fp32" % (preset, ", batch %d" % key[1] if key else "")
            lines.append(row([what, "%s MiB" % mib(mine) if mine else "-", "%s MiB" % mib(other) if other else "-",
                              "%.2f" % value if value else "-", "<= 1.0", verdict(value, 1.0, at_most=True)]))
    return lines


def tables(ours, theirs, top, peak_tflops):
    # A PyTorch result with no Cct run at all still gets its (fp32) row.
    keys = set(ours) | {k + ("fp32",) for k in theirs if not any(o[:3] == k for o in ours)}
    names = {k: label(k, ours, theirs) for k in keys}
    keys = sorted(names, key=lambda k: (str(k[2]), names[k], str(k[0]), k[1] or 0))
    lines = []
    for device_class in sorted({str(k[2]) for k in keys}):
        rows = [k for k in keys if str(k[2]) == device_class]
        devices = sorted({"%s %s (%s)" % (side, r.get("device"), r.get("kind"))
                          for k in rows for side, r in (("Cct", ours.get(k)), ("PyTorch", theirs.get(k[:3]))) if r})
        lines += ["### %s: %s" % (device_class, "; ".join(devices)), ""]
        for section in ((targets_table(rows, ours, theirs) if device_class == "gpu" else []),
                        throughput_table(rows, names, ours, theirs),
                        compute_table(rows, names, ours, theirs, peak_tflops),
                        memory_table(rows, names, ours, theirs, device_class),
                        profile_lines(rows, names, ours, theirs, top),
                        notes_for(rows, names, ours, theirs)):
            if section:
                lines += section + [""]
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="Markdown tables of Cct.Bench train results against pytorch_bench.py results.")
    p.add_argument("inputs", nargs="+", help="folders (their *.json) or JSON files")
    p.add_argument("--markdown", help="also write the tables to this file")
    p.add_argument("--top", type=int, default=5, help="largest profile entries listed per side (default 5)")
    p.add_argument("--peak-tflops", type=float,
                   help="the device's fp32 peak in TFLOP/s (H100 SXM / H200: ~67), for the %% of peak columns")
    args = p.parse_args(argv)
    if args.top < 1:
        p.error("--top must be at least 1")
    if args.peak_tflops is not None and not args.peak_tflops > 0:
        p.error("--peak-tflops must be positive")
    ours, theirs = load(args.inputs)
    if not ours and not theirs:
        raise Fail("no Cct.Bench or pytorch_bench.py JSON in %s" % ", ".join(args.inputs))
    text = tables(ours, theirs, args.top, args.peak_tflops)
    print(text)
    if args.markdown:
        try:
            with open(args.markdown, "w") as f:
                f.write(text)
        except OSError as e:
            raise Fail("cannot write %s: %s" % (args.markdown, e.strerror))
        print("wrote " + args.markdown)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print("compare.py: %s" % e, file=sys.stderr)
        sys.exit(1)
