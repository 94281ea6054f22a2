"""Fixtures for BatchNorm2d (training forward + backward, running-stat update, eval forward) and Tokens
(NCHW -> (B, T, C) plus positional embedding, forward + backward, and the official CCT sine table),
computed by PyTorch in float64 from fp32-representable inputs."""
import torch
import torch.nn.functional as F

from safetensors_io import fixture_path, fp32_inputs, save

g = torch.Generator().manual_seed(5)


def batchnorm2d():
    tensors, cases = {}, []
    # (B, C, H, W, momentum, eps): batch 1 with spatial > 1, odd channels, batch 2 with spatial 1 (n = 2,
    # the smallest unbiased variance), a non-default momentum/eps, and a size that is no multiple of 16.
    for name, b, c, h, w, momentum, eps in [
        ("b1_spatial", 1, 3, 5, 3, 0.1, 1e-5),
        ("odd", 3, 7, 3, 5, 0.1, 1e-5),
        ("b2_spatial1", 2, 5, 1, 1, 0.1, 1e-5),
        ("momentum", 4, 2, 2, 3, 0.3, 1e-3),
        ("wide", 2, 17, 7, 9, 0.1, 1e-5),
    ]:
        # A shifted, scaled input so the mean and variance are far from 0 and 1.
        x = (fp32_inputs(b, c, h, w, generator=g, scale=1.5) + 0.75).requires_grad_()
        weight = fp32_inputs(c, generator=g).requires_grad_()
        bias = fp32_inputs(c, generator=g).requires_grad_()
        running_mean = fp32_inputs(c, generator=g, scale=0.5)
        running_var = (torch.rand(c, generator=g) + 0.5).to(torch.float32).to(torch.float64)
        updated_mean, updated_var = running_mean.clone(), running_var.clone()
        y = F.batch_norm(x, updated_mean, updated_var, weight, bias, training=True, momentum=momentum, eps=eps)
        _, save_mean, save_rstd = torch.native_batch_norm(x.detach(), weight.detach(), bias.detach(),
                                                          running_mean.clone(), running_var.clone(), True, momentum, eps)
        dy = fp32_inputs(b, c, h, w, generator=g)
        y.backward(dy)
        y_eval = F.batch_norm(x.detach(), running_mean, running_var, weight.detach(), bias.detach(), training=False, eps=eps)
        cases.append(name)
        p = name + "."
        tensors.update({p + "x": x, p + "weight": weight, p + "bias": bias,
                        p + "running_mean": running_mean, p + "running_var": running_var,
                        p + "momentum": torch.tensor([momentum], dtype=torch.float64), p + "eps": torch.tensor([eps], dtype=torch.float64),
                        p + "out": y, p + "mean": save_mean, p + "rstd": save_rstd,
                        p + "updated_running_mean": updated_mean, p + "updated_running_var": updated_var,
                        p + "dout": dy, p + "dx": x.grad, p + "dweight": weight.grad, p + "dbias": bias.grad,
                        p + "out_eval": y_eval})
    save(fixture_path("batchnorm2d"), tensors, {"cases": ",".join(cases)})


def sinusoidal_embedding(tokens, dim):
    # Official CCT (TransformerClassifier.sinusoidal_embedding): the angle p / 10000^(2*(i//2)/dim) is
    # evaluated in Python doubles and stored in a FloatTensor (rounded to fp32) before sin/cos.
    angles = torch.tensor([[p / (10000 ** (2 * (i // 2) / dim)) for i in range(dim)] for p in range(tokens)],
                          dtype=torch.float64).to(torch.float32).to(torch.float64)
    pe = angles.clone()
    pe[:, 0::2] = torch.sin(angles[:, 0::2])
    pe[:, 1::2] = torch.cos(angles[:, 1::2])
    return pe


def tokens():
    tensors, cases = {}, []
    # (B, C, H, W, positional embedding): batch 1 with one token, odd channels, no embedding, T not a multiple of 16.
    for name, b, c, h, w, has_pe in [
        ("learnable", 2, 5, 3, 3, True),
        ("b1_one_token", 1, 7, 1, 1, True),
        ("no_embedding", 3, 4, 2, 3, False),
        ("wide", 2, 19, 4, 5, True),
    ]:
        t = h * w
        x = fp32_inputs(b, c, h, w, generator=g).requires_grad_()
        pe = fp32_inputs(1, t, c, generator=g, scale=0.2).requires_grad_()
        y = x.flatten(2, 3).transpose(-2, -1)
        if has_pe:
            y = y + pe
        dy = fp32_inputs(b, t, c, generator=g)
        y.backward(dy)
        cases.append(name)
        p = name + "."
        tensors.update({p + "x": x, p + "pos_emb": pe, p + "out": y, p + "dout": dy, p + "dx": x.grad,
                        p + "dpos_emb": pe.grad if has_pe else torch.zeros(1, t, c),
                        p + "has_pos_emb": torch.tensor([1 if has_pe else 0])})
    # Sine tables: odd dim, one token, and a CCT-sized sequence (CIFAR CCT-7/3x1: 64 tokens of 256).
    sine_cases = []
    for name, t, dim in [("sine_odd", 9, 5), ("sine_one", 1, 8), ("sine_cct", 64, 256)]:
        sine_cases.append(name)
        tensors[name + ".table"] = sinusoidal_embedding(t, dim)
    save(fixture_path("tokens"), tensors, {"cases": ",".join(cases), "sine_cases": ",".join(sine_cases)})


batchnorm2d()
tokens()
