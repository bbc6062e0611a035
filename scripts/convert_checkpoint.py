#!/usr/bin/env python3
"""Convert between the reference notebook's PyTorch checkpoints (.pt state_dicts, torch.save) and
webgpu-dcgan's safetensors files, both ways. Run with /usr/bin/python3 (Debian's python3-torch).

  convert_checkpoint.py to-safetensors generator.pt generator.safetensors [--model generator]
  convert_checkpoint.py to-pt generator.safetensors generator.pt [--model generator]

Both directions load the state_dict into the reference model first (load_state_dict, strict), so
a file that does not fit the reference model is an error, not a silent partial conversion.
"""
import argparse
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
    args = p.parse_args()
    kind = args.model or guess_model(args.src)
    model = Generator() if kind == "generator" else Discriminator()
    if args.direction == "to-safetensors":
        state = torch.load(args.src, map_location="cpu")
        if isinstance(state, torch.nn.Module):
            state = state.state_dict()
        model.load_state_dict(state, strict=True)
        tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        latent = str(tensors["model.0.weight"].shape[1]) if kind == "generator" else "100"
        safetensors_io.save(tensors, args.dst, {"format": "webgpu-dcgan-checkpoint", "format_version": "1", "latent_dim": latent, "source": os.path.basename(args.src)})
    else:
        tensors = safetensors_io.load(args.src)
        model.load_state_dict(tensors, strict=True)
        torch.save(model.state_dict(), args.dst)
    print(f"{args.src} -> {args.dst} ({kind}, {len(model.state_dict())} tensors)")


if __name__ == "__main__":
    main()
