"""Writes golden data from the exported (F16) demo checkpoints, computed by this trainer's
PyTorch modules, for the Swift parity test `DemoModelTests` (Tests/FourMTests/DemoParity)."""
import argparse
import json
import os

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file
from safetensors.torch import load_file

from .data import load_scenes, modality_pixels
from .fourm import DOMAINS_IN, DOMAINS_OUT, TOKENIZER_OF, FourM, Masker, collate, prepare_scenes
from .text import Tokenizer, build_vocab, sequences
from .vqvae import load as load_tokenizer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--scenes", required=True, help="a folder of `fourm synth` scenes not used in training")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=4)
    args = ap.parse_args()
    torch.manual_seed(0)
    data = load_scenes(args.scenes, args.count)
    out, meta = {}, {}
    tokens = {}
    for m, name in TOKENIZER_OF.items():
        tok = load_tokenizer(os.path.join(args.bundle, f"tok_{name}.safetensors"), name)
        x = torch.from_numpy(modality_pixels(data, name))
        with torch.no_grad():
            z = tok.encode_latent(x)
            zhat = torch.nn.functional.normalize(z.permute(0, 2, 3, 1), dim=-1)
            ehat = torch.nn.functional.normalize(tok.quantize._codebook.embed, dim=-1)
            sims = zhat @ ehat.T
            top2 = sims.topk(2, dim=-1).values
            ids = sims.argmax(dim=-1)
            decoded = tok.decode_tokens(ids)
        out[f"tok.{name}.input"] = x.numpy().astype(np.int32 if name == "semseg" else np.float32)
        out[f"tok.{name}.tokens"] = ids.numpy().astype(np.int32)
        out[f"tok.{name}.top2_gap"] = (top2[..., 0] - top2[..., 1]).numpy().astype(np.float32)
        out[f"tok.{name}.decoded"] = decoded.numpy().astype(np.float32)
        tokens[m] = ids.reshape(ids.shape[0], -1).numpy()
    tokenizer = Tokenizer(build_vocab())
    texts = []
    for i, record in enumerate(data["records"]):
        for key, text in sequences(record).items():
            for j, t in enumerate(text if isinstance(text, list) else [text]):
                out[f"text.{len(texts)}.ids"] = np.array(tokenizer.encode(t), dtype=np.int32)
                texts.append(t)
    meta["texts"] = json.dumps(texts)
    state = {k: v.float() for k, v in load_file(os.path.join(args.bundle, "fourm_demo.safetensors")).items()}
    with safe_open(os.path.join(args.bundle, "fourm_demo.safetensors"), "pt") as f:
        cfg = f.metadata()
    model = FourM(int(cfg["dim"]), int(cfg["encoder_depth"]), int(cfg["decoder_depth"]), int(cfg["num_heads"]), len(tokenizer.tokens))
    model.load_state_dict(state)
    model.eval()
    scenes = prepare_scenes(data, tokens, tokenizer)
    masker = Masker(64, 64, seed=7)
    samples = [masker.sample(s) for s in scenes]
    batch = collate(samples)
    with torch.no_grad():
        losses = model(batch, 64, 64)
    for m in DOMAINS_IN:
        rec = batch[m]
        out[f"in.{m}.tensor"] = rec["tensor"].numpy().astype(np.float32 if m == "rgb@64" else np.int32)
        out[f"in.{m}.input_mask"] = rec["input_mask"].numpy()
        out[f"in.{m}.target_mask"] = rec["target_mask"].numpy()
        out[f"in.{m}.decoder_attention_mask"] = rec["dam"].numpy().astype(np.int32)
    for m, v in losses.items():
        out[f"loss.{m}"] = np.array([v.item()], dtype=np.float32)
    meta["order"] = json.dumps(DOMAINS_IN)
    meta["decoder_order"] = json.dumps(DOMAINS_OUT)
    meta["encoder_tokens"] = "64"
    meta["decoder_tokens"] = "64"
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, args.out, metadata=meta)
    print(f"wrote {args.out}: losses " + ", ".join(f"{k}={v.item():.4f}" for k, v in losses.items()))


if __name__ == "__main__":
    main()
