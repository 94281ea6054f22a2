#!/usr/bin/env python3
"""PyTorch eager counterpart of `Cct.Bench train`: the same CCT, batch, loss and optimiser, measured the
same way, so tools/bench/compare.py can put the two side by side.

Measures, on --device cuda[:N] or cpu, for each precision mode:
  * training throughput (img/s): forward, cross-entropy with label smoothing 0.1, zero_grad, backward,
    AdamW step; warm-up steps first, then timed loops synchronised only at their end;
  * inference throughput (img/s): eval-mode forward under torch.no_grad(), timed the same way;
  * the mode's settings: the TF32 switches as set, the autocast dtype, torch.compile's status;
  * time shares of a training step from torch.profiler, per ATen op (self GPU time on CUDA, self CPU time
    on CPU) and, on CUDA, per GPU kernel with the number of launches per step;
  * peak memory: torch.cuda.max_memory_allocated (CUDA only; the CPU has no allocator statistics, so the
    growth of the process's peak RSS is given there as a rough figure instead).

Precision modes, each on a fresh model with the same seed, as PyTorch users run it:
  * "fp32": TF32 off for matmuls and cuDNN (pure fp32, like Cct's kernels);
  * "tf32": TF32 on for matmuls and cuDNN, set explicitly;
  * "bf16": TF32 off, forward and loss under torch.autocast to bfloat16; parameters, gradients and the AdamW
    step stay fp32;
  * "compile": torch.compile(model) with the default (inductor) backend, fp32 with TF32 off. PyTorch 1.13 has
    no torch.compile: the mode is then recorded as skipped; a compilation error is recorded as failed, and
    the other modes still run. From PyTorch 2.9 on it runs in a child process with the legacy TF32 switches
    (precision_switches says why).
All four run on CUDA by default; on the CPU only "fp32" (TF32 does not exist there: "tf32" is recorded as
skipped; "bf16" and "compile" run when asked).

The model is tools/reference/cct_reference.py's official-layout CCT with the official stochastic layers put
back (attention dropout on the attention probabilities, stochastic depth), as in SHI-Labs/Compact-Transformers,
because Cct trains with them. Runs with PyTorch 1.13 and 2.x.
"""
import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.autograd import DeviceType  # noqa: E402

from cct_reference import CCT  # noqa: E402

# Must match CctConfig.Preset in Cct.Gpu/Model/CctConfig.cs. Only official-layout presets: "seed" is post-norm.
OFFICIAL = dict(image_size=28, in_channels=1, kernel=3, mid_channels=64, classes=10, attention_dropout=0.1,
                stochastic_depth=0.1)
PRESETS = {
    "cct-2/3x2": dict(OFFICIAL, layers=2, heads=2, mlp_ratio=1, dim=128, conv_layers=2),
    "cct-4/3x2": dict(OFFICIAL, layers=4, heads=2, mlp_ratio=1, dim=128, conv_layers=2),
    "cct-6/3x1": dict(OFFICIAL, layers=6, heads=4, mlp_ratio=2, dim=256, conv_layers=1),
    "cct-7/3x1": dict(OFFICIAL, layers=7, heads=4, mlp_ratio=2, dim=256, conv_layers=1),
    "cct-tiny": dict(OFFICIAL, layers=1, heads=2, mlp_ratio=2, dim=24, conv_layers=2, mid_channels=8,
                     attention_dropout=0.0, stochastic_depth=0.0),
}
ARCHITECTURE_KEYS = ("image_size", "in_channels", "kernel", "mid_channels", "classes", "layers", "heads",
                     "mlp_ratio", "dim", "conv_layers", "attention_dropout", "stochastic_depth")

# Plausible CCT training settings; they do not change the work per step, so speed does not depend on them.
LR, BETAS, EPS, WEIGHT_DECAY, LABEL_SMOOTHING = 5.5e-4, (0.9, 0.999), 1e-8, 0.06, 0.1
TOP_ROWS = 40  # profile rows kept per list


