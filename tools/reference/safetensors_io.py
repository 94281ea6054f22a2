"""Minimal safetensors writer for reference fixtures (PyTorch 1.13 ships no safetensors package).

Layout: 8-byte little-endian header length, JSON header, raw little-endian data.
"""
import json
import struct

import numpy as np
import torch

_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64", np.dtype("int64"): "I64", np.dtype("int32"): "I32"}


def save(path, tensors, metadata=None):
    """Writes {name: tensor} to path. Floating tensors are stored as F32, integer ones as I64."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, value in tensors.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            value = value.to(torch.float32) if value.is_floating_point() else value.to(torch.int64)
            array = value.numpy()
        else:
            array = np.asarray(value)
            array = array.astype(np.float32) if array.dtype.kind == "f" else array.astype(np.int64)
        array = np.ascontiguousarray(array).reshape(array.shape)  # ascontiguousarray makes 0-d arrays 1-d
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _DTYPES[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def fixture_path(name):
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    folder = os.path.join(here, "..", "..", "Cct.Tests", "Fixtures")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name + ".safetensors")


def fp32_inputs(*shape, generator, scale=1.0):
    """Random inputs that are exactly representable in fp32, returned as float64 for the reference math."""
    return (torch.randn(*shape, generator=generator) * scale).to(torch.float32).to(torch.float64)
