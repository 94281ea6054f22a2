"""Compact Convolutional Transformer as plain PyTorch modules: the reference the C# CctModel is checked against.

Two layouts share one skeleton so the C# side can map parameters by name:

* "official": SHI-Labs/Compact-Transformers (src/cct.py, src/utils/tokenizer.py, src/utils/transformers.py).
  The module tree mirrors theirs, so state_dict names are identical to an official checkpoint's:
  tokenizer.conv_layers.{i}.0.weight, classifier.positional_emb, classifier.attention_pool.*,
  classifier.blocks.{j}.{pre_norm,self_attn.qkv,self_attn.proj,linear1,norm1,linear2}.*, classifier.norm.*,
  classifier.fc.*.
* "post-norm": the seed notebook's model. Conv -> BatchNorm -> ReLU per conv layer, one MaxPool2d(2, 2) after
  the last; blocks x = norm1(x + attn(x)); x = norm2(x + linear2(relu(linear1(x)))); no final norm; mean pooling.

Dropout, attention dropout and stochastic depth are left out: the fixtures need a deterministic model
(all rates 0), and at rate 0 the official modules are identities.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

LAYOUTS = ("official", "post-norm")


class Tokenizer(nn.Module):
    """Image (B, in, H, W) -> tokens (B, T, dim).

    Channels in -> mid -> ... -> mid -> dim. Official: each conv_layers[i] is Conv, ReLU, MaxPool2d(3, 2, 1).
    Post-norm: each is Conv, BatchNorm2d, ReLU, and the last one also ends with MaxPool2d(2, 2).
    """

    def __init__(self, in_channels, dim, conv_layers, kernel, mid_channels=64, layout="official"):
        super().__init__()
        channels = [in_channels] + [mid_channels] * (conv_layers - 1) + [dim]
        stages = []
        for i in range(conv_layers):
            conv = nn.Conv2d(channels[i], channels[i + 1], kernel, stride=1, padding=kernel // 2, bias=False)
            if layout == "official":
                stages.append(nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(3, 2, 1)))
            else:
                # Index 1 must stay the BatchNorm so its names are conv_layers.{i}.1.*; the single pool has no
                # parameters, so appending it to the last stage keeps every name stable.
                modules = [conv, nn.BatchNorm2d(channels[i + 1]), nn.ReLU()]
                if i == conv_layers - 1:
                    modules.append(nn.MaxPool2d(2, 2, 0))
                stages.append(nn.Sequential(*modules))
        self.conv_layers = nn.Sequential(*stages)

    def sequence_length(self, in_channels, height, width):
        with torch.no_grad():
            was_training = self.training
            self.eval()  # BatchNorm must not touch its running statistics for a shape probe
            probe = torch.zeros(1, in_channels, height, width, dtype=self.conv_layers[0][0].weight.dtype)
            length = self.forward(probe).shape[1]
            self.train(was_training)
        return length

    def forward(self, x):
        return self.conv_layers(x).flatten(2, 3).transpose(-2, -1)


class Attention(nn.Module):
    """Multi-head self-attention: qkv without bias, reshaped (B, T, 3, H, hs); proj with bias."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        att = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)  # (B, H, T, T)
        return self.proj((att @ v).transpose(1, 2).reshape(b, t, c))


class OfficialBlock(nn.Module):
    """CCT's TransformerEncoderLayer: pre-norm attention, then norm1, then a GELU (erf) MLP residual."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        # Registration order matches the official module, so named_parameters() order matches too.
        self.pre_norm = nn.LayerNorm(dim)
        self.self_attn = Attention(dim, heads)
        self.linear1 = nn.Linear(dim, hidden)
        self.norm1 = nn.LayerNorm(dim)
        self.linear2 = nn.Linear(hidden, dim)

    def forward(self, x):
        x = x + self.self_attn(self.pre_norm(x))
        x = self.norm1(x)
        return x + self.linear2(F.gelu(self.linear1(x)))


class PostNormBlock(nn.Module):
    """torch.nn.TransformerEncoderLayer(norm_first=False, activation=relu), with CCT's attention (qkv w/o bias)."""

    def __init__(self, dim, heads, hidden):
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.linear1 = nn.Linear(dim, hidden)
        self.linear2 = nn.Linear(hidden, dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x):
        x = self.norm1(x + self.self_attn(x))
        return self.norm2(x + self.linear2(F.relu(self.linear1(x))))


