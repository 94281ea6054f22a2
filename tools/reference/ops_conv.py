"""Fixtures for Conv2d, ReLU and MaxPool2d: forward outputs and gradients, computed by PyTorch in
float64 from fp32-representable inputs (so the reference carries no fp32 summation noise)."""
import torch
import torch.nn.functional as F

from safetensors_io import fixture_path, fp32_inputs, save

g = torch.Generator().manual_seed(3)


def conv2d():
    tensors, cases = {}, []
    # (B, Cin, H, W, Cout, K, stride, pad): the CCT tokenizer (k3 s1 p1), k5 p2 on a non-square
    # input, stride 2 with and without padding (floor drops a border), stride > kernel (some inputs
    # feed no output), a 1x1 kernel, batch 1 and odd channel counts throughout.
    for name, b, cin, h, w, cout, k, s, p in [
        ("tokenizer", 2, 3, 8, 8, 5, 3, 1, 1),
        ("k5p2", 1, 4, 7, 9, 6, 5, 1, 2),
        ("stride2", 2, 3, 9, 7, 5, 3, 2, 1),
        ("stride2_nopad", 1, 5, 10, 11, 3, 3, 2, 0),
        ("stride_gt_kernel", 2, 2, 8, 7, 3, 2, 3, 1),
        ("k1", 1, 7, 5, 3, 9, 1, 1, 0),
        ("wide", 1, 17, 6, 5, 19, 3, 1, 1),
    ]:
        x = fp32_inputs(b, cin, h, w, generator=g).requires_grad_()
        weight = fp32_inputs(cout, cin, k, k, generator=g, scale=0.3).requires_grad_()
        y = F.conv2d(x, weight, None, stride=s, padding=p)
        dy = fp32_inputs(*y.shape, generator=g)
        y.backward(dy)
        cases.append(name)
        q = name + "."
        tensors.update({q + "x": x, q + "weight": weight, q + "out": y, q + "dout": dy,
                        q + "dx": x.grad, q + "dweight": weight.grad,
                        q + "dims": torch.tensor([b, cin, h, w, cout, k, s, p])})
    save(fixture_path("conv2d"), tensors, {"cases": ",".join(cases)})


def relu():
    tensors, cases = {}, []
    for name, n in [("one", 1), ("odd", 37), ("many", 1001)]:
        x = fp32_inputs(n, generator=g)
        # Exact zeros: PyTorch's gradient there is 0, as is ours (input > 0).
        x[::7] = 0.0
        x.requires_grad_()
        y = F.relu(x)
        dy = fp32_inputs(n, generator=g)
        y.backward(dy)
        cases.append(name)
        q = name + "."
        tensors.update({q + "x": x, q + "out": y, q + "dout": dy, q + "dx": x.grad})
    save(fixture_path("relu"), tensors, {"cases": ",".join(cases)})


def maxpool2d():
    tensors, cases = {}, []
    # (B, C, H, W, K, stride, pad, ties): the CCT tokenizer pool (k3 s2 p1) on even, odd and
    # non-square sizes, the seed model's k2 s2 p0 (odd size: floor drops the last row/column), and
    # integer-valued inputs full of ties for both.
    for name, b, c, h, w, k, s, p, ties in [
        ("tok_even", 2, 3, 8, 8, 3, 2, 1, False),
        ("tok_odd", 1, 5, 7, 7, 3, 2, 1, False),
        ("tok_rect", 2, 3, 6, 9, 3, 2, 1, False),
        ("k2_even", 2, 3, 8, 6, 2, 2, 0, False),
        ("k2_odd", 1, 5, 7, 5, 2, 2, 0, False),
        ("tok_ties", 2, 3, 7, 8, 3, 2, 1, True),
        ("k2_ties", 1, 3, 6, 7, 2, 2, 0, True),
    ]:
        if ties:
            x = torch.randint(0, 3, (b, c, h, w), generator=g).to(torch.float64)
        else:
            x = fp32_inputs(b, c, h, w, generator=g)
        x.requires_grad_()
        y, idx = F.max_pool2d(x, k, s, p, return_indices=True)
        dy = fp32_inputs(*y.shape, generator=g)
        y.backward(dy)
        # PyTorch indexes within each (H, W) plane; the layer stores flat indices into the input.
        plane = torch.arange(b * c).reshape(b, c, 1, 1) * (h * w)
        argmax = idx + plane
        assert torch.equal(argmax, first_max(x.detach(), k, s, p)), "PyTorch's tie rule is first max in scan order"
        cases.append(name)
        q = name + "."
        tensors.update({q + "x": x, q + "out": y, q + "argmax": argmax, q + "dout": dy, q + "dx": x.grad,
                        q + "dims": torch.tensor([b, c, h, w, k, s, p])})
    save(fixture_path("maxpool2d"), tensors, {"cases": ",".join(cases)})


def first_max(x, k, s, p):
    """Flat argmax with the first maximum in row-major window order, the rule the layer implements."""
    b, c, h, w = x.shape
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = torch.zeros(b, c, ho, wo, dtype=torch.int64)
    flat = x.reshape(-1)
    for n in range(b * c):
        for i in range(ho):
            for j in range(wo):
                best = None
                for di in range(k):
                    for dj in range(k):
                        r, q = i * s - p + di, j * s - p + dj
                        if 0 <= r < h and 0 <= q < w:
                            f = n * h * w + r * w + q
                            if best is None or flat[f] > flat[best]:
                                best = f
                out.view(-1, ho, wo)[n, i, j] = best
    return out


conv2d()
relu()
maxpool2d()