class Fail(Exception):
    """A one-line error for the user (bad option, unusable config, no CUDA)."""


# The precision modes, in the order they run (whatever the order asked) and compare.py lists them. compile
# runs last: its first calls compile for a long time, and the JSON is rewritten after each mode, so a run
# stopped by a time limit still keeps the eager modes.
MODES = ("fp32", "tf32", "bf16", "compile")


# Set in the child process that runs the compile mode alone (compile_in_own_process): its switches use the legacy API.
LEGACY_SWITCHES = "CCT_BENCH_LEGACY_TF32_API"


def has_new_switches():
    """Whether this PyTorch has the per-backend `fp32_precision` strings (2.9 and later)."""
    try:
        getattr(torch.backends.cuda.matmul, "fp32_precision")
        return True
    except (AttributeError, AssertionError):  # 1.13 answers unknown attributes with AssertionError
        return False


def precision_switches():
    """The TF32 switches of cuBLAS matmuls and cuDNN, as ((name, object, attribute) list, API name,
    (value for TF32 off, value for TF32 on)).

    PyTorch 2.9 added per-backend `fp32_precision` strings ("ieee" = pure fp32, "tf32" = TF32 allowed) and
    raises when code reads the legacy `allow_tf32` flags after the new API was used; 1.13 has only the legacy
    flags. So use the new API where it exists and the legacy one otherwise, never both. cuDNN RNN is set
    with conv because 2.9+ rejects a cuDNN-wide TF32 query while the two disagree. Inductor itself (2.9 to
    2.11 at least, pytorch/pytorch#166387) reads the legacy flags, so a process that wrote the new API cannot
    compile: the compile mode runs in a process of its own that uses the legacy API (compile_in_own_process).
    """
    backends = torch.backends
    if not has_new_switches() or os.environ.get(LEGACY_SWITCHES) == "1":
        return [("cuda.matmul.allow_tf32", backends.cuda.matmul, "allow_tf32"),
                ("cudnn.allow_tf32", backends.cudnn, "allow_tf32")], "allow_tf32", (False, True)
    return [("cuda.matmul.fp32_precision", backends.cuda.matmul, "fp32_precision"),
            ("cudnn.conv.fp32_precision", backends.cudnn.conv, "fp32_precision"),
            ("cudnn.rnn.fp32_precision", backends.cudnn.rnn, "fp32_precision")], "fp32_precision", ("ieee", "tf32")


SWITCHES, SWITCH_API, SWITCH_VALUES = precision_switches()


def set_precision(tf32, device):
    """Switches TF32 on (tf32 true) or off on CUDA and returns the switches as set, for the report. The CPU
    has no TF32, so nothing is touched there."""
    state = {"api": SWITCH_API, "applies": device.type == "cuda"}
    wanted = SWITCH_VALUES[1 if tf32 else 0]
    for name, obj, attr in SWITCHES:
        # Written only when it differs: a write, even of the same value, would count as using that API.
        if state["applies"] and getattr(obj, attr) != wanted:
            setattr(obj, attr, wanted)
        state[name] = getattr(obj, attr)
    return state


def parse_modes(text):
    """The modes named in --precision (comma-separated, or "all"), in MODES order."""
    names = MODES if text == "all" else [name.strip() for name in text.split(",")]
    unknown = [name for name in names if name not in MODES]
    if unknown:
        raise Fail("unknown --precision mode '%s'; give a comma-separated list of %s, or all"
                   % (unknown[0], ", ".join(MODES)))
    return [mode for mode in MODES if mode in names]


def skip_reason(mode, device):
    """Why `mode` cannot run on this device and PyTorch, or None."""
    if mode == "tf32" and device.type != "cuda":
        return "no TF32 on the CPU"
    if mode == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return "this GPU has no bfloat16"
    if mode == "compile" and not hasattr(torch, "compile"):
        return "torch.compile needs PyTorch 2.0+ (this is %s)" % torch.__version__
    return None


