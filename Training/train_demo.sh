#!/usr/bin/env bash
# Retrains FourM's embedded demo model from scratch on 2 CPU cores (see README.md).
# Usage: Training/train_demo.sh [WORK_DIR]   (default: /tmp/fourm-demo-training)
#        SMOKE=1 Training/train_demo.sh /tmp/smoke   runs every stage at toy size in a few minutes
#        and leaves the package untouched (the bundle and parity file stay in WORK_DIR).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
work="${1:-/tmp/fourm-demo-training}"
smoke="${SMOKE:-0}"
if [ "$smoke" = 1 ]; then
    scenes=200; tok_steps=20; rgb_steps=20; minutes=0.5; fm_steps=40
else
    scenes=30000; tok_steps=2500; rgb_steps=3000; minutes=60; fm_steps=12000
fi
last=$(printf 'scene_%06d.json' $((scenes - 1)))
mkdir -p "$work"
cd "$repo"
swift build -c release --product fourm
fourm="$repo/.build/release/fourm"

# 1. The world: 30 000 training scenes (seed 1) and 8 held-out scenes for the parity file (seed 3).
[ -f "$work/train/$last" ] || "$fourm" synth --out "$work/train" --count "$scenes" --seed 1
[ -f "$work/heldout/scene_000007.json" ] || "$fourm" synth --out "$work/heldout" --count 8 --seed 3

cd "$here"
# 2. Five ViT VQ-VAE tokenizers, two at a time on one thread each (about 20 minutes).
OMP_NUM_THREADS=1 python3 -m fourm_train.vqvae --data "$work/train" --out "$work/tokenizers" --modalities rgb,semseg,canny_edge --steps "$tok_steps" --batch 32 > "$work/tokenizers_a.log" 2>&1 &
OMP_NUM_THREADS=1 python3 -m fourm_train.vqvae --data "$work/train" --out "$work/tokenizers" --modalities normal,depth --steps "$tok_steps" --batch 32 > "$work/tokenizers_b.log" 2>&1 &
wait
# The RGB tokenizer gets a second stage: small objects need it.
cp "$work/tokenizers/tok_rgb.safetensors" "$work/tok_rgb_stage1.safetensors"
OMP_NUM_THREADS=1 python3 -m fourm_train.vqvae --data "$work/train" --out "$work/tokenizers" --modalities rgb --steps "$rgb_steps" --batch 32 --lr 7e-4 --resume "$work/tok_rgb_stage1.safetensors" > "$work/tokenizers_rgb2.log" 2>&1

# 3. The 4M model (about an hour; --minutes shrinks the step count to fit).
OMP_NUM_THREADS=2 python3 -m fourm_train.fourm --data "$work/train" --tokenizers "$work/tokenizers" --out "$work/fourm" --steps "$fm_steps" --minutes "$minutes" > "$work/fourm.log" 2>&1

# 4. Bundle, parity data for the Swift tests, and the copy the package ships.
python3 -m fourm_train.bundle --tokenizers "$work/tokenizers" --model "$work/fourm/fourm_demo.safetensors" --out "$work/bundle"
if [ "$smoke" = 1 ]; then
    python3 -m fourm_train.parity --bundle "$work/bundle" --scenes "$work/heldout" --out "$work/demo_parity.safetensors"
    "$fourm" eval --bundle "$work/bundle" --count 4 --baseline-scenes 4 --example-count 1 --report "$work/Quality.md" --examples "$work/Quality"
    echo "smoke run done: every stage ran; the package is unchanged"
    exit 0
fi
python3 -m fourm_train.parity --bundle "$work/bundle" --scenes "$work/heldout" --out "$repo/Tests/FourMTests/DemoParity/demo_parity.safetensors"
rm -rf "$repo/Sources/FourM/Resources/DemoModel"
cp -r "$work/bundle" "$repo/Sources/FourM/Resources/DemoModel"
echo "done: the demo model is in Sources/FourM/Resources/DemoModel; run 'swift run -c release fourm eval' for the quality table"
