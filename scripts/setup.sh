#!/usr/bin/env bash
# Installs what webgpu-dcgan needs on Debian 12 (root, no GPU needed) and the npm dependencies.
#   chromium + libvulkan1                           SwiftShader, a Vulkan CPU adapter (and the browser for web tests;
#   fonts-liberation                                its text needs a font)
#   libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri   Mesa llvmpipe through OpenGL ES, the faster CPU adapter
#   dataset-fashion-mnist                           Fashion-MNIST for --data fashion
# Skips apt entirely when everything is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(chromium fonts-liberation libvulkan1 libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri dataset-fashion-mnist)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
npm ci --no-audit --no-fund