def first_line(error):
    """The error's type and first line, with the next line when the first only introduces it, as inductor's
    "backend='inductor' raised:" does."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    text = lines[0] + (" " + lines[1] if lines[0].endswith(":") and len(lines) > 1 else "")
    return "%s: %s" % (type(error).__name__, text)


def drop_path(x, rate, training):
    """Stochastic depth as the official src/utils/stochastic_depth.py: drop whole samples, rescale the rest."""
    if rate == 0.0 or not training:
        return x
    keep = 1 - rate
    mask = (keep + torch.rand((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype, device=x.device)).floor_()
    return x.div(keep) * mask


class StochasticAttention(nn.Module):
    """cct_reference.Attention plus the official dropout on the attention probabilities (same parameters)."""

    def __init__(self, attention, dropout):
        super().__init__()
        self.heads, self.scale = attention.heads, attention.scale
        self.qkv, self.proj = attention.qkv, attention.proj
        self.attn_drop = nn.Dropout(dropout)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        att = self.attn_drop(((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1))
        return self.proj((att @ v).transpose(1, 2).reshape(b, t, c))


class StochasticBlock(nn.Module):
    """cct_reference.OfficialBlock with the official drop-path on both residual branches (same parameters)."""

    def __init__(self, block, attention_dropout, drop_path_rate):
        super().__init__()
        self.pre_norm = block.pre_norm
        self.self_attn = StochasticAttention(block.self_attn, attention_dropout)
        self.linear1, self.norm1, self.linear2 = block.linear1, block.norm1, block.linear2
        self.drop_path_rate = drop_path_rate

    def forward(self, x):
        x = x + drop_path(self.self_attn(self.pre_norm(x)), self.drop_path_rate, self.training)
        x = self.norm1(x)
        return x + drop_path(self.linear2(F.gelu(self.linear1(x))), self.drop_path_rate, self.training)


def config_from_json(path):
    """The architecture from a Cct config.json or a Cct.Bench JSON (its "config"), if the official layout fits it."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise Fail("cannot read config %s: %s" % (path, e))
    config = data.get("config", data) if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise Fail("%s: expected a JSON object" % path)

    def need(ok, what):
        if not ok:
            raise Fail("%s: %s; pytorch_bench.py builds only the official layout" % (path, what))

    need(str(config.get("layout", "official")).lower() == "official", "layout is not official")
    need(str(config.get("pooling", "seq")).lower() == "seq", "pooling is not seq")
    need(str(config.get("positional_embedding", "learnable")).lower() == "learnable",
         "positional embedding is not learnable")
    need(not config.get("batch_norm") and not config.get("conv_dropout"), "the tokenizer has BatchNorm or dropout")
    need(config.get("conv_channels") is None, "the tokenizer has explicit channels")
    pooling = (config.get("pool_after_every_conv", True), config.get("pool_kernel", 3), config.get("pool_stride", 2),
               config.get("pool_padding", 1))
    need(pooling == (True, 3, 2, 1), "the tokenizer does not max-pool (3, 2, 1) after every conv")
    missing = [k for k in ARCHITECTURE_KEYS if k not in config]
    need(not missing, "missing fields " + ", ".join(missing))
    return {k: config[k] for k in ARCHITECTURE_KEYS}


def build_model(cfg):
    model = CCT(image_size=cfg["image_size"], in_channels=cfg["in_channels"], conv_layers=cfg["conv_layers"],
                kernel=cfg["kernel"], mid_channels=cfg["mid_channels"], dim=cfg["dim"], layers=cfg["layers"],
                heads=cfg["heads"], mlp_ratio=cfg["mlp_ratio"], classes=cfg["classes"], layout="official")
    layers = cfg["layers"]
    blocks = model.classifier.blocks
    for j in range(layers):
        # torch.linspace(0, rate, layers) as the official TransformerClassifier; Cct's schedule is the same.
        rate = cfg["stochastic_depth"] * j / (layers - 1) if layers > 1 else 0.0
        blocks[j] = StochasticBlock(blocks[j], cfg["attention_dropout"], rate)
    return model


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def self_device_us(event):
    """Self GPU time of a profiler row; 2.x renamed self_cuda_time_total to self_device_time_total."""
    value = getattr(event, "self_device_time_total", None)
    return value if value is not None else event.self_cuda_time_total


