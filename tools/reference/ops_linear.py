"""Fixtures for MatMul and Linear: forward output and all gradients, computed by PyTorch in float64
from fp32-representable inputs (so the reference carries no fp32 summation noise)."""
import torch

from safetensors_io import fixture_path, fp32_inputs, save

g = torch.Generator().manual_seed(2)
tensors, cases = {}, []
# (rows, in, out, bias): batch 1, sizes not divisible by 16, M < K, a wide multi-tile case.
for name, rows, fin, fout, bias in [
    ("rows1", 1, 5, 3, True),
    ("odd", 7, 19, 37, True),
    ("m_lt_k", 3, 45, 17, False),
    ("tiles", 33, 40, 18, True),
]:
    x = fp32_inputs(rows, fin, generator=g).requires_grad_()
    w = fp32_inputs(fout, fin, generator=g, scale=0.3).requires_grad_()
    b = fp32_inputs(fout, generator=g).requires_grad_()
    y = torch.nn.functional.linear(x, w, b if bias else None)
    dy = fp32_inputs(rows, fout, generator=g)
    y.backward(dy)
    cases.append(name)
    p = name + "."
    tensors.update({p + "x": x, p + "weight": w, p + "bias": b, p + "out": y, p + "dout": dy,
                    p + "dx": x.grad, p + "dweight": w.grad, p + "dbias": b.grad if bias else torch.zeros(fout),
                    p + "has_bias": torch.tensor([1 if bias else 0])})
save(fixture_path("linear"), tensors, {"cases": ",".join(cases)})
