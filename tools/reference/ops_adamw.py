"""Fixture for AdamW: five steps of torch.optim.AdamW (and torch.optim.Adam, which AdamW with zero
weight decay must equal) in float64 from fp32-representable inputs, with a new gradient each step.

Per case, the parameters are several torch tensors in one param group, flattened back to back in the
order of the "<case>.layout" metadata ("name:dim x dim;..."), exactly as a ParameterSet lays them out.
Tensors: params0 (N), grads (steps, N), and after each step params, exp_avg, exp_avg_sq (steps, N).
"""
import torch

from safetensors_io import fixture_path, fp32_inputs, save

STEPS = 5
g = torch.Generator().manual_seed(5)
tensors, metadata, cases = {}, {}, []
# (name, optimizer, tensor shapes, lr, betas, eps, weight decay): one element; 1000 elements (not a
# multiple of 16) in two tensors with non-default betas; plain Adam on an odd size in two tensors.
for name, optimizer, shapes, lr, betas, eps, wd in [
    ("n1", torch.optim.AdamW, [("w", (1,))], 1e-3, (0.9, 0.999), 1e-8, 0.05),
    ("n1000", torch.optim.AdamW, [("weight", (37, 27)), ("bias", (1,))], 1e-3, (0.9, 0.98), 1e-8, 0.05),
    ("adam_n7", torch.optim.Adam, [("weight", (2, 3)), ("bias", (1,))], 1e-3, (0.9, 0.999), 1e-8, 0.0),
]:
    params = [fp32_inputs(*shape, generator=g).requires_grad_() for _, shape in shapes]
    n = sum(p.numel() for p in params)
    opt = optimizer(params, lr=lr, betas=betas, eps=eps, weight_decay=wd)
    flat = lambda ts: torch.cat([t.detach().reshape(-1) for t in ts])  # noqa: E731
    p0 = flat(params)
    grads, after, m1, m2 = [], [], [], []
    for step in range(STEPS):
        # Changing scales per step; every tenth element (from the sixth) tiny so epsilon matters, and one exact zero
        # (m = v = 0, where only epsilon keeps the update finite).
        scales = torch.full((n,), 0.5 * (step + 1))
        scales[5::10] = 1e-7
        gflat = fp32_inputs(n, generator=g) * scales
        gflat = gflat.to(torch.float32).to(torch.float64)
        if n > 1:
            gflat[1] = 0.0
        offset = 0
        for p in params:
            p.grad = gflat[offset:offset + p.numel()].reshape(p.shape).clone()
            offset += p.numel()
        opt.step()
        grads.append(gflat)
        after.append(flat(params))
        m1.append(flat([opt.state[p]["exp_avg"] for p in params]))
        m2.append(flat([opt.state[p]["exp_avg_sq"] for p in params]))
    cases.append(name)
    pre = name + "."
    tensors.update({pre + "params0": p0, pre + "grads": torch.stack(grads), pre + "params": torch.stack(after),
                    pre + "exp_avg": torch.stack(m1), pre + "exp_avg_sq": torch.stack(m2)})
    metadata[pre + "layout"] = ";".join(f"{t}:{'x'.join(map(str, s))}" for t, s in shapes)
    metadata[pre + "settings"] = ",".join(repr(v) for v in (lr, betas[0], betas[1], eps, wd))
save(fixture_path("adamw"), tensors, {"cases": ",".join(cases), "steps": STEPS, **metadata})