def profile_rows(rows, steps, total_us):
    rows = sorted((r for r in rows if r[1] > 0), key=lambda r: -r[1])[:TOP_ROWS]
    return [{"name": name, "ms_per_step": us / 1e3 / steps, "calls_per_step": calls / steps, "share": us / total_us}
            for name, us, calls in rows]


def profile_training(step, device, steps):
    """torch.profiler over `steps` training steps, summarised by summarize_profile."""
    from torch.profiler import ProfilerActivity, profile

    on_cuda = device.type == "cuda"
    synchronize(device)
    with profile(activities=[ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])) as prof:
        for _ in range(steps):
            step()
        synchronize(device)
    return summarize_profile(prof.key_averages(), on_cuda, steps)


def summarize_profile(events, on_cuda, steps):
    """Time shares from torch.profiler's key_averages(). On CUDA the profiler lists each kernel twice, as a GPU
    row of its own and inside the self GPU time of the ATen op that launched it, and record_function ranges
    (such as Optimizer.step) also appear as GPU rows, under the name of their CPU row; so kernels are the GPU
    rows that are not such ranges, ops the CPU rows, and shares are of the kernels' summed time (GPU busy time)."""
    result = {"steps": steps}
    if on_cuda:
        ops = [(e.key, self_device_us(e), e.count) for e in events if e.device_type == DeviceType.CPU]
        # is_user_annotation marks the ranges from 2.x on; the name test also catches them in older versions.
        op_names = {name for name, _, _ in ops}
        kernels = [(e.key, self_device_us(e), e.count) for e in events if e.device_type == DeviceType.CUDA
                   and not getattr(e, "is_user_annotation", False) and e.key not in op_names]
        total = sum(us for _, us, _ in kernels)
        result["method"] = ("torch.profiler over %d training steps: kernels = GPU kernels, copies and memsets; "
                            "ops = self GPU time per ATen op; shares of the GPU busy time" % steps)
        result["launches_per_step"] = sum(count for _, _, count in kernels) / steps
    else:
        ops = [(e.key, e.self_cpu_time_total, e.count) for e in events]
        total = sum(us for _, us, _ in ops)
        result["method"] = "torch.profiler over %d training steps: self CPU time per ATen op; shares of their sum" % steps
        result["launches_per_step"] = None
    if total <= 0:
        # Kept as a note rather than an error: the throughput figures of this mode are still good.
        result["error"] = "torch.profiler recorded no %s time" % ("GPU" if on_cuda else "CPU")
        return result
    result["profiled_step_ms"] = total / 1e3 / steps
    result["ops"] = profile_rows(ops, steps, total)
    if on_cuda:
        result["kernels"] = profile_rows(kernels, steps, total)
    return result


def median(values):
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def timed_runs(work, device, repeats, images):
    """Images per second of `work` (which processes `images` images) in each of `repeats` timed loops."""
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        synchronize(device)
        rates.append(images / (time.perf_counter() - start))
    return rates


def mode_settings(mode, device):
    """Sets the process-wide switches for `mode` and returns the mode's settings, for the report."""
    return {
        # TF32 is off in every mode but tf32, so bf16 and compile each differ from fp32 in one thing only.
        "precision": set_precision(mode == "tf32", device),
        "autocast": {"device_type": device.type, "dtype": "bfloat16",
                     "covers": "training forward and loss, inference forward; backward follows the forward's "
                               "dtypes; parameters, gradients and AdamW in fp32"} if mode == "bf16" else None,
        "compile": {"status": "compiled", "call": "torch.compile(model)", "backend": "inductor (the default)",
                    "when": "in the first warm-up step (warmup_seconds includes it) and the untimed eval warm-up "
                            "call"}
                   if mode == "compile" else None,
    }


