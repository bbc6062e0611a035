#!/usr/bin/env bash
# `npm run gpu-check`: on a machine with a GPU, in one go: the matmul, op and training-step
# parity tests on the hardware adapter (`gpu`), the training-step benchmark on it (fixed matmul
# choice and autotuned; explicit and implicit convolutions), and the reference step in PyTorch on CUDA and on the CPU in the same
# command, with one table at the end. Needs the project built (npm ci does it) and, for the
# PyTorch rows, a python3 that imports torch with CUDA. Uses `node` from PATH (no npm needed).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
echo "== parity tests on the hardware adapter"
WEBGPU_DCGAN_TEST_BACKENDS=gpu node node_modules/vitest/vitest.mjs run test/matmul.test.ts test/ops.test.ts test/step.test.ts || status=1
echo "== training step: WebGPU on the GPU, PyTorch on CUDA and CPU"
node bin/webgpu-dcgan.js bench --backend gpu --tune off,quick --torch-device cuda,cpu --steps "${STEPS:-100}" || status=1
node bin/webgpu-dcgan.js bench --backend gpu --tune quick --steps-per-submit 1 --no-torch --steps "${STEPS:-100}" || status=1
# The implicit-GEMM convolutions are `auto` only on CPU adapters until measured here.
node bin/webgpu-dcgan.js bench --backend gpu --tune quick --conv explicit,implicit --no-torch --steps "${STEPS:-100}" || status=1
exit $status
