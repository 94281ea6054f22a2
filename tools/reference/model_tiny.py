"""End-to-end fixtures for the whole CCT model (official and post-norm layouts) on a tiny 8x8x1 configuration:
initial parameters, first-step logits / loss / gradients / BatchNorm running statistics, and five AdamW steps.
Computed by PyTorch in float64 from fp32-representable values; stored as F32."""
import json

import torch
import torch.nn.functional as F

from cct_reference import CCT, init_small
from safetensors_io import fixture_path, fp32_inputs, save

LABEL_SMOOTHING = 0.1
LR, BETAS, EPS, WEIGHT_DECAY = 1e-2, (0.9, 0.999), 1e-8, 0.05
STEPS = 5
BATCH = 3
# fp32 and float64 must take the same ReLU / max-pool branches, or the C# model's gradients route elsewhere.
# The seeds were picked so no ReLU input and no max-pool top-2 gap comes closer than this in any of the steps.
MIN_BRANCH_MARGIN = 9e-5


def check_official_sizes():
    """The published CCT variants on 28x28x1 with 10 classes: parameter and token counts."""
    for name, kwargs, params, tokens in [
        ("CCT-2/3x2", dict(conv_layers=2, layers=2, heads=2, mlp_ratio=1, dim=128), 280_651, 49),
        ("CCT-7/3x1", dict(conv_layers=1, layers=7, heads=4, mlp_ratio=2, dim=256), 3_740_171, 196),
    ]:
        model = CCT(image_size=28, in_channels=1, kernel=3, classes=10, **kwargs)
        count = sum(p.numel() for p in model.parameters())
        print(f"{name}: {count:,} parameters, {model.tokens} tokens")
        assert count == params, f"{name}: {count} parameters, expected {params}"
        assert model.tokens == tokens, f"{name}: {model.tokens} tokens, expected {tokens}"


def watch_branch_margin(model):
    """Hooks recording the smallest |ReLU input| and max-pool gap between the two largest values in a window
    (windows whose max is 0 are skipped: every candidate there has zero gradient through the ReLU anyway)."""
    margin = [float("inf")]

    def relu_input(module, inputs, output):
        margin[0] = min(margin[0], inputs[0].detach().abs().min().item())

    def ffn_hidden(module, inputs, output):
        margin[0] = min(margin[0], output.detach().abs().min().item())

    def pool(module, inputs, output):
        k, s, p = module.kernel_size, module.stride, module.padding
        padded = F.pad(inputs[0].detach(), (p,) * 4, value=float("-inf"))
        top = padded.unfold(2, k, s).unfold(3, k, s).reshape(*output.shape, -1).topk(2, dim=-1).values
        gaps = (top[..., 0] - top[..., 1])[top[..., 0] > 0]
        if gaps.numel():
            margin[0] = min(margin[0], gaps.min().item())

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ReLU):
            module.register_forward_hook(relu_input)
        elif isinstance(module, torch.nn.MaxPool2d):
            module.register_forward_hook(pool)
        elif model.classifier.layout == "post-norm" and name.endswith("linear1"):
            module.register_forward_hook(ffn_hidden)  # input of the functional ReLU in the FFN
    return margin


def write_fixture(op, layout, seed):
    config = dict(image_size=8, in_channels=1, conv_layers=2, kernel=3, mid_channels=6, dim=8, layers=2, heads=2,
                  mlp_ratio=2, classes=3)
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # the constructor's own init draws from the global generator; init_small overwrites it
    model = CCT(layout=layout, pos_emb="learnable", **config)
    init_small(model, g)
    model.double().train()
    margin = watch_branch_margin(model)

    params = dict(model.named_parameters())
    bn_buffers = {n: b for n, b in model.named_buffers() if n.endswith(("running_mean", "running_var"))}
    tensors = {f"param.{n}": p.detach().clone() for n, p in params.items()}
    tensors.update({f"buffer.{n}": b.clone() for n, b in bn_buffers.items()})

    x = fp32_inputs(BATCH, 1, 8, 8, generator=g)
    labels = torch.randint(0, config["classes"], (BATCH,), generator=g)
    tensors.update({"input": x, "labels": labels})

    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY)
    losses = []
    for step in range(STEPS):
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
        loss.backward()
        if step == 0:
            tensors.update({"logits": logits.detach(), "loss": loss.detach().reshape(1)})
            tensors.update({f"buffer_after.{n}": b.clone() for n, b in bn_buffers.items()})
            tensors.update({f"grad.{n}": p.grad.clone() for n, p in params.items()})
        losses.append(loss.item())
        optimizer.step()
    assert margin[0] > MIN_BRANCH_MARGIN, f"{op}: a ReLU / max-pool branch is {margin[0]:.1e} from a tie"
    tensors["losses"] = torch.tensor(losses, dtype=torch.float64)
    tensors.update({f"param_after5.{n}": p.detach().clone() for n, p in params.items()})

    official = layout == "official"
    meta_config = dict(config, layout=layout, batch_norm=not official, pool="seq" if official else "mean",
                       pos_emb="learnable", label_smoothing=LABEL_SMOOTHING, lr=LR, weight_decay=WEIGHT_DECAY,
                       betas=list(BETAS), eps=EPS)
    save(fixture_path(op), tensors, {"config": json.dumps(meta_config), "param_names": ",".join(params)})
    print(f"{op}: T={model.tokens}, {sum(p.numel() for p in params.values())} parameters, "
          f"branch margin {margin[0]:.1e}, "
          f"losses {', '.join(f'{v:.6f}' for v in losses)}")


check_official_sizes()
write_fixture("model_official", "official", seed=27)
write_fixture("model_postnorm", "post-norm", seed=18)
