"""The 4M encoder-decoder for the demo world, trained with 4M's masking (spec/model.md 3-5,
spec/generation.md 7) and exported under the reference's tensor names and config keys."""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import attention, cosine_lr, export, sincos_1d, sincos_2d
from .data import load_scenes
from .text import EOS, Tokenizer, build_vocab, sentinel, sequences

RES, PATCH, GRID = 64, 8, 8
IMAGE_TOKENS = {"tok_canny_edge@64": 256, "tok_depth@64": 512, "tok_normal@64": 512,
                "tok_rgb@64": 1024, "tok_semseg@64": 256}
TOKENIZER_OF = {"tok_canny_edge@64": "canny_edge", "tok_depth@64": "depth", "tok_normal@64": "normal",
                "tok_rgb@64": "rgb", "tok_semseg@64": "semseg"}
# name -> (training max_tokens, reference max_length used for decoder positions)
SEQUENCES = {"caption": (32, 256), "color_palette": (16, 23), "det": (32, 256), "metadata": (12, 40)}
PIXELS = "rgb@64"
DOMAINS_IN = sorted([PIXELS, *IMAGE_TOKENS, *SEQUENCES])
DOMAINS_OUT = sorted([*IMAGE_TOKENS, *SEQUENCES])
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class LayerNorm(nn.LayerNorm):
    """LayerNorm eps 1e-6 whose bias stays a zero buffer-like parameter (`norm_bias: False`)."""

    def __init__(self, dim):
        super().__init__(dim, eps=1e-6)
        self.bias.requires_grad_(False)


class MLP(nn.Module):
    """spec/model.md 4.4 gated SiLU MLP without biases."""

    def __init__(self, dim, ratio=4.0):
        super().__init__()
        hidden = int(2 * int(dim * ratio) / 3)
        self.fc1 = nn.Linear(dim, hidden, bias=False)
        self.fc3 = nn.Linear(dim, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)) * self.fc3(x))


def heads(x, h):
    b, n, d = x.shape
    return x.view(b, n, h, d // h).transpose(1, 2)


def merge(x):
    b, h, n, hd = x.shape
    return x.transpose(1, 2).reshape(b, n, h * hd)


class SelfAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x, blocked):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        return self.proj(merge(attention(heads(q, self.h), heads(k, self.h), heads(v, self.h), blocked)))


class CrossAttention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)

    def forward(self, x, context, blocked):
        k, v = self.kv(context).chunk(2, dim=-1)
        return self.proj(merge(attention(heads(self.q(x), self.h), heads(k, self.h), heads(v, self.h), blocked)))


