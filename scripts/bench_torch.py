#!/usr/bin/env python3
"""A training step in PyTorch, timed: prints one JSON line {ms_per_step, device, ...}. The
reference pair (at --channels and --image-size) or --arch dcgan (pytorch/examples' model at --image-size, and
weights_init). Used by `npm run bench` for the ratio; run with /usr/bin/python3 (Debian's
python3-torch)."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))

import torch  # noqa: E402

import dcgan64_model  # noqa: E402
from reference_model import Discriminator, Generator, make_optimizers  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=64)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--device", default="cpu")
p.add_argument("--arch", choices=["reference", "dcgan", "dcgan64"], default="reference")
p.add_argument("--channels", type=int, default=1)
p.add_argument("--image-size", type=int, default=28)
p.add_argument("--nz", type=int, default=100)
p.add_argument("--ngf", type=int, default=64)
p.add_argument("--ndf", type=int, default=64)
p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (default: all cores; this machine's OpenMP otherwise picks 1)")
args = p.parse_args()
dev = torch.device(args.device)
torch.set_num_threads(args.threads)
torch.manual_seed(0)
if args.arch in ("dcgan", "dcgan64"):
    g = dcgan64_model.Generator(args.nz, args.ngf, args.channels, image_size=args.image_size)
    d = dcgan64_model.Discriminator(args.ndf, args.channels, image_size=args.image_size)
    g.apply(dcgan64_model.weights_init)
    d.apply(dcgan64_model.weights_init)
else:
    g, d = Generator(args.nz, 0, args.channels, args.image_size), Discriminator(0, "projection", args.channels, args.image_size)
g, d = g.to(dev), d.to(dev)
opt_g, opt_d = make_optimizers(g, d)
real = torch.rand(args.batch, args.channels, args.image_size, args.image_size, device=dev) * 2 - 1
crit = torch.nn.BCELoss()
out_shape = d(real).shape


def step():
    z = torch.randn(args.batch, args.nz, device=dev)
    ones, zeros = torch.ones(out_shape, device=dev), torch.zeros(out_shape, device=dev)
    opt_d.zero_grad()
    fake = g(z)
    d_loss = crit(d(real), ones) + crit(d(fake.detach()), zeros)
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = crit(d(fake), ones)
    g_loss.backward()
    opt_g.step()
    return d_loss


for _ in range(args.warmup):
    step()
if dev.type == "cuda":
    torch.cuda.synchronize()
t = time.perf_counter()
for _ in range(args.steps):
    loss = step()
loss.item()
if dev.type == "cuda":
    torch.cuda.synchronize()
ms = (time.perf_counter() - t) * 1000 / args.steps
name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else None
print(json.dumps({"ms_per_step": ms, "device": str(dev), "name": name, "threads": torch.get_num_threads(), "torch": torch.__version__, "batch": args.batch, "arch": args.arch}))
