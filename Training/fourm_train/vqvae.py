"""ViT VQ-VAE image tokenizers at the demo resolution (spec/tokenizers.md 2, 3.4, 3.5, 4.2).

State-dict names equal the reference's, so the exported files load like released VQVAE
checkpoints. The codebook is trained by gradient on unit vectors (cosine VQ) with dead-code
restarts; its rows are stored normalized, which is what the reference's EMA rows approximate.
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import ViTBlock, cosine_lr, export, sincos_2d
from .data import load_scenes, modality_pixels

# name -> (channels in, labels or None, codebook size)
SPECS = {
    "rgb": (3, None, 1024),
    "depth": (1, None, 512),
    "normal": (3, None, 512),
    "semseg": (16, 5, 256),
    "canny_edge": (1, None, 256),
}
IMAGE, PATCH, DIM, DEPTH, HEADS, LATENT = 64, 8, 96, 2, 4, 32
ENC_PRESET = f"vit_demo_enc_d{DIM}_l{DEPTH}_h{HEADS}"
DEC_PRESET = f"vit_demo_dec_d{DIM}_l{DEPTH}_h{HEADS}"
PRESETS = {p: {"dim_tokens": DIM, "depth": DEPTH, "num_heads": HEADS, "mlp_ratio": 4.0,
               "qkv_bias": True, "norm_eps": 1e-6} for p in (ENC_PRESET, DEC_PRESET)}


class ViTStack(nn.Module):
    def __init__(self, grid, in_conv=None, out_dim=None):
        super().__init__()
        if in_conv is not None:
            self.proj = nn.Conv2d(in_conv, DIM, PATCH, PATCH)
        self.register_buffer("pos_emb", sincos_2d(grid, DIM).T.reshape(1, DIM, grid, grid).clone())
        self.blocks = nn.ModuleList([ViTBlock(DIM, HEADS) for _ in range(DEPTH)])
        self.norm_mlp = nn.LayerNorm(DIM, eps=1e-6)
        self.post_mlp = nn.Module()
        self.post_mlp.fc1 = nn.Linear(DIM, 4 * DIM)
        self.post_mlp.fc2 = nn.Linear(4 * DIM, DIM)
        if out_dim is not None:
            self.out_proj = nn.Linear(DIM, out_dim)

    def transform(self, h):
        """(B, D, g, g) -> (B, g*g, D) through pos emb, blocks and the tanh post-MLP."""
        b, d, g, _ = h.shape
        x = (h + self.pos_emb).flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = blk(x)
        return x + self.post_mlp.fc2(torch.tanh(self.post_mlp.fc1(self.norm_mlp(x))))


class VQVAE(nn.Module):
    def __init__(self, channels, labels, codes):
        super().__init__()
        grid = IMAGE // PATCH
        self.labels, self.channels, self.codes = labels, channels, codes
        if labels is not None:
            self.cls_emb = nn.Embedding(labels, channels)
        out = (labels or channels) * PATCH * PATCH
        self.encoder = ViTStack(grid, in_conv=channels)
        self.decoder = ViTStack(grid, out_dim=out)
        self.quant_proj = nn.Conv2d(DIM, LATENT, 1)
        self.post_quant_proj = nn.Conv2d(LATENT, DIM, 1)
        self.quantize = nn.Module()
        self.quantize._codebook = nn.Module()
        self.quantize._codebook.embed = nn.Parameter(F.normalize(torch.randn(codes, LATENT), dim=1))
        self.quantize._codebook.register_buffer("cluster_size", torch.zeros(codes))
        self.quantize._codebook.register_buffer("initted", torch.ones(1))

    def prepare(self, x):
        if self.labels is not None:
            return self.cls_emb(x).permute(0, 3, 1, 2)
        return x

    def encode_latent(self, x):
        h = self.encoder.proj(self.prepare(x))
        b, d, g, _ = h.shape
        y = self.encoder.transform(h).transpose(1, 2).reshape(b, d, g, g)
        return self.quant_proj(y)  # (B, latent, g, g)

    def quantize_latent(self, z):
        """spec 4.2: cosine argmax against normalized rows; returns (raw row, tokens, zhat)."""
        zf = z.permute(0, 2, 3, 1)
        zhat = F.normalize(zf, dim=-1, eps=1e-12)
        ehat = F.normalize(self.quantize._codebook.embed, dim=-1, eps=1e-12)
        tokens = (zhat @ ehat.T).argmax(dim=-1)
        return self.quantize._codebook.embed[tokens], tokens, zhat

    def decode_quant(self, q):
        """q (B, g, g, latent) -> (B, C_out, H, W)."""
        h = self.post_quant_proj(q.permute(0, 3, 1, 2))
        b, d, g, _ = h.shape
        y = self.decoder.out_proj(self.decoder.transform(h))  # (B, g*g, C*P*P)
        c = self.labels or self.channels
        y = y.view(b, g, g, c, PATCH, PATCH).permute(0, 3, 1, 4, 2, 5)
        return y.reshape(b, c, g * PATCH, g * PATCH)

    def tokenize(self, x):
        return self.quantize_latent(self.encode_latent(x))[1]

    def decode_tokens(self, tokens):
        return self.decode_quant(self.quantize._codebook.embed[tokens])


def config(name):
    channels, labels, codes = SPECS[name]
    return {
        "image_size": IMAGE, "image_size_enc": None, "image_size_dec": None, "patch_size": PATCH,
        "patch_size_dec": None, "n_channels": channels, "n_labels": labels, "enc_type": ENC_PRESET,
        "dec_type": DEC_PRESET, "quant_type": "lucid", "codebook_size": codes, "num_codebooks": 1,
        "latent_dim": LATENT, "norm_codes": True, "norm_latents": False, "post_mlp": True,
        "patch_proj": True, "out_conv": False, "undo_std": False, "sync_codebook": True,
        "ema_decay": 0.99, "commitment_weight": 1.0, "kmeans_init": False,
        "threshold_ema_dead_code": 0.0, "code_replacement_policy": "batch_random",
        "freeze_enc": False, "ckpt_path": None,
    }


def reconstruction_loss(name, out, target):
    if name == "semseg":
        return F.cross_entropy(out, target)
    if name == "canny_edge":  # thin lines: weight edge pixels up so they are not averaged away
        w = 1.0 + 7.0 * (target > 0).float()
        return (w * (out - target) ** 2).mean()
    return F.smooth_l1_loss(out, target, beta=0.1)


def train(name, data_dir, out_dir, steps, batch, seed=0, log_every=200, resume=None, lr=1e-3):
    torch.manual_seed(seed)
    np.random.seed(seed)
    data = load_scenes(data_dir)
    x_all = torch.from_numpy(modality_pixels(data, name))
    n = x_all.shape[0]
    model = load(resume, name).train() if resume else VQVAE(*SPECS[name])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0, betas=(0.9, 0.99))
    usage = torch.zeros(SPECS[name][2])
    start = time.time()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, steps, lr, 200)
        idx = torch.randint(0, n, (batch,))
        x = x_all[idx]
        z = model.encode_latent(x)
        raw, tokens, zhat = model.quantize_latent(z)
        ehat = F.normalize(raw, dim=-1)
        vq_loss = ((ehat - zhat.detach()) ** 2).sum(-1).mean() + 0.25 * ((zhat - ehat.detach()) ** 2).sum(-1).mean()
        q = zhat + (ehat - zhat).detach()  # straight-through; the forward value is the code row
        out = model.decode_quant(q)
        loss = reconstruction_loss(name, out, x) + vq_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.quantize._codebook.embed.copy_(F.normalize(model.quantize._codebook.embed, dim=-1))
            usage.mul_(0.99).add_(torch.bincount(tokens.flatten(), minlength=usage.numel()).float())
            if step % 50 == 49 and step < steps * 0.8:  # restart dead codes at random latents
                dead = (usage < 1e-2).nonzero().flatten()
                if dead.numel():
                    pool = zhat.detach().reshape(-1, LATENT)
                    pick = pool[torch.randint(0, pool.shape[0], (dead.numel(),))]
                    model.quantize._codebook.embed[dead] = F.normalize(pick + 0.01 * torch.randn_like(pick), dim=-1)
                    usage[dead] = 1.0
        if step % log_every == 0 or step == steps - 1:
            used = int((usage > 1e-2).sum())
            print(f"[{name}] step {step} loss {loss.item():.4f} vq {vq_loss.item():.4f} codes used {used} "
                  f"({time.time() - start:.0f}s)", flush=True)
    model.quantize._codebook.cluster_size.copy_(usage)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"tok_{name}.safetensors")
    export(path, model.state_dict(), config(name))
    print(f"[{name}] wrote {path}", flush=True)
    return path


def load(path, name):
    """Loads an exported tokenizer (F16 weights widened to float32)."""
    from safetensors.torch import load_file
    model = VQVAE(*SPECS[name])
    state = {k: v.float() for k, v in load_file(path).items()}
    model.load_state_dict(state)
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--modalities", default=",".join(SPECS))
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--resume", help="continue from this exported checkpoint (one modality)")
    args = ap.parse_args()
    for name in args.modalities.split(","):
        train(name, args.data, args.out, args.steps, args.batch, resume=args.resume, lr=args.lr)


if __name__ == "__main__":
    main()
