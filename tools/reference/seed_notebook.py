"""The seed notebook's model with the notebook's module names, and a fixture of its eval-mode logits.

The module tree matches the notebook, so ``state_dict()`` names are the notebook checkpoint's:

* ``pos_embedding`` (1, 196, 128): learnable, added to the tokens.
* ``conv_layers``: nn.Sequential of five (Conv2d 3x3 padding 1 with bias, BatchNorm2d, ReLU, Dropout(0.3)) and a
  final MaxPool2d(2): convs at indices 0, 4, 8, 12, 16, BatchNorms at 1, 5, 9, 13, 17, the pool at 20.
* ``transformer_layers.{i}`` (i = 0..3): ``attention`` (nn.MultiheadAttention(128, 4, dropout=0.2) with its
  in_proj_weight (384, 128), in_proj_bias (384) and out_proj), ``norm1``, ``ff`` (0 Linear(128, 256), 1 ReLU,
  2 Linear(256, 128)), ``norm2``; x = norm1(x + attn(x)); x = norm2(x + ff(x)).
* ``fc`` Linear(128, 10) after the mean over tokens.

One deliberate difference: the notebook passes (batch, tokens, dim) to nn.MultiheadAttention without
batch_first=True, so its attention runs across the images of a batch at each token position (a bug). Here, as in
Cct and as the notebook's text intends, each image's 196 tokens attend to each other (batch_first=True). The
names and shapes of the parameters are the same either way, so a notebook checkpoint loads into either.

Tokens are ordered as Cct orders them: conv output (B, C, H, W) -> flatten(2).transpose(1, 2) -> (B, H*W, C),
row-major over the 14x14 grid.

Run as a script, it writes Cct.Tests/Fixtures/seed_notebook.safetensors:

* every ``state_dict`` tensor under its notebook name (F32; ``num_batches_tracked`` as I64);
* ``fixture.input`` (3, 1, 28, 28): three MNIST-normalised images; ``fixture.logits`` (3, 10): eval-mode logits;
* metadata ``config`` (JSON), ``names`` (the state_dict order), ``parameters`` (trainable count, 801770) and
  ``fp32_max_abs_error`` (how far PyTorch's own fp32 forward lands from the float64 logits).

Weights, BatchNorm running statistics and inputs are rounded to fp32 and the forward runs in float64, as the
other fixtures do.
"""
import json

import torch
from torch import nn

from safetensors_io import fixture_path, save

CHANNELS = (16, 32, 64, 128, 128)
IMAGE = 28
TOKENS = (IMAGE // 2) ** 2
DIM = 128
HEADS = 4
LAYERS = 4
HIDDEN = 256
CLASSES = 10
CONV_DROPOUT = 0.3
ATTENTION_DROPOUT = 0.2
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
BATCH = 3
PARAMETERS = 801_770


class TransformerLayer(nn.Module):
    """The notebook's post-norm layer, attending over each image's tokens."""

    def __init__(self, dim=DIM, heads=HEADS, hidden=HIDDEN, dropout=ATTENTION_DROPOUT):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x):
        attended, _ = self.attention(x, x, x, need_weights=False)
        x = self.norm1(x + attended)
        return self.norm2(x + self.ff(x))


