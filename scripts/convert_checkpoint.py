#!/usr/bin/env python3
"""Convert between the reference notebook's PyTorch checkpoints (.pt state_dicts, torch.save) and
webgpu-dcgan's safetensors files, both ways. Run with /usr/bin/python3 (Debian's python3-torch).

  convert_checkpoint.py to-safetensors generator.pt generator.safetensors [--model generator]
  convert_checkpoint.py to-pt generator.safetensors generator.pt [--model generator]
  convert_checkpoint.py to-safetensors g.pt g.safetensors --conditional projection [--classes 10]

A conditional pair (train --conditional) loads into reference_model.Generator(n_classes=K) /
Discriminator(n_classes=K, head=HEAD): to-pt reads that from the file's metadata; to-safetensors
takes --conditional HEAD (and --classes, --class-names) and writes it into the metadata. Both directions load the state_dict into the reference model first (load_state_dict, strict), so
a file that does not fit the reference model is an error, not a silent partial conversion.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures"))

import torch  # noqa: E402

import safetensors_io  # noqa: E402
from reference_model import Discriminator, Generator  # noqa: E402


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
    args = p.parse_args()
    kind = args.model or guess_model(args.src)
    head, classes = args.conditional, args.classes
    if args.direction == "to-pt":
        meta = safetensors_io.metadata(args.src)
        if meta.get("conditional", "none") != "none":
            head, classes = meta["conditional"], int(meta["classes"])
    n_classes = classes if head else 0
    model = Generator(n_classes=n_classes) if kind == "generator" else Discriminator(n_classes=n_classes, head=head or "projection")
    if args.direction == "to-safetensors":
        state = torch.load(args.src, map_location="cpu")
        if isinstance(state, torch.nn.Module):
            state = state.state_dict()
        model.load_state_dict(state, strict=True)
        tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        latent = str(tensors["model.0.weight"].shape[1] - n_classes) if kind == "generator" else "100"
        meta = {"format": "webgpu-dcgan-checkpoint", "format_version": "1", "latent_dim": latent, "source": os.path.basename(args.src)}
        if head:
            names = args.class_names.split(",") if args.class_names else [str(k) for k in range(classes)]
            if len(names) != classes:
                p.error(f"--class-names: {len(names)} names for --classes {classes}")
            meta.update({"conditional": head, "classes": str(classes), "class_names": json.dumps(names)})
        safetensors_io.save(tensors, args.dst, meta)
    else:
        tensors = safetensors_io.load(args.src)
        model.load_state_dict(tensors, strict=True)
        torch.save(model.state_dict(), args.dst)
    what = f"{kind}, conditional on {classes} classes ({head} head)" if head else kind
    print(f"{args.src} -> {args.dst} ({what}, {len(model.state_dict())} tensors)")


if __name__ == "__main__":
    main()
