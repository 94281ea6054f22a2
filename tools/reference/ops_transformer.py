"""Fixtures for LayerNorm, GELU, residual add, SeqPool, MeanPool and label-smoothed cross entropy:
forward outputs, saved statistics and all gradients, computed by PyTorch in float64 from
fp32-representable inputs (so the reference carries no fp32 rounding noise)."""
import torch
import torch.nn.functional as F

from safetensors_io import fixture_path, fp32_inputs, save


def fp32(values):
    """Rounds float64 values to the nearest fp32 and back, so inputs are exact in both precisions."""
    return values.to(torch.float32).to(torch.float64)


def layernorm(g):
    tensors, cases = {}, []
    # (rows, C, mean offset): one row, rows and C odd, rows not a multiple of 16, an offset of 100
    # to test the statistics' stability, and a (B, T) = (2, 9) model-like shape flattened to rows.
    for name, rows, channels, offset in [
        ("rows1", 1, 7, 0.0),
        ("odd", 13, 33, 0.0),
        ("offset100", 5, 33, 100.0),
        ("tokens", 18, 20, 0.0),
    ]:
        x = fp32(fp32_inputs(rows, channels, generator=g, scale=2.0) + offset).requires_grad_()
        w = (1 + fp32_inputs(channels, generator=g, scale=0.5)).requires_grad_()
        b = fp32_inputs(channels, generator=g, scale=0.5).requires_grad_()
        y = F.layer_norm(x, (channels,), w, b, eps=1e-5)
        dy = fp32_inputs(rows, channels, generator=g)
        y.backward(dy)
        mean = x.detach().mean(dim=1)
        rstd = 1 / torch.sqrt(x.detach().var(dim=1, unbiased=False) + 1e-5)
        cases.append(name)
        p = name + "."
        tensors.update({p + "x": x, p + "weight": w, p + "bias": b, p + "out": y, p + "mean": mean, p + "rstd": rstd,
                        p + "dout": dy, p + "dx": x.grad, p + "dweight": w.grad, p + "dbias": b.grad})
    save(fixture_path("layernorm"), tensors, {"cases": ",".join(cases)})


def gelu(g):
    tensors, cases = {}, []
    grid = fp32(torch.linspace(-6, 6, 241, dtype=torch.float64))  # step 0.05: includes -6, 0 and 6
    tails = torch.tensor([-20.0, -10.0, -8.0, -6.5, -1e-3, -1e-6, 0.0, 1e-6, 1e-3, 6.5, 8.0, 10.0, 20.0], dtype=torch.float64)
    for name, x in [
        ("one", fp32(torch.tensor([0.75], dtype=torch.float64))),
        ("range", grid),
        ("random", fp32_inputs(3, 37, generator=g, scale=3.0)),
        ("tails", fp32(tails)),
    ]:
        x = x.clone().requires_grad_()
        y = F.gelu(x)
        dy = fp32_inputs(*x.shape, generator=g)
        y.backward(dy)
        cases.append(name)
        p = name + "."
        tensors.update({p + "x": x, p + "out": y, p + "dout": dy, p + "dx": x.grad})
    save(fixture_path("gelu"), tensors, {"cases": ",".join(cases)})


def residual(g):
    tensors, cases = {}, []
    for name, shape in [("one", (1,)), ("odd", (37,)), ("tokens", (2, 9, 20))]:
        a = fp32_inputs(*shape, generator=g).requires_grad_()
        b = fp32_inputs(*shape, generator=g).requires_grad_()
        y = a + b
        dy = fp32_inputs(*shape, generator=g)
        y.backward(dy)
        cases.append(name)
        p = name + "."
        tensors.update({p + "x1": a, p + "x2": b, p + "out": y, p + "dout": dy, p + "dx1": a.grad, p + "dx2": b.grad})
    save(fixture_path("residual"), tensors, {"cases": ",".join(cases)})