def compile_in_own_process(argv, args):
    """The compile mode's run from a child process that runs it alone with the legacy TF32 switches (see
    precision_switches), read back from the child's JSON; stdout and stderr pass through."""
    child_json = (args.json or os.path.join(os.getcwd(), "pytorch-bench")) + ".compile.json"
    command = [sys.executable, os.path.abspath(__file__)] + list(argv) + ["--precision", "compile", "--json", child_json]
    env = dict(os.environ, **{LEGACY_SWITCHES: "1"})
    print("[compile] in its own process with the legacy TF32 switches (PyTorch %s's inductor reads them)" % torch.__version__,
          flush=True)
    code = subprocess.run(command, env=env).returncode
    try:
        with open(child_json) as f:
            runs = json.load(f)["runs"]
        os.remove(child_json)
    except (OSError, ValueError, KeyError) as e:
        return {"mode": "compile", "status": "failed", "reason": "its process exited %d and left no report (%s)" % (code, e)}
    return runs[0] if runs else {"mode": "compile", "status": "failed", "reason": "its process exited %d before it ran" % code}


def run_mode(mode, cfg, args, device):
    """One mode's run: measured, or "skipped" with its reason, or for compile "failed" with the error's first line."""
    reason = skip_reason(mode, device)
    if reason:
        return {"mode": mode, "status": "skipped", "reason": reason}
    settings = mode_settings(mode, device)
    if mode != "compile":
        return bench_mode(mode, settings, cfg, args, device)
    try:
        return bench_mode(mode, settings, cfg, args, device)
    except Fail:
        raise
    # Compilation runs at the first calls and fails in many types (BackendCompilerFailed, InductorError, a
    # RuntimeError for a missing C++ compiler or an unsupported Python, ...): a broken torch.compile is a result
    # about this PyTorch installation, not a reason to lose the other modes.
    except Exception as e:
        settings["compile"]["status"] = "failed"
        return dict({"mode": mode, "status": "failed", "reason": first_line(e)}, **settings)


