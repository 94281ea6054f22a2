#!/usr/bin/env python3
"""Converts the seed notebook's torch.save'd state_dict (.pt / .pth) to a safetensors file that Cct reads.

The tensors keep the notebook's names (pos_embedding, conv_layers.{0,1,4,5,...}.*, transformer_layers.{i}.*,
fc.*); Cct maps them to its own names when it loads the file (Cct.Gpu/IO/NotebookStateDict.cs). Floating
tensors are written as F32, num_batches_tracked as I64. Every name the notebook's model has must be present
with its shape (tools/reference/seed_notebook.py defines the model), and no other name may be.

Usage: /usr/bin/python3 tools/notebook_to_safetensors.py model.pth [-o model.safetensors]

Needs PyTorch (Debian's python3-torch is /usr/bin/python3). Accepts a plain state_dict, a checkpoint dict that
holds one under "state_dict" or "model_state_dict", and names prefixed "module." (nn.DataParallel).
"""
import argparse
import inspect
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def load_state_dict(path, torch):
    """The file's {name: tensor}, or a one-line error."""
    kwargs = {"map_location": "cpu"}
    if "weights_only" in inspect.signature(torch.load).parameters:
        kwargs["weights_only"] = True  # tensors and plain containers only: no arbitrary pickled code
    try:
        loaded = torch.load(path, **kwargs)
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except Exception as e:  # pickle, zip and torch errors all mean the same here
        detail = " ".join(str(e).split()).split(". ")[0][:160]
        fail(f"{path}: not a torch.save'd state_dict ({type(e).__name__}: {detail}; "
             "save model.state_dict(), not the whole model)")
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict"):
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not loaded or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        fail(f"{path}: not a state_dict (expected a dict of tensors, got {type(loaded).__name__})")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in loaded.items()}


def check_names(path, state, expected):
    """Every expected notebook name with its shape; num_batches_tracked may be missing; nothing else."""
    missing = [n for n in expected if n not in state and not n.endswith("num_batches_tracked")]
    if missing:
        fail(f"{path}: missing notebook tensor {missing[0]}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    unknown = [n for n in state if n not in expected]
    if unknown:
        fail(f"{path}: unknown tensor {unknown[0]} (not in the seed notebook's model)"
             + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))
    for name, shape in expected.items():
        if name in state and tuple(state[name].shape) != shape and not name.endswith("num_batches_tracked"):
            fail(f"{path}: tensor {name} has shape {tuple(state[name].shape)}, the notebook's model has {shape}")


def main():
    parser = argparse.ArgumentParser(description="Convert the seed notebook's torch.save'd state_dict to safetensors (notebook names kept).")
    parser.add_argument("checkpoint", help="the notebook's .pt / .pth state_dict")
    parser.add_argument("-o", "--output", help="output .safetensors (default: the checkpoint's name with .safetensors)")
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        fail("PyTorch is not installed for this python (Debian's python3-torch is /usr/bin/python3)")
    from safetensors_io import save
    from seed_notebook import PARAMETERS, expected_shapes

    state = load_state_dict(args.checkpoint, torch)
    expected = expected_shapes()
    check_names(args.checkpoint, state, expected)

    tensors = {}
    for name in expected:  # the notebook's state_dict order
        if name in state:
            value = state[name].detach().cpu()
            tensors[name] = value.to(torch.float32) if value.is_floating_point() else value.to(torch.int64)
    parameters = sum(t.numel() for n, t in tensors.items() if not n.endswith(("running_mean", "running_var", "num_batches_tracked")))
    if parameters != PARAMETERS:
        fail(f"{args.checkpoint}: {parameters} trainable values, the notebook's model has {PARAMETERS}")

    output = args.output or os.path.splitext(args.checkpoint)[0] + ".safetensors"
    metadata = {"format": "seed-notebook", "source": os.path.basename(args.checkpoint), "parameters": str(parameters)}
    try:
        save(output, tensors, metadata)
    except OSError as e:
        fail(f"{output}: cannot write ({e.strerror})")
    print(f"{output}: {len(tensors)} tensors, {parameters:,} parameters (notebook names)")


if __name__ == "__main__":
    main()