class SeedNotebook(nn.Module):
    """Image (B, 1, 28, 28) -> logits (B, 10)."""

    def __init__(self):
        super().__init__()
        modules = []
        previous = 1
        for channels in CHANNELS:
            modules += [nn.Conv2d(previous, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
                        nn.Dropout(CONV_DROPOUT)]
            previous = channels
        modules.append(nn.MaxPool2d(2))
        self.conv_layers = nn.Sequential(*modules)
        self.pos_embedding = nn.Parameter(torch.zeros(1, TOKENS, DIM))
        self.transformer_layers = nn.ModuleList([TransformerLayer() for _ in range(LAYERS)])
        self.fc = nn.Linear(DIM, CLASSES)

    def tokens(self, images):
        """Conv output (B, C, H, W) as Cct's tokens (B, H*W, C), positional embedding added."""
        return self.conv_layers(images).flatten(2).transpose(1, 2) + self.pos_embedding

    def forward(self, images):
        x = self.tokens(images)
        for layer in self.transformer_layers:
            x = layer(x)
        return self.fc(x.mean(dim=1))


def expected_shapes():
    """Every notebook state_dict name -> shape, in state_dict order (what a notebook checkpoint must hold)."""
    return {name: tuple(t.shape) for name, t in SeedNotebook().state_dict().items()}


def trainable_count(model):
    return sum(p.numel() for p in model.parameters())


def init_notebook(model, generator):
    """Deterministic, non-trivial values, rounded to fp32: convs He-scaled N(0, 2/fan_in), other weights
    N(0, 1/fan_in), biases 0.1 N(0, 1), norm weights 1 + 0.1 N(0, 1), positional embedding 0.2 N(0, 1),
    BatchNorm running_mean 0.2 N(0, 1), running_var 0.5 + U(0, 1) (positive), num_batches_tracked 100."""
    with torch.no_grad():
        for module in model.modules():
            is_norm = isinstance(module, (nn.LayerNorm, nn.BatchNorm2d))
            for name, p in module.named_parameters(recurse=False):
                noise = torch.randn(p.shape, generator=generator, dtype=torch.float64)
                if name == "pos_embedding":
                    value = 0.2 * noise
                elif is_norm and name == "weight":
                    value = 1 + 0.1 * noise
                elif name.endswith("bias"):
                    value = 0.1 * noise
                else:
                    fan_in = p[0].numel()
                    value = noise * ((2 if isinstance(module, nn.Conv2d) else 1) / fan_in) ** 0.5
                p.copy_(value.to(torch.float32).to(p.dtype))
            if isinstance(module, nn.BatchNorm2d):
                mean = 0.2 * torch.randn(module.running_mean.shape, generator=generator, dtype=torch.float64)
                var = 0.5 + torch.rand(module.running_var.shape, generator=generator, dtype=torch.float64)
                module.running_mean.copy_(mean.to(torch.float32).to(module.running_mean.dtype))
                module.running_var.copy_(var.to(torch.float32).to(module.running_var.dtype))
                module.num_batches_tracked.fill_(100)


def normalised_images(generator, count=BATCH):
    """MNIST-like images: a few bright random strokes on black, pixels k/255, normalised with MNIST's mean and
    std and rounded to fp32 (returned as float64)."""
    pixels = torch.zeros(count, 1, IMAGE, IMAGE, dtype=torch.float64)
    for b in range(count):
        for _ in range(6):
            row, col = torch.randint(4, IMAGE - 4, (2,), generator=generator).tolist()
            height, width = torch.randint(2, 9, (2,), generator=generator).tolist()
            pixels[b, 0, row:row + height, col:col + width] = torch.randint(128, 256, (1,), generator=generator).item()
    noise = torch.randint(0, 40, pixels.shape, generator=generator).to(torch.float64)
    pixels = torch.clamp(pixels + noise * (torch.rand(pixels.shape, generator=generator) < 0.2), 0, 255) / 255
    return ((pixels - MNIST_MEAN) / MNIST_STD).to(torch.float32).to(torch.float64)


def reference_logits(state, images):
    """The forward written out from the state_dict alone, with explicit per-image token attention: an
    independent check of the module (and of nn.MultiheadAttention's batch_first handling)."""
    x = images
    for i in range(len(CHANNELS)):
        conv, bn = f"conv_layers.{4 * i}", f"conv_layers.{4 * i + 1}"
        x = torch.nn.functional.conv2d(x, state[conv + ".weight"], state[conv + ".bias"], padding=1)
        scale = state[bn + ".weight"] / torch.sqrt(state[bn + ".running_var"] + 1e-5)
        x = (x - state[bn + ".running_mean"][:, None, None]) * scale[:, None, None] + state[bn + ".bias"][:, None, None]
        x = torch.relu(x)
    x = torch.nn.functional.max_pool2d(x, 2)
    b, c, h, w = x.shape
    x = x.reshape(b, c, h * w).permute(0, 2, 1) + state["pos_embedding"]  # token t = row * 14 + column
    hs = DIM // HEADS
    for j in range(LAYERS):
        p = f"transformer_layers.{j}."
        qkv = x @ state[p + "attention.in_proj_weight"].T + state[p + "attention.in_proj_bias"]
        q, k, v = (qkv[..., n * DIM:(n + 1) * DIM].reshape(b, h * w, HEADS, hs).transpose(1, 2) for n in range(3))
        att = torch.softmax(q @ k.transpose(-2, -1) / hs ** 0.5, dim=-1)  # (B, heads, T, T): within one image
        o = (att @ v).transpose(1, 2).reshape(b, h * w, DIM)
        o = o @ state[p + "attention.out_proj.weight"].T + state[p + "attention.out_proj.bias"]
        x = torch.nn.functional.layer_norm(x + o, (DIM,), state[p + "norm1.weight"], state[p + "norm1.bias"])
        f = torch.relu(x @ state[p + "ff.0.weight"].T + state[p + "ff.0.bias"])
        f = f @ state[p + "ff.2.weight"].T + state[p + "ff.2.bias"]
        x = torch.nn.functional.layer_norm(x + f, (DIM,), state[p + "norm2.weight"], state[p + "norm2.bias"])
    return x.mean(dim=1) @ state["fc.weight"].T + state["fc.bias"]


def read_safetensors(path):
    """The tensors and metadata of a safetensors file (F32 / F64 / I64 / I32), as torch tensors."""
    import struct

    import numpy as np

    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=np.dtype(dtypes[entry["dtype"]]).newbyteorder("<"))
        tensors[name] = torch.from_numpy(array.astype(dtypes[entry["dtype"]]).reshape(entry["shape"]))
    return tensors, metadata