def bench_mode(mode, settings, cfg, args, device):
    torch.manual_seed(args.seed)
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    rss_before = peak_rss_bytes()
    model = build_model(cfg).to(device)
    # The compiled module shares the model's parameters and train/eval flag; the optimizer and mode switches
    # below work on the model itself.
    net = torch.compile(model) if settings["compile"] else model
    images = torch.randn(args.batch, cfg["in_channels"], cfg["image_size"], cfg["image_size"], device=device)
    labels = torch.randint(0, cfg["classes"], (args.batch,), device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
    last_loss = [None]

    def autocast():
        # Around the forward and the loss only, as PyTorch's AMP recipe: backward runs outside it.
        if settings["autocast"]:
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def train_step():
        with autocast():
            loss = F.cross_entropy(net(images), labels, label_smoothing=LABEL_SMOOTHING)
        # set_to_none is 2.x's default; explicit so that 1.13 skips the same zero-fill.
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        last_loss[0] = loss  # read once after the loops: .item() here would synchronise every step

    def train_loop():
        for _ in range(args.steps):
            train_step()

    def inference_loop():
        for _ in range(args.inference_steps):
            net(images)

    model.train()
    start = time.perf_counter()
    for _ in range(args.warmup):
        train_step()
    synchronize(device)
    warmup_seconds = time.perf_counter() - start
    train_runs = timed_runs(train_loop, device, args.repeats, args.steps * args.batch)
    loss = float(last_loss[0].item())
    if not math.isfinite(loss):
        raise Fail("[%s] the training loss became %s" % (mode, loss))

    model.eval()
    with torch.no_grad(), autocast():
        net(images)  # the eval-mode warm-up (for compile, the eval graph's compilation)
        synchronize(device)
        inference_runs = timed_runs(inference_loop, device, args.repeats, args.inference_steps * args.batch)
    model.train()

    if device.type == "cuda":
        memory = {"method": "torch.cuda.max_memory_allocated since model creation: parameters, gradients, AdamW "
                            "state, activations, workspaces, inputs",
                  "max_memory_allocated": torch.cuda.max_memory_allocated(device),
                  "max_memory_reserved": torch.cuda.max_memory_reserved(device)}
        memory_bytes = memory["max_memory_allocated"]
    else:
        memory = {"method": "no allocator statistics on the CPU: peak_rss_growth_bytes is the growth of the "
                            "process's peak RSS during this mode (rough; near 0 after a first mode)",
                  "peak_rss_growth_bytes": peak_rss_bytes() - rss_before}
        memory_bytes = None

    # After the measurements, so the profiler's overhead cannot leak into them.
    kernel_profile = profile_training(train_step, device, args.profile_steps) if args.profile_steps else None

    train_rate, inference_rate = median(train_runs), median(inference_runs)
    return dict({
        "mode": mode,
        "status": "ok",
        "warmup_seconds": warmup_seconds,
        "train_images_per_second": train_rate,
        "train_images_per_second_runs": train_runs,
        "train_step_ms": 1e3 * args.batch / train_rate,
        "inference_images_per_second": inference_rate,
        "inference_images_per_second_runs": inference_runs,
        "final_loss": loss,
        "memory_bytes": memory_bytes,
        "memory": memory,
        "kernel_profile": kernel_profile,
    }, **settings)


def device_description(device):
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info = {"name": props.name, "memory_bytes": props.total_memory, "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(), "driver": None}
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader",
                                  "-i", str(device.index or 0)], capture_output=True, text=True, timeout=30)
            info["driver"] = out.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            pass
        return info
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    return {"name": name, "processors": os.cpu_count()}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="cct-2/3x2", help="preset: %s (default cct-2/3x2)" % ", ".join(PRESETS))
    p.add_argument("--config", help="Cct config JSON (config.json, or a Cct.Bench JSON's \"config\"); replaces --model")
    p.add_argument("--batch", type=int, default=128, help="default 128")
    p.add_argument("--device", help="cuda, cuda:N or cpu (default: cuda if PyTorch sees one, else cpu)")
    p.add_argument("--steps", type=int, default=20, help="training steps per timed loop (default 20)")
    p.add_argument("--warmup", type=int, default=5, help="untimed training steps first (default 5, at least 1)")
    p.add_argument("--inference-steps", type=int, help="forward passes per timed inference loop (default: --steps)")
    p.add_argument("--repeats", type=int, default=3, help="timed loops; the median is reported (default 3)")
    p.add_argument("--profile-steps", type=int, default=3, help="training steps under torch.profiler; 0 = none (default 3)")
    p.add_argument("--precision",
                   help="modes, comma-separated, run in the order %s; or all (the default on CUDA; fp32 on the CPU)"
                        % ", ".join(MODES))
    p.add_argument("--threads", type=int, help="CPU threads (default: all processors, as Cct's CPU accelerator)")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--json", help="write the results here (rewritten after each precision mode)")
    args = p.parse_args(argv)
    for name in ("batch", "steps", "warmup", "repeats"):
        if getattr(args, name) < 1:
            p.error("--%s must be at least 1" % name)
    if args.profile_steps < 0:
        p.error("--profile-steps must be at least 0")
    if args.inference_steps is None:
        args.inference_steps = args.steps
    elif args.inference_steps < 1:
        p.error("--inference-steps must be at least 1")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be at least 1")
    if args.config is None and args.model not in PRESETS:
        p.error("unknown model preset '%s'; known: %s" % (args.model, ", ".join(PRESETS)))
    args.modes = parse_modes(args.precision) if args.precision is not None else None
    return args