def sinusoidal_embedding(length, dim):
    """The official fixed table (1, T, C): angle p / 10000^(2*(i//2)/C), sin on even channels, cos on odd."""
    angles = torch.tensor([[p / (10000 ** (2 * (i // 2) / dim)) for i in range(dim)] for p in range(length)])
    table = angles.clone()
    table[:, 0::2] = torch.sin(angles[:, 0::2])
    table[:, 1::2] = torch.cos(angles[:, 1::2])
    return table.unsqueeze(0)


class TransformerClassifier(nn.Module):
    """Tokens (B, T, C) -> logits (B, classes): positional embedding, blocks, pooling, fc."""

    def __init__(self, tokens, dim, layers, heads, mlp_ratio, classes, layout="official", pos_emb="learnable"):
        super().__init__()
        self.layout = layout
        hidden = int(dim * mlp_ratio)
        if layout == "official":
            self.attention_pool = nn.Linear(dim, 1)
        if pos_emb == "learnable":
            self.positional_emb = nn.Parameter(torch.empty(1, tokens, dim))
            nn.init.trunc_normal_(self.positional_emb, std=0.2)
        elif pos_emb == "sine":
            # A buffer, not a parameter: it is in state_dict (same name as official) but never trained.
            self.register_buffer("positional_emb", sinusoidal_embedding(tokens, dim))
        else:
            self.positional_emb = None
        block = OfficialBlock if layout == "official" else PostNormBlock
        self.blocks = nn.ModuleList([block(dim, heads, hidden) for _ in range(layers)])
        if layout == "official":
            self.norm = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        if self.positional_emb is not None:
            x = x + self.positional_emb
        for blk in self.blocks:
            x = blk(x)
        if self.layout == "official":
            x = self.norm(x)
            weights = F.softmax(self.attention_pool(x), dim=1)  # (B, T, 1): SeqPool over tokens
            x = (weights.transpose(-1, -2) @ x).squeeze(-2)
        else:
            x = x.mean(dim=1)
        return self.fc(x)


class CCT(nn.Module):
    def __init__(self, image_size=32, in_channels=3, conv_layers=1, kernel=3, mid_channels=64, dim=256, layers=7,
                 heads=4, mlp_ratio=2, classes=10, layout="official", pos_emb="learnable"):
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}")
        if dim % heads:
            raise ValueError("dim must be divisible by heads")
        self.tokenizer = Tokenizer(in_channels, dim, conv_layers, kernel, mid_channels, layout)
        self.tokens = self.tokenizer.sequence_length(in_channels, image_size, image_size)
        self.classifier = TransformerClassifier(self.tokens, dim, layers, heads, mlp_ratio, classes, layout, pos_emb)

    def forward(self, x):
        return self.classifier(self.tokenizer(x))


def init_small(model, generator):
    """Deterministic non-trivial init: weights N(0, 0.3), biases N(0, 0.1), norm weights 1 + 0.1 N(0, 1),
    BN running_mean 0 / running_var 1. Values are rounded to fp32 so the float64 reference starts exactly
    where the fp32 C# model starts."""
    with torch.no_grad():
        for module in model.modules():
            is_norm = isinstance(module, (nn.LayerNorm, nn.BatchNorm2d))
            for name, p in module.named_parameters(recurse=False):
                noise = torch.randn(p.shape, generator=generator, dtype=torch.float64)
                if is_norm and name == "weight":
                    value = 1 + 0.1 * noise
                elif name == "bias":
                    value = 0.1 * noise
                else:
                    value = 0.3 * noise
                p.copy_(value.to(torch.float32).to(p.dtype))
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.zero_()
                module.running_var.fill_(1)
