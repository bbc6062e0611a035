#!/usr/bin/env bash
# `npm run gpu-check`: on a machine with a GPU, in one go: the matmul, op and training-step
# parity tests on the hardware adapter (`gpu`), one step's roofline profile (timestamp queries),
# the training-step benchmark on it (fixed matmul choice and autotuned; explicit and implicit
# convolutions; 1, 8 and 32 steps per submit) and the reference step in PyTorch on CUDA and on
# the CPU in the same command. Needs the project built (npm ci does it) and, for the PyTorch
# rows, a python3 that imports torch with CUDA. Uses `node` from PATH (no npm needed); a machine
# without Node runs it from `npm run gpu-bundle`'s folder instead.
#
# WEBGPU_DCGAN_GPU_CHECK_BACKEND (default gpu) runs the same checks on another adapter, e.g.
# `gles` to try a bundle on a CPU machine; WEBGPU_DCGAN_GPU_CHECK_TORCH (default cuda,cpu, or
# none) the PyTorch devices; STEPS (default 100) the bench's steps; the profile's run and trace
# go to GPU_CHECK_OUT (default out/gpu-check).
set -uo pipefail
cd "$(dirname "$0")/.."
backend=${WEBGPU_DCGAN_GPU_CHECK_BACKEND:-gpu}
torch=${WEBGPU_DCGAN_GPU_CHECK_TORCH:-cuda,cpu}
steps=${STEPS:-100}
out=${GPU_CHECK_OUT:-out/gpu-check}
torch_flags=(--torch-device "$torch")
[ "$torch" = none ] && torch_flags=(--no-torch)
status=0
echo "== parity tests on the $backend adapter"
WEBGPU_DCGAN_TEST_BACKENDS=$backend node node_modules/vitest/vitest.mjs run test/matmul.test.ts test/ops.test.ts test/step.test.ts || status=1
echo "== one step's roofline profile"
rm -rf "$out/profile-run"
node bin/webgpu-dcgan.js train --backend "$backend" --max-steps 3 --profile --out "$out/profile-run" || status=1
echo "== training step: WebGPU on the $backend adapter, PyTorch on $torch"
node bin/webgpu-dcgan.js bench --backend "$backend" --tune off,quick "${torch_flags[@]}" --steps "$steps" || status=1
node bin/webgpu-dcgan.js bench --backend "$backend" --tune quick --steps-per-submit 1,8,32 --no-torch --steps "$steps" || status=1
# The implicit-GEMM convolutions are `auto` only on CPU adapters until measured here.
node bin/webgpu-dcgan.js bench --backend "$backend" --tune quick --conv explicit,implicit --no-torch --steps "$steps" || status=1
exit $status
