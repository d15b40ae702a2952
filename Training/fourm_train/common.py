"""Pieces shared by the tokenizer and the 4M trainer: sin-cos tables, the ViT block, export."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


def sincos_2d(grid, dim):
    """spec/model.md 3.2.2 (and tokenizers.md 3.2): [G*G, D] rows = row-major cells."""
    p = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(p, dtype=torch.float32) / p))
    rows = torch.arange(grid, dtype=torch.float32).repeat_interleave(grid)
    cols = torch.arange(grid, dtype=torch.float32).repeat(grid)
    a, b = rows[:, None] * omega, cols[:, None] * omega
    return torch.cat([a.sin(), a.cos(), b.sin(), b.cos()], dim=1)


def sincos_1d(length, dim):
    """spec/model.md 3.2.3: [L, D] = concat(sin(n*omega), cos(n*omega))."""
    p = dim // 2
    omega = 1.0 / (10000 ** (torch.arange(p, dtype=torch.float32) / p))
    n = torch.arange(length, dtype=torch.float32)[:, None] * omega
    return torch.cat([n.sin(), n.cos()], dim=1)


NEG = -3.4028234663852886e38


def attention(q, k, v, blocked=None):
    """q [B,H,Lq,hd], k/v [B,H,Lk,hd]; blocked bool broadcastable to [B,1|H,Lq,Lk] (True = blocked)."""
    s = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)
    if blocked is not None:
        s = s.masked_fill(blocked, NEG)
    return s.softmax(dim=-1) @ v


class ViTBlock(nn.Module):
    """spec/tokenizers.md 3.1: pre-norm block, LN eps 1e-6, qkv bias, exact GELU."""

    def __init__(self, dim, heads, mlp_ratio=4.0):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(dim, 3 * dim)
        self.attn.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(dim, int(dim * mlp_ratio))
        self.mlp.fc2 = nn.Linear(int(dim * mlp_ratio), dim)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.attn.qkv(self.norm1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        o = attention(qkv[0], qkv[1], qkv[2]).transpose(1, 2).reshape(b, n, d)
        x = x + self.attn.proj(o)
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


def export(path, tensors, metadata, half=True):
    """Writes a release-format safetensors file: metadata values as Python reprs (strings).

    Floating tensors are stored as F16 when `half` (the Swift loader converts to float32)."""
    out = {}
    for k, v in tensors.items():
        v = v.detach().contiguous().cpu()
        if half and v.is_floating_point():
            v = v.to(torch.float16)
        out[k] = v
    meta = {k: (v if isinstance(v, str) else repr(v)) for k, v in metadata.items()}
    save_file(out, path, metadata=meta)


def cosine_lr(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))
