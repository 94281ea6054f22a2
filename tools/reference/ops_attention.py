"""Fixtures for multi-head self-attention as the official CCT's Attention module, computed by PyTorch
in float64 from fp32-representable inputs, without dropout.

attention: the core between the two Linears, qkv (B, T, 3C) -> output (B, T, C), with the 3C axis
laid out [3][H][hs]; saves the softmax probabilities (B, H, T, T) and dqkv.
mhsa: the whole module, x -> qkv Linear (no bias) -> core -> proj Linear (bias).
"""
import torch

from safetensors_io import fixture_path, fp32_inputs, save


def core(qkv, heads):
    """The CCT Attention forward between qkv and proj, returning (output, probabilities)."""
    b, t, c3 = qkv.shape
    c = c3 // 3
    q, k, v = qkv.reshape(b, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    att = ((q @ k.transpose(-2, -1)) * (c // heads) ** -0.5).softmax(dim=-1)
    return (att @ v).transpose(1, 2).reshape(b, t, c), att


# (name, batch, tokens, channels, heads): one token; CCT-2's 49 tokens with batch 1; an odd token
# count with head size 4; four heads of odd size 5.
CASES = [
    ("one_token", 2, 1, 16, 2),
    ("cct2_tokens", 1, 49, 16, 2),
    ("odd", 2, 5, 12, 3),
    ("heads4", 2, 7, 20, 4),
]

g = torch.Generator().manual_seed(3)
tensors, names = {}, []
for name, b, t, c, h in CASES:
    qkv = fp32_inputs(b, t, 3 * c, generator=g).requires_grad_()
    out, att = core(qkv, h)
    dout = fp32_inputs(b, t, c, generator=g)
    out.backward(dout)
    names.append(name)
    p = name + "."
    tensors.update({p + "qkv": qkv, p + "out": out, p + "probabilities": att, p + "dout": dout,
                    p + "dqkv": qkv.grad, p + "heads": torch.tensor([h])})
save(fixture_path("attention"), tensors, {"cases": ",".join(names)})

tensors = {}
for name, b, t, c, h in CASES:
    x = fp32_inputs(b, t, c, generator=g).requires_grad_()
    wqkv = fp32_inputs(3 * c, c, generator=g, scale=c ** -0.5).requires_grad_()
    wproj = fp32_inputs(c, c, generator=g, scale=c ** -0.5).requires_grad_()
    bproj = fp32_inputs(c, generator=g, scale=0.1).requires_grad_()
    qkv = torch.nn.functional.linear(x, wqkv)
    qkv.retain_grad()
    out = torch.nn.functional.linear(core(qkv, h)[0], wproj, bproj)
    dout = fp32_inputs(b, t, c, generator=g)
    out.backward(dout)
    p = name + "."
    tensors.update({p + "x": x, p + "qkv_weight": wqkv, p + "proj_weight": wproj, p + "proj_bias": bproj,
                    p + "out": out, p + "dout": dout, p + "dx": x.grad, p + "dqkv": qkv.grad,
                    p + "dqkv_weight": wqkv.grad, p + "dproj_weight": wproj.grad, p + "dproj_bias": bproj.grad,
                    p + "heads": torch.tensor([h])})
save(fixture_path("mhsa"), tensors, {"cases": ",".join(names)})