class Block(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.norm1, self.norm2 = LayerNorm(dim), LayerNorm(dim)
        self.attn = SelfAttention(dim, num_heads)
        self.mlp = MLP(dim)

    def forward(self, x, blocked):
        x = x + self.attn(self.norm1(x), blocked)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.norm1, self.query_norm, self.context_norm, self.norm2 = (LayerNorm(dim) for _ in range(4))
        self.self_attn = SelfAttention(dim, num_heads)
        self.cross_attn = CrossAttention(dim, num_heads)
        self.mlp = MLP(dim)

    def forward(self, x, context, sa_blocked, xa_blocked):
        x = x + self.self_attn(self.norm1(x), sa_blocked)
        x = x + self.cross_attn(self.query_norm(x), self.context_norm(context), xa_blocked)
        return x + self.mlp(self.norm2(x))


def ranks(mask):
    """Position ids = rank among unmasked entries (spec/model.md 3.5), 0 where masked."""
    r = (~mask).long().cumsum(dim=1) - 1
    return r.masked_fill(mask, 0)


class FourM(nn.Module):
    def __init__(self, dim, enc_depth, dec_depth, num_heads, vocab):
        super().__init__()
        self.dim, self.num_heads, self.vocab = dim, num_heads, vocab
        self.mask_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.encoder_embeddings = nn.ModuleDict()
        self.decoder_embeddings = nn.ModuleDict()
        for m in DOMAINS_IN:
            e = nn.Module()
            e.mod_emb = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
            if m == PIXELS:
                e.proj = nn.Linear(PATCH * PATCH * 3, dim, bias=False)
                e.register_buffer("pos_emb", sincos_2d(GRID, dim)[None].clone())
            elif m in IMAGE_TOKENS:
                e.token_emb = nn.Embedding(IMAGE_TOKENS[m], dim)
                e.register_buffer("pos_emb", sincos_2d(GRID, dim)[None].clone())
            else:
                e.token_emb = nn.Embedding(vocab, dim)
                e.register_buffer("pos_emb", sincos_1d(512, dim)[None].clone())
            self.encoder_embeddings[m] = e
        for m in DOMAINS_OUT:
            e = nn.Module()
            e.mod_emb = self.encoder_embeddings[m].mod_emb  # share_modality_embeddings
            size = IMAGE_TOKENS.get(m, vocab)
            e.token_emb = nn.Embedding(size, dim)
            e.to_logits = nn.Linear(dim, size, bias=False)
            table = sincos_2d(GRID, dim) if m in IMAGE_TOKENS else sincos_1d(512, dim)
            e.register_buffer("pos_emb", table[None].clone())
            self.decoder_embeddings[m] = e
        self.encoder = nn.ModuleList([Block(dim, num_heads) for _ in range(enc_depth)])
        self.encoder_norm = LayerNorm(dim)
        self.decoder_proj_context = nn.Linear(dim, dim)
        self.decoder = nn.ModuleList([DecoderBlock(dim, num_heads) for _ in range(dec_depth)])
        self.decoder_norm = LayerNorm(dim)
        for name, p in self.named_parameters():
            if p.dim() >= 2 and "mod_emb" not in name and name != "mask_token":
                nn.init.trunc_normal_(p, std=0.02)
        nn.init.zeros_(self.decoder_proj_context.bias)

    def config(self, enc_depth, dec_depth):
        return {
            "domains_in": DOMAINS_IN, "domains_out": DOMAINS_OUT, "image_size": RES, "patch_size": PATCH,
            "norm_bias": False, "act_layer": "SiLU", "dim": self.dim, "encoder_depth": enc_depth,
            "decoder_depth": dec_depth, "num_heads": self.num_heads, "mlp_ratio": 4.0, "qkv_bias": False,
            "proj_bias": False, "mlp_bias": False, "gated_mlp": True, "qk_norm": False,
            "share_modality_embeddings": True, "use_act_checkpoint": False,
        }

    # ---- encoder (spec/model.md 3.3-3.5, 5.3, 5.4)
    def embed_inputs(self, batch):
        xs, es, masks, mods = [], [], [], []
        for i, m in enumerate(DOMAINS_IN):
            if m not in batch:
                continue
            rec = batch[m]
            e = self.encoder_embeddings[m]
            mask = rec["input_mask"]
            if m == PIXELS:
                px = rec["tensor"]  # (B, 3, H, W) normalized
                b = px.shape[0]
                patches = px.view(b, 3, GRID, PATCH, GRID, PATCH).permute(0, 2, 4, 3, 5, 1).reshape(b, GRID * GRID, -1)
                x = e.proj(patches)
                emb = e.pos_emb + e.mod_emb
            elif m in IMAGE_TOKENS:
                x = e.token_emb(rec["tensor"])
                emb = e.pos_emb + e.mod_emb
            else:
                x = e.token_emb(rec["tensor"])
                pos = e.pos_emb[0][ranks(mask)]
                emb = pos.masked_fill(mask[..., None], 0.0) + e.mod_emb
            emb = emb.expand_as(x)
            xs.append(x); es.append(emb); masks.append(mask)
            mods.append(torch.full_like(mask, i, dtype=torch.long))
        return torch.cat(xs, 1), torch.cat(es, 1), torch.cat(masks, 1), torch.cat(mods, 1)

    @staticmethod
    def keep_first(mask, n, *tensors):
        order = torch.sort(mask.to(torch.int8), dim=1, stable=True).indices[:, :n]
        out = [torch.gather(mask, 1, order)]
        for t in tensors:
            idx = order if t.dim() == 2 else order[..., None].expand(-1, -1, t.shape[-1])
            out.append(torch.gather(t, 1, idx))
        return out

    def encode(self, batch, n_enc):
        x, emb, mask, _ = self.embed_inputs(batch)
        mask, x, emb = self.keep_first(mask, n_enc, x, emb)
        x = x.masked_fill(mask[..., None], 0.0)
        emb = emb.masked_fill(mask[..., None], 0.0)
        blocked = mask[:, None, None, :]
        h = x + emb
        for blk in self.encoder:
            h = blk(h, blocked)
        h = self.encoder_norm(h)
        return self.decoder_proj_context(h) + emb, blocked

    # ---- decoder, training-style (spec/model.md 5.6)
    def forward(self, batch, n_enc, n_dec):
        context, xa_blocked = self.encode(batch, n_enc)
        qs, es, blocked_l, tgts, dams, mods = [], [], [], [], [], []
        for i, m in enumerate(DOMAINS_OUT):
            if m not in batch:
                continue
            rec = batch[m]
            e = self.decoder_embeddings[m]
            ids, tm, dam = rec["tensor"], rec["target_mask"], rec["dam"]
            if m in IMAGE_TOKENS:
                q = self.mask_token.expand(ids.shape[0], ids.shape[1], -1)
                emb = (e.pos_emb + e.mod_emb).expand_as(q)
                tgt, bl = ids, tm
            else:
                x = e.token_emb(ids)
                maxlen = SEQUENCES[m][1]
                tpos = ranks(tm)
                tpos = tpos.masked_fill(tpos >= maxlen, 0)
                emb = e.pos_emb[0][tpos].masked_fill(tm[..., None], 0.0) + e.mod_emb
                q, emb, tgt = x[:, :-1], emb[:, :-1], ids[:, 1:]
                bl = tm[:, 1:] | tm[:, :-1]
                dam = dam[:, :-1]
            qs.append(q); es.append(emb); blocked_l.append(bl); tgts.append(tgt); dams.append(dam)
            mods.append(torch.full_like(tgt, i))
        bl = torch.cat(blocked_l, 1)
        bl, q, emb, tgt, dam, mod = self.keep_first(bl, n_dec, torch.cat(qs, 1), torch.cat(es, 1),
                                                     torch.cat(tgts, 1), torch.cat(dams, 1), torch.cat(mods, 1))
        c = dam.cumsum(dim=1)
        n = bl.shape[1]
        j = torch.arange(n)
        sa = j[None, None, :] >= c[:, :, None]
        sa = sa | (mod[:, :, None] != mod[:, None, :])
        q = q.masked_fill(bl[..., None], 0.0)
        emb = emb.masked_fill(bl[..., None], 0.0)
        y = q + emb
        for blk in self.decoder:
            y = blk(y, context, sa[:, None], xa_blocked)
        y = self.decoder_norm(y)
        losses = {}
        for i, m in enumerate(DOMAINS_OUT):
            sel = (mod == i) & ~bl
            if sel.any():
                logits = self.decoder_embeddings[m].to_logits(y[sel])
                losses[m] = F.cross_entropy(logits, tgt[sel])
        return losses


# ---- masking (spec/generation.md 7.2)

def dirichlet_budget(rng, alphas, total, caps):
    alphas = np.maximum(np.asarray(alphas, dtype=np.float64), 1e-9)
    p = rng.dirichlet(alphas)
    b = np.floor(p * total).astype(np.int64)
    for _ in range(total - int(b.sum())):
        b[np.argmax(rng.dirichlet(alphas))] += 1
    return np.minimum(b, caps)


def span_mask(rng, ids, q, chunks=None):
    """T5 span masking: returns (input, target) id lists. `chunks` groups ids into whole-chunk units."""
    units = chunks if chunks is not None else [[t] for t in ids]
    keep = rng.random(len(units)) <= q
    inp, tgt, count, prev_masked = [], [], 0, False
    for unit, k in zip(units, keep):
        if k:
            inp += unit
            prev_masked = False
        else:
            if not prev_masked:
                count += 1
                inp.append(sentinel(count)); tgt.append(sentinel(count))
            tgt += unit
            prev_masked = True
    tgt.append(sentinel(count + 1))
    return inp, tgt


def mask_sequence(rng, ids, chunks, b_in, b_t, max_tokens, keep_mode):
    length = 2 * (max_tokens + 1)
    tensor = np.zeros(length, dtype=np.int64)
    im = np.ones(length, dtype=bool); tm = np.ones(length, dtype=bool); dam = np.zeros(length, dtype=np.int64)
    if b_in == 0:
        inp, tgt = [], [sentinel(1)] + ids + [sentinel(2)]
    else:
        q = {"random": rng.random(), "all": 1.0, "binary": float(rng.integers(0, 2))}[keep_mode]
        inp, tgt = span_mask(rng, ids, q, chunks)
        while len(inp) > b_in:
            q *= 0.9
            inp, tgt = span_mask(rng, ids, q, chunks)
    if len(tgt) > b_t:
        sent = [i for i, t in enumerate(tgt) if 4 <= t < 204]
        j = int(rng.integers(0, max(1, len(sent) - 1)))
        if len(tgt) - sent[j] >= b_t:
            tgt = tgt[sent[j]: sent[j] + b_t]
        else:
            e = next(i for i in sent if len(tgt) - i <= b_t)
            tgt = tgt[e:]
    if b_t == 0:
        tgt = []
    tensor[: len(inp)] = inp; im[: len(inp)] = False
    start = b_in
    tensor[start: start + len(tgt)] = tgt
    tm[start: start + len(tgt)] = False; dam[start: start + len(tgt)] = 1
    return tensor, im, tm, dam


# mixture components: (weight, input alphas, target alphas, keep overrides)
def mixture():
    def alphas(default, **over):
        return {m: over.get(m.split("@")[0], default) for m in DOMAINS_IN}
    comps = []
    for a in (0.2, 1.0):
        comps.append((1.0, alphas(a), {**alphas(a), PIXELS: 0.0}, {}))
    comps.append((3.0, {**alphas(0.0), PIXELS: 1000.0}, {**alphas(0.5), PIXELS: 0.0}, {}))
    comps.append((2.0, {**alphas(0.05), "caption": 5.0}, {**alphas(0.5), PIXELS: 0.0, "caption": 0.0},
                  {"caption": "all"}))
    return comps


class Masker:
    def __init__(self, n_in, n_t, seed):
        self.rng = np.random.default_rng(seed)
        self.n_in, self.n_t = n_in, n_t
        self.comps = mixture()
        w = np.array([c[0] for c in self.comps]); self.weights = w / w.sum()

    def sample(self, scene):
        """scene: {"rgb@64": pixels, "tok_*": ids (64,), seq name: (ids, chunks)} -> per-modality records."""
        rng = self.rng
        _, ain, at, keep = self.comps[rng.choice(len(self.comps), p=self.weights)]
        maxt = {m: (GRID * GRID if m not in SEQUENCES else SEQUENCES[m][0]) for m in DOMAINS_IN}
        b_in = dict(zip(DOMAINS_IN, dirichlet_budget(rng, [ain[m] for m in DOMAINS_IN], self.n_in,
                                                      np.array([maxt[m] for m in DOMAINS_IN]))))
        caps = np.array([max(0, maxt[m] - b_in[m]) if m not in SEQUENCES else maxt[m] for m in DOMAINS_IN])
        b_t = dict(zip(DOMAINS_IN, dirichlet_budget(rng, [at[m] for m in DOMAINS_IN], self.n_t, caps)))
        out = {}
        for m in DOMAINS_IN:
            if m == PIXELS or m in IMAGE_TOKENS:
                perm = np.argsort(rng.random(GRID * GRID))
                im = ~(perm < b_in[m])
                tm = ~((perm >= b_in[m]) & (perm < b_in[m] + b_t[m]))
                if m == PIXELS:
                    tm[:] = True
                dam = np.zeros(GRID * GRID, dtype=np.int64)
                if (~tm).any():
                    dam[np.argmax(~tm)] = int((~tm).sum())
                out[m] = (scene[m], im, tm, dam)
            else:
                ids, chunks = scene[m]
                mode = keep.get(m, "binary" if m == "color_palette" else "random")
                out[m] = mask_sequence(rng, ids, chunks, int(b_in[m]), int(b_t[m]), SEQUENCES[m][0], mode)
        return out


def collate(samples):
    batch = {}
    for m in DOMAINS_IN:
        cols = list(zip(*[s[m] for s in samples]))
        rec = {"tensor": torch.from_numpy(np.stack(cols[0])), "input_mask": torch.from_numpy(np.stack(cols[1])),
               "target_mask": torch.from_numpy(np.stack(cols[2])), "dam": torch.from_numpy(np.stack(cols[3]))}
        batch[m] = rec
    return batch


def prepare_scenes(data, tokens, tokenizer):
    """Per-scene inputs for the masker: normalized pixels, image token ids, text ids (+[EOS])."""
    rgb = data["rgb"].astype(np.float32) / 255.0
    pixels = ((rgb - IMAGENET_MEAN) / IMAGENET_STD).transpose(0, 3, 1, 2).astype(np.float32)
    scenes = []
    for i, record in enumerate(data["records"]):
        s = {PIXELS: pixels[i]}
        for m in IMAGE_TOKENS:
            s[m] = tokens[m][i].astype(np.int64)
        for m, text in sequences(record).items():
            if isinstance(text, list):  # metadata chunks: each chunk + [EOS]
                chunks = [tokenizer.encode(c) + [EOS] for c in text]
                ids = [t for c in chunks for t in c]
                s[m] = (ids[: SEQUENCES[m][0]], chunks)
            else:
                ids = (tokenizer.encode(text) + [EOS])[: SEQUENCES[m][0]]
                s[m] = (ids, None)
        scenes.append(s)
    return scenes


def pretokenize(data, tok_dir):
    from .vqvae import load
    from .data import modality_pixels
    out = {}
    for m, name in TOKENIZER_OF.items():
        model = load(os.path.join(tok_dir, f"tok_{name}.safetensors"), name)
        x = torch.from_numpy(modality_pixels(data, name))
        ids = []
        with torch.no_grad():
            for k in range(0, x.shape[0], 500):
                ids.append(model.tokenize(x[k: k + 500]).reshape(-1, GRID * GRID))
        out[m] = torch.cat(ids).numpy().astype(np.int16)
        print(f"  tokenized {m}: {out[m].shape}", flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--tokenizers", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--input-tokens", type=int, default=64)
    ap.add_argument("--target-tokens", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-steps", type=int, default=0, help="only time this many steps and exit")
    ap.add_argument("--minutes", type=float, default=0, help="shrink --steps so training ends in about this time")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    data = load_scenes(args.data)
    cache = os.path.join(args.out, "tokens.npz")
    if os.path.exists(cache):
        tokens = dict(np.load(cache))
    else:
        tokens = pretokenize(data, args.tokenizers)
        os.makedirs(args.out, exist_ok=True)
        np.savez(cache, **tokens)
    tokenizer = Tokenizer(build_vocab())
    scenes = prepare_scenes(data, tokens, tokenizer)
    model = FourM(args.dim, args.depth, args.depth, args.heads, len(tokenizer.tokens))
    print(f"parameters: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M", flush=True)
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": other, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    masker = Masker(args.input_tokens, args.target_tokens, args.seed)
    rng = np.random.default_rng(args.seed + 1)
    start = time.time()
    steps = args.time_steps or args.steps
    running = {}
    step = 0
    while step < steps:
        if args.minutes and step == 30:
            rate = 30 / (time.time() - start)
            steps = args.steps = min(args.steps, int(rate * args.minutes * 60))
            print(f"{rate:.2f} steps/s: training for {steps} steps", flush=True)
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, args.steps, args.lr, 300)
        idx = rng.integers(0, len(scenes), args.batch)
        batch = collate([masker.sample(scenes[i]) for i in idx])
        losses = model(batch, args.input_tokens, args.target_tokens)
        loss = sum(losses.values()) / len(losses)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        for k, v in losses.items():
            running[k] = 0.98 * running.get(k, v.item()) + 0.02 * v.item()
        if step % 100 == 0 or step == steps - 1:
            parts = " ".join(f"{k.split('@')[0]}={v:.2f}" for k, v in sorted(running.items()))
            print(f"step {step} loss {loss.item():.3f} | {parts} | {time.time() - start:.0f}s", flush=True)
        if step % 1000 == 999 or step == steps - 1:
            export(os.path.join(args.out, "fourm_demo.safetensors"),
                   {k: v.clone() for k, v in model.state_dict().items()}, model.config(args.depth, args.depth))
        step += 1
    print(f"done in {time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
