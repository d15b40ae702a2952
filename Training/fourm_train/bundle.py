"""Assembles the trained files into a FourM bundle folder (bundle.json + checkpoints + vocab)."""
import argparse
import json
import os
import shutil

from .fourm import TOKENIZER_OF
from .text import CLASS_NAMES, write_tokenizer
from .vqvae import PRESETS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizers", required=True, help="folder with tok_<name>.safetensors")
    ap.add_argument("--model", required=True, help="the 4M checkpoint")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    shutil.copyfile(args.model, os.path.join(args.out, "fourm_demo.safetensors"))
    tokenizers = {}
    for modality, name in TOKENIZER_OF.items():
        file = f"tok_{name}.safetensors"
        shutil.copyfile(os.path.join(args.tokenizers, file), os.path.join(args.out, file))
        tokenizers[modality] = file
    write_tokenizer(os.path.join(args.out, "text_tokenizer_demo.json"))
    bundle = {
        "model": "fourm_demo.safetensors",
        "text_tokenizer": "text_tokenizer_demo.json",
        "tokenizers": tokenizers,
        "tokenizer_presets": PRESETS,
        "semseg_classes": ["background", *CLASS_NAMES],
    }
    with open(os.path.join(args.out, "bundle.json"), "w") as f:
        json.dump(bundle, f, indent=2, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