def seqpool(g):
    tensors, cases = {}, []
    # (B, T, C): one token, batch 1, odd sizes, a model-like shape with T = 65 not a multiple of 16.
    for name, batch, tokens, channels in [
        ("token1", 2, 1, 7),
        ("batch1", 1, 5, 16),
        ("odd", 3, 17, 33),
        ("tokens65", 2, 65, 20),
    ]:
        x = fp32_inputs(batch, tokens, channels, generator=g).requires_grad_()
        w = fp32_inputs(1, channels, generator=g, scale=0.5).requires_grad_()
        b = fp32_inputs(1, generator=g).requires_grad_()
        # Official CCT SeqPool: softmax over tokens of Linear(C, 1), then a weighted sum of the tokens.
        weights = F.softmax(F.linear(x, w, b), dim=1).transpose(-1, -2)  # (B, 1, T)
        y = torch.matmul(weights, x).squeeze(-2)  # (B, C)
        dy = fp32_inputs(batch, channels, generator=g)
        y.backward(dy)
        cases.append(name)
        p = name + "."
        tensors.update({p + "x": x, p + "pool_weight": w, p + "pool_bias": b, p + "out": y,
                        p + "weights": weights.detach().reshape(batch, tokens), p + "dout": dy,
                        p + "dx": x.grad, p + "dpool_weight": w.grad, p + "dpool_bias": b.grad})
    save(fixture_path("seqpool"), tensors, {"cases": ",".join(cases)})


def meanpool(g):
    tensors, cases = {}, []
    for name, batch, tokens, channels in [
        ("token1", 1, 1, 7),
        ("odd", 3, 17, 33),
        ("tokens65", 2, 65, 20),
    ]:
        x = fp32_inputs(batch, tokens, channels, generator=g).requires_grad_()
        y = x.mean(dim=1)
        dy = fp32_inputs(batch, channels, generator=g)
        y.backward(dy)
        cases.append(name)
        p = name + "."
        tensors.update({p + "x": x, p + "out": y, p + "dout": dy, p + "dx": x.grad})
    save(fixture_path("meanpool"), tensors, {"cases": ",".join(cases)})


def crossentropy(g):
    tensors, cases = {}, []
    # (B, K, smoothing, logit scale): K = 10 and 3, smoothing 0 and 0.1, batch 1, B not a multiple
    # of 16, and logits of magnitude ~100 where an unshifted exp would overflow fp32 (exp(89) > 3.4e38).
    for name, batch, classes, smoothing, scale in [
        ("k10", 8, 10, 0.0, 2.0),
        ("k10_smooth", 8, 10, 0.1, 2.0),
        ("k3", 17, 3, 0.0, 2.0),
        ("k3_smooth", 5, 3, 0.1, 2.0),
        ("batch1", 1, 10, 0.1, 2.0),
        ("large", 4, 10, 0.1, 50.0),
    ]:
        logits = fp32_inputs(batch, classes, generator=g, scale=scale).requires_grad_()
        targets = torch.randint(0, classes, (batch,), generator=g)
        loss = F.cross_entropy(logits, targets, label_smoothing=smoothing)
        losses = F.cross_entropy(logits.detach(), targets, reduction="none", label_smoothing=smoothing)
        loss.backward()
        cases.append(name)
        p = name + "."
        tensors.update({p + "logits": logits, p + "targets": targets, p + "smoothing": torch.tensor([smoothing], dtype=torch.float64),
                        p + "loss": loss.detach().reshape(1), p + "losses": losses,
                        p + "probabilities": F.softmax(logits.detach(), dim=1), p + "dlogits": logits.grad})
    save(fixture_path("crossentropy"), tensors, {"cases": ",".join(cases)})


generator = torch.Generator().manual_seed(3)
layernorm(generator)
gelu(generator)
residual(generator)
seqpool(generator)
meanpool(generator)
crossentropy(generator)