def main():
    g = torch.Generator().manual_seed(2024)
    torch.manual_seed(2024)  # the constructor's own init draws from the global generator; init_notebook overwrites it
    model = SeedNotebook()
    count = trainable_count(model)
    assert count == PARAMETERS, f"{count} trainable parameters, expected {PARAMETERS}"
    init_notebook(model, g)
    model.double().eval()
    images = normalised_images(g)
    with torch.no_grad():
        logits = model(images)
        state = model.state_dict()
        manual = reference_logits(state, images)
        assert torch.allclose(logits, manual, rtol=0, atol=1e-12), (logits - manual).abs().max()
        assert model.tokens(images).shape == (BATCH, TOKENS, DIM)
        # The notebook's bug (attention across the batch) gives other logits: this fixture does not follow it.
        buggy = SeedNotebook()
        buggy.load_state_dict(state)
        for layer in buggy.transformer_layers:
            layer.attention.batch_first = False  # (B, T, C) read as (L, N, E): attends over the batch
        assert (buggy.double().eval()(images) - logits).abs().max() > 1e-3
        assert (logits[0] - logits[1]).abs().max() > 1e-2 and (logits[1] - logits[2]).abs().max() > 1e-2
        fp32 = SeedNotebook()
        fp32.load_state_dict({n: t.float() if t.is_floating_point() else t for n, t in state.items()})
        fp32_error = (fp32.eval()(images.float()).double() - logits).abs().max().item()

    tensors = dict(state)
    tensors["fixture.input"] = images
    tensors["fixture.logits"] = logits
    config = dict(image_size=IMAGE, in_channels=1, channels=list(CHANNELS), kernel=3, padding=1, conv_bias=True,
                  pool="maxpool2d(2) after the last conv", tokens=TOKENS, dim=DIM, heads=HEADS, layers=LAYERS,
                  hidden=HIDDEN, classes=CLASSES, attention="per image over tokens (batch_first=True)",
                  attention_bias=True, block="post-norm", pooling="mean", batch_norm_eps=1e-5, mode="eval",
                  input_normalisation=[MNIST_MEAN, MNIST_STD], batch=BATCH)
    metadata = {
        "config": json.dumps(config),
        "names": ",".join(state),
        "parameters": str(count),
        "fp32_max_abs_error": f"{fp32_error:.3g}",
        "description": "seed notebook model, notebook state_dict names, eval-mode logits of fixture.input "
                       "(tools/reference/seed_notebook.py)",
    }
    path = fixture_path("seed_notebook")
    save(path, tensors, metadata)

    # The file reloads into the notebook's module and reproduces the logits.
    saved, saved_metadata = read_safetensors(path)
    reloaded = SeedNotebook()
    reloaded.load_state_dict({n: t for n, t in saved.items() if not n.startswith("fixture.")}, strict=True)
    with torch.no_grad():
        again = reloaded.double().eval()(saved["fixture.input"].double())
    assert torch.equal(again.float(), saved["fixture.logits"]), (again - saved["fixture.logits"]).abs().max()
    assert saved_metadata["parameters"] == str(PARAMETERS)
    print(f"seed_notebook: {count:,} parameters, {len(state)} state_dict tensors, logits range "
          f"[{logits.min().item():.3f}, {logits.max().item():.3f}], fp32 forward max abs error {fp32_error:.2e}")


if __name__ == "__main__":
    main()