def open_device(name):
    try:
        device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    except RuntimeError as e:
        raise Fail("bad --device '%s': %s" % (name, str(e).splitlines()[0]))
    if device.type not in ("cuda", "cpu"):
        raise Fail("--device must be cuda, cuda:N or cpu, not '%s'" % name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise Fail("--device %s: PyTorch sees no CUDA device (torch %s, built for CUDA %s)"
                       % (name, torch.__version__, torch.version.cuda))
        if (device.index or 0) >= torch.cuda.device_count():
            raise Fail("--device %s: PyTorch sees only %d CUDA device(s)" % (name, torch.cuda.device_count()))
    return device


def write_json(path, report):
    if not path:
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


def main(argv=None):
    args = parse_args(argv)
    device = open_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    cfg = config_from_json(args.config) if args.config else PRESETS[args.model]
    modes = args.modes or parse_modes("all" if device.type == "cuda" else "fp32")
    try:
        parameters = parameter_count(build_model(cfg))
    except (ValueError, RuntimeError) as e:  # e.g. dim not divisible by heads, or no tokens left
        raise Fail("cannot build the model: %s" % str(e).splitlines()[0])

    describe = device_description(device)
    model_name = args.config or args.model
    print("device: %s (%s); torch %s; model %s, %d parameters; batch %d; modes %s"
          % (describe["name"], device.type, torch.__version__, model_name, parameters, args.batch, ", ".join(modes)))
    report = {
        # The name compare.py and opencl_table.py look for; the compile mode is one run inside such a report.
        "implementation": "pytorch-eager",
        "complete": False,
        "device": describe["name"],
        "kind": device.type,
        "device_info": describe,
        "preset": None if args.config else args.model,
        "config": cfg,
        "parameters": parameters,
        "batch": args.batch,
        "warmup_steps": args.warmup,
        "steps": args.steps,
        "inference_steps": args.inference_steps,
        "repeats": args.repeats,
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "modes": modes,
        "runs": [],
        "software": {"torch": torch.__version__, "python": platform.python_version(), "os": platform.platform()},
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    # The arguments the child process of the compile mode gets: these, less --precision and --json, which it sets.
    child_argv, skip = [], False
    for a in (sys.argv[1:] if argv is None else argv):
        if skip:
            skip = False
        elif a in ("--precision", "--json"):
            skip = True
        elif not a.startswith(("--precision=", "--json=")):
            child_argv.append(a)
    for mode in modes:
        # CCT_BENCH_COMPILE_PROCESS=1 takes that path on any PyTorch, to rehearse it where there is no 2.9.
        own_process = mode == "compile" and os.environ.get(LEGACY_SWITCHES) != "1" and (
            has_new_switches() or os.environ.get("CCT_BENCH_COMPILE_PROCESS") == "1")
        run = compile_in_own_process(child_argv, args) if own_process else run_mode(mode, cfg, args, device)
        report["runs"].append(run)
        report["complete"] = len(report["runs"]) == len(modes)
        # Rewritten after each mode, so a run stopped by a time limit keeps the modes it finished.
        write_json(args.json, report)
        if run["status"] != "ok":
            print("[%s] %s: %s" % (mode, run["status"], run["reason"]))
            continue
        memory = "%.1f MiB" % (run["memory_bytes"] / 2 ** 20) if run["memory_bytes"] is not None else "n/a on CPU"
        print("[%s] train %.1f img/s (%.2f ms/step), inference %.1f img/s, loss %.4f, peak memory %s"
              % (mode, run["train_images_per_second"], run["train_step_ms"], run["inference_images_per_second"],
                 run["final_loss"], memory))
        profile = run["kernel_profile"]
        if profile and "error" in profile:
            print("    profile: %s" % profile["error"])
        elif profile:
            launches = profile["launches_per_step"]
            print("    profiled step %.2f ms%s; largest ops:" % (
                profile["profiled_step_ms"], ", %.0f kernel launches" % launches if launches is not None else ""))
            for op in profile["ops"][:12]:
                print("    %-45s %9.3f ms/step %5.1f%%" % (op["name"][:45], op["ms_per_step"], 100 * op["share"]))
    if args.json:
        print("wrote " + args.json)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print("pytorch_bench.py: %s" % e, file=sys.stderr)
        sys.exit(2)
