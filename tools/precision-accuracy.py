#!/usr/bin/env python3
"""Does training in Cct's tensor-core precisions change a trained model's accuracy? An emulation on the CPU.

Cct's `--precision tf32` and `bf16` round the operands of some matrix products (Cct.Gpu/Gemm/TensorCoreGemm.cs,
Cct.Gpu/Layers/TensorCoreFlashAttention.cs) and sum in fp32. This trains the same CCT in PyTorch on the CPU with every
such product's operands rounded at the same points, so that the precisions' effect on test accuracy can be seen without a
GPU. It emulates the arithmetic, not Cct's kernels: the GPU run's train-P steps (tools/gpu-validate.sh) train Cct itself.

Each product c = a·b in a rounded place is `rounded_matmul`: forward r(a)·r(b), and in backward da = r(dc)·r(b)ᵀ and
db = r(a)ᵀ·r(dc), as the tensor cores' three products of a Linear (forward, dinput, dweight) each round their own two
operands; the sums stay fp32 (a product of two bf16 or two TF32 values is exact in fp32).
  * fp32:   nothing rounded (also stands for tf32x3, which is fp32-accurate: Tolerance.ThreeTf32Sum).
  * tf32:   the transformer blocks' Linears (qkv, proj, linear1, linear2) round to TF32 (cvt.rna.tf32.f32: to nearest,
            ties away); attention stays fp32-accurate (Cct runs it in 3xTF32 in this precision).
  * bf16:   those Linears and attention's four products (q·kᵀ, P·v and their gradients: dP = dO·vᵀ, dv = Pᵀ·dO,
            dq = dS·k, dk = dSᵀ·q) round to bfloat16 (cvt.rn: to nearest even).
The convolutions, the sequence pool and the 10-class head stay fp32 in every precision, as in Cct.

The model is tools/bench/pytorch_bench.py's (the official layout with attention dropout and stochastic depth); the
recipe is Cct's defaults without augmentation (AdamW lr 5.5e-4, weight decay 0.06, betas 0.9/0.999, cosine decay per
step, label smoothing 0.1), the images normalised as Cct does (mean 0.2860, std 0.3530).

usage: /usr/bin/python3 tools/precision-accuracy.py [--model cct-2/3x2] [--epochs 2] [--batch 128] [--seeds 0 1]
           [--modes fp32 tf32 bf16] [--data DIR] [--train-limit N] [--json OUT]
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "bench"))
sys.path.insert(0, os.path.join(HERE, "reference"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import pytorch_bench  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def round_tf32(x):
    bits = x.contiguous().view(torch.int32)
    return ((bits + 0x1000) & -0x2000).view(torch.float32)


def round_bf16(x):
    return x.to(torch.bfloat16).to(torch.float32)


class RoundedMatMul(torch.autograd.Function):
    """a @ b with both operands rounded, and each backward product's operands rounded too."""

    @staticmethod
    def forward(ctx, a, b, r):
        ra, rb = r(a), r(b)
        ctx.save_for_backward(ra, rb)
        ctx.r = r
        return ra @ rb

    @staticmethod
    def backward(ctx, dc):
        ra, rb = ctx.saved_tensors
        rdc = ctx.r(dc)
        return rdc @ rb.transpose(-2, -1), ra.transpose(-2, -1) @ rdc, None


def rounded_matmul(a, b, r):
    return a @ b if r is None else RoundedMatMul.apply(a, b, r)


class RoundedLinear(torch.nn.Module):
    """nn.Linear's parameters, its product through rounded_matmul."""

    def __init__(self, linear, r):
        super().__init__()
        self.weight, self.bias, self.r = linear.weight, linear.bias, r

    def forward(self, x):
        y = rounded_matmul(x.reshape(-1, x.shape[-1]), self.weight.t(), self.r).reshape(*x.shape[:-1], -1)
        return y if self.bias is None else y + self.bias


class RoundedAttention(torch.nn.Module):
    """pytorch_bench.StochasticAttention with q·kᵀ and P·v through rounded_matmul."""

    def __init__(self, attention, r):
        super().__init__()
        self.heads, self.scale, self.qkv, self.proj, self.attn_drop = (attention.heads, attention.scale, attention.qkv,
                                                                        attention.proj, attention.attn_drop)
        self.r = r

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        att = self.attn_drop((rounded_matmul(q, k.transpose(-2, -1), self.r) * self.scale).softmax(dim=-1))
        return self.proj(rounded_matmul(att, v, self.r).transpose(1, 2).reshape(b, t, c))


def build(preset, mode):
    model = pytorch_bench.build_model(pytorch_bench.PRESETS[preset])
    linear_round = {"fp32": None, "tf32": round_tf32, "bf16": round_bf16}[mode]
    attention_round = round_bf16 if mode == "bf16" else None
    for block in model.classifier.blocks:
        attention = block.self_attn
        attention.qkv = RoundedLinear(attention.qkv, linear_round)
        attention.proj = RoundedLinear(attention.proj, linear_round)
        block.self_attn = RoundedAttention(attention, attention_round)
        block.linear1 = RoundedLinear(block.linear1, linear_round)
        block.linear2 = RoundedLinear(block.linear2, linear_round)
    return model


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte.gz"))
    x = (torch.from_numpy(images.astype(np.float32) / 255.0) - MEAN) / STD
    return x.unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def accuracy(model, x, y, batch):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x)


def run(preset, mode, seed, args, train, test):
    torch.manual_seed(seed)
    model = build(preset, mode)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.06)
    steps_per_epoch = len(train[0]) // args.batch
    total = steps_per_epoch * args.epochs
    order = np.random.default_rng(seed)
    accuracies, losses, step, start = [], [], 0, time.time()
    for epoch in range(args.epochs):
        permutation = torch.from_numpy(order.permutation(len(train[0])))
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            for group in optimizer.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / total))
            index = permutation[s * args.batch:(s + 1) * args.batch]
            loss = F.cross_entropy(model(train[0][index]), train[1][index], label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
            step += 1
        accuracies.append(accuracy(model, test[0], test[1], 500))
        losses.append(loss_sum / steps_per_epoch)
        print(f"{preset} {mode} seed {seed} epoch {epoch + 1}: train loss {losses[-1]:.4f}, test acc "
              f"{100 * accuracies[-1]:.2f} % ({time.time() - start:.0f} s)", flush=True)
    return dict(mode=mode, seed=seed, test_acc=accuracies, train_loss=losses, seconds=round(time.time() - start, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cct-2/3x2", choices=sorted(pytorch_bench.PRESETS))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=5.5e-4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--modes", nargs="+", default=["fp32", "tf32", "bf16"], choices=["fp32", "tf32", "bf16"])
    parser.add_argument("--data", default=os.environ.get("CCT_DATA", "/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    train, test = load(args.data, "train"), load(args.data, "test")
    if args.train_limit:
        train = (train[0][:args.train_limit], train[1][:args.train_limit])
    runs = [run(args.model, mode, seed, args, train, test) for seed in args.seeds for mode in args.modes]
    print(f"\n| precision | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean |")
    print("| --- |" + " ---: |" * (len(args.seeds) + 1))
    for mode in args.modes:
        final = [r["test_acc"][-1] for r in runs if r["mode"] == mode]
        print(f"| {mode} | " + " | ".join(f"{100 * a:.2f} %" for a in final) + f" | {100 * sum(final) / len(final):.2f} % |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(model=args.model, epochs=args.epochs, batch=args.batch, lr=args.lr, torch=torch.__version__,
                           threads=torch.get_num_threads(), train_images=len(train[0]), runs=runs), f, indent=1)


if __name__ == "__main__":
    main()
