#!/usr/bin/env python3
"""Convert between the reference notebook's PyTorch checkpoints (.pt state_dicts, torch.save) and
webgpu-dcgan's safetensors files, both ways. Run with /usr/bin/python3 (Debian's python3-torch).

  convert_checkpoint.py to-safetensors generator.pt generator.safetensors [--model generator]
  convert_checkpoint.py to-pt generator.safetensors generator.pt [--model generator]
  convert_checkpoint.py to-safetensors g.pt g.safetensors --conditional projection [--classes 10]
  convert_checkpoint.py to-safetensors generator.pt generator-half.safetensors --dtype F16

The model follows from the tensors: pytorch/examples' dcgan (`main.0.weight`, train --arch
dcgan, at 32 to 256 pixels) loads into fixtures/dcgan64_model.py's Generator / Discriminator
(pytorch/examples' classes, its nz, ngf, ndf, nc and image size read from the shapes); the reference's keys (`model.0.weight`)
into reference_model.py's, channels and image size (28 or 32) read from the shapes.

A conditional pair (train --conditional) loads into Generator(n_classes=K) /
Discriminator(n_classes=K, head=HEAD): to-pt reads that from the file's metadata; to-safetensors
takes --conditional HEAD (and --classes, --class-names) and writes it into the metadata. Both
directions load the state_dict into the model first (load_state_dict, strict), so a file that
does not fit it is an error, not a silent partial conversion.

--dtype F16 (or BF16) stores the float32 tensors in half precision, as tensor.half() rounds, for
embedding (webgpu-dcgan's `export` writes the same); to-pt reads such a file into the float32
model (load_state_dict widens it).
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures"))

import torch  # noqa: E402

import dcgan64_model  # noqa: E402
import safetensors_io  # noqa: E402
from reference_model import Discriminator, Generator, spectral_normalised  # noqa: E402


def build(kind: str, state: dict, n_classes: int, head: str):
    """The model the state_dict's shapes describe, and the metadata our checkpoints give it. A
    discriminator whose weights are `weight_orig` (train --spectral-norm) is built wrapped with
    torch.nn.utils.spectral_norm, so the state_dict loads strictly both ways."""
    if any(k.endswith(".weight_orig") for k in state):
        plain = {k.replace(".weight_orig", ".weight"): v for k, v in state.items() if not k.endswith((".weight_u", ".weight_v"))}
        model, meta = build(kind, plain, n_classes, head)
        return spectral_normalised(model), {**meta, "spectral_norm": "true"}
    # D's BatchNorm2d layers, or --d-norm none's nn.Identity in their places (no keys).
    batchnorm = kind == "generator" or any(k.endswith(".running_mean") for k in state)
    norm = {} if batchnorm else {"d_norm": "none"}
    if "main.0.weight" in state:
        # The dcgan family: its last layer is main.{3 (blocks + 1)} (main.12 at 64 px, 3 more per doubling).
        last = max(int(k.split(".")[1]) for k, v in state.items() if k.startswith("main.") and k.endswith(".weight") and v.dim() == 4)
        size = 2 ** (last // 3 + 2) if kind == "generator" else 2 ** ((last + 1) // 3 + 2)
        if kind == "generator":
            w, lastw = state["main.0.weight"], state[f"main.{last}.weight"]
            nz, ngf, nc = w.shape[0] - n_classes, w.shape[1] // (size // 8), lastw.shape[1]
            model, ndf = dcgan64_model.Generator(nz, ngf, nc, n_classes, image_size=size), 64
        else:
            w = state["main.0.weight"]
            nz, ndf, nc, ngf = 100, w.shape[0], w.shape[1], 64
            model = dcgan64_model.Discriminator(ndf, nc, n_classes, head, image_size=size, batchnorm=batchnorm)
        arch = "dcgan64" if size == 64 else "dcgan"
        return model, {"latent_dim": str(nz), "arch": arch, "channels": str(nc), "image_size": str(size), "ngf": str(ngf), "ndf": str(ndf), **norm}
    if kind == "generator":
        w = state["model.0.weight"]
        nz, nc, side = w.shape[1] - n_classes, state["model.7.weight"].shape[1], round((w.shape[0] / 128) ** 0.5)
        model = Generator(nz, n_classes, nc, 4 * side)
    else:
        nz, nc, side = 100, state["model.0.weight"].shape[1], round((state["model.6.weight"].shape[1] / 128) ** 0.5)
        model = Discriminator(n_classes, head, nc, 4 * side, batchnorm=batchnorm)
    shape = {} if (nc, 4 * side) == (1, 28) else {"arch": "reference", "channels": str(nc), "image_size": str(4 * side)}
    return model, {"latent_dim": str(nz), **shape, **norm}


def guess_model(path: str) -> str:
    name = os.path.basename(path).lower()
    if "disc" in name or name.startswith("d"):
        return "discriminator"
    return "generator"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("direction", choices=["to-safetensors", "to-pt"])
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--model", choices=["generator", "discriminator"], help="default: guessed from the file name")
    p.add_argument("--conditional", choices=["projection", "acgan"], help="to-safetensors: the .pt is a conditional pair's model with this head")
    p.add_argument("--classes", type=int, default=10, help="classes of a conditional model (default 10)")
    p.add_argument("--class-names", help="comma-separated class names (default: the digits 0..K-1)")
    p.add_argument("--dtype", choices=["F32", "F16", "BF16"], default="F32", help="to-safetensors: how the float tensors are stored (default F32)")
    args = p.parse_args()
    kind = args.model or guess_model(args.src)
    head, classes = args.conditional, args.classes
    if args.direction == "to-pt":
        meta = safetensors_io.metadata(args.src)
        if meta.get("conditional", "none") != "none":
            head, classes = meta["conditional"], int(meta["classes"])
    n_classes = classes if head else 0
    if args.direction == "to-safetensors":
        state = torch.load(args.src, map_location="cpu")
        if isinstance(state, torch.nn.Module):
            state = state.state_dict()
        model, shape_meta = build(kind, state, n_classes, head or "projection")
        model.load_state_dict(state, strict=True)
        half = {"F16": torch.float16, "BF16": torch.bfloat16}.get(args.dtype)
        if half == torch.float16 and any(v.is_floating_point() and v.abs().max() > 65504 for v in model.state_dict().values()):
            p.error("--dtype F16: a tensor holds a value beyond float16's 65504; use --dtype BF16")
        tensors = {k: (v.to(half) if half and v.is_floating_point() else v).detach().contiguous() for k, v in model.state_dict().items()}
        meta = {"format": "webgpu-dcgan-checkpoint", "format_version": "1", **shape_meta, "source": os.path.basename(args.src)}
        if half:
            meta["stored_as"] = args.dtype
        if head:
            names = args.class_names.split(",") if args.class_names else [str(k) for k in range(classes)]
            if len(names) != classes:
                p.error(f"--class-names: {len(names)} names for --classes {classes}")
            meta.update({"conditional": head, "classes": str(classes), "class_names": json.dumps(names)})
        safetensors_io.save(tensors, args.dst, meta)
    else:
        tensors = safetensors_io.load(args.src)
        model, _ = build(kind, tensors, n_classes, head or "projection")
        model.load_state_dict(tensors, strict=True)
        torch.save(model.state_dict(), args.dst)
    what = f"{kind}, conditional on {classes} classes ({head} head)" if head else kind
    print(f"{args.src} -> {args.dst} ({what}, {len(model.state_dict())} tensors)")


if __name__ == "__main__":
    main()
