#!/usr/bin/env python3
"""FourM vs PyTorch on rgb2caption_ar32: 32 greedy tokens of a 4M-21_B-shaped decoder with a KV cache.

The PyTorch side is a plain-torch stand-in with 4M-21_B's shapes (not the 4M reference code):
a 12-block encoder over 197 tokens (196 rgb patches + the caption's [S_1]), the context
projection, then 32 autoregressive steps of a 12-block decoder (self-attention over a
key/value cache, cross-attention over keys/values computed once, SwiGLU MLP of width 2048,
LayerNorms without bias, no linear biases) and a 30 522-way caption head with argmax. Every
step runs one row through every decoder weight, as FourM's SequenceDecoder does. bf16 is
`torch.autocast('cpu', dtype=torch.bfloat16)` (weights cast per call, as a PyTorch user gets it).
PyTorch is also timed with the weights stored in bf16 (`model.to(torch.bfloat16)`), which
streams half the bytes per token.

The FourM side is `fourm-bench --only bandwidth,rgb2caption --precision fp32 --json …`. Rounds
alternate PyTorch and FourM so that load changes of a shared machine hit both; each figure is
the minimum over all rounds.

usage: OMP_WAIT_POLICY=passive python3 scripts/bench-ar-pytorch.py [--rounds 2] [--threads 2] [--bench .build/release/fourm-bench]
"""
import argparse, json, subprocess, tempfile, time
import torch
import torch.nn as nn
import torch.nn.functional as F

D, H, HIDDEN, N, DEPTH, VOCAB, TOKENS = 768, 12, 2048, 197, 12, 30522, 32


def heads(x):  # [B, L, D] -> [B, H, L, hd]
    b, l, _ = x.shape
    return x.reshape(b, l, H, D // H).transpose(1, 2)


class Block(nn.Module):
    def __init__(self, decoder):
        super().__init__()
        self.decoder = decoder
        self.norm1 = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.qkv = nn.Linear(D, 3 * D, bias=False)
        self.proj = nn.Linear(D, D, bias=False)
        if decoder:
            self.query_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
            self.context_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
            self.q = nn.Linear(D, D, bias=False)
            self.kv = nn.Linear(D, 2 * D, bias=False)
            self.cproj = nn.Linear(D, D, bias=False)
        self.norm2 = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.fc1 = nn.Linear(D, HIDDEN, bias=False)
        self.fc3 = nn.Linear(D, HIDDEN, bias=False)
        self.fc2 = nn.Linear(HIDDEN, D, bias=False)

    def mlp(self, x):
        return self.fc2(F.silu(self.fc1(x)) * self.fc3(x))

    def forward(self, x):  # encoder block
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        a = F.softmax((heads(q) @ heads(k).transpose(-2, -1)) * (D // H) ** -0.5, dim=-1) @ heads(v)
        x = x + self.proj(a.transpose(1, 2).reshape(x.shape))
        return x + self.mlp(self.norm2(x))

    def context_kv(self, context):
        k, v = self.kv(self.context_norm(context)).chunk(2, dim=-1)
        return heads(k), heads(v)

    def step(self, x, cache, ctx):  # x [B, 1, D]; cache: lists of [B, H, 1, hd]
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        cache[0].append(heads(k))
        cache[1].append(heads(v))
        keys, values = torch.cat(cache[0], dim=2), torch.cat(cache[1], dim=2)
        a = F.softmax((heads(q) @ keys.transpose(-2, -1)) * (D // H) ** -0.5, dim=-1) @ values
        x = x + self.proj(a.transpose(1, 2).reshape(x.shape))
        q = heads(self.q(self.query_norm(x)))
        a = F.softmax((q @ ctx[0].transpose(-2, -1)) * (D // H) ** -0.5, dim=-1) @ ctx[1]
        x = x + self.cproj(a.transpose(1, 2).reshape(x.shape))
        return x + self.mlp(self.norm2(x))


class Captioner(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Linear(768, D)
        self.encoder = nn.ModuleList([Block(False) for _ in range(DEPTH)])
        self.encoder_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.proj_context = nn.Linear(D, D)
        self.decoder = nn.ModuleList([Block(True) for _ in range(DEPTH)])
        self.decoder_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.token_emb = nn.Embedding(VOCAB, D)
        self.to_logits = nn.Linear(D, VOCAB, bias=False)

    def generate(self, patches, positions):
        x = self.patch(patches)
        for block in self.encoder:
            x = block(x)
        context = self.proj_context(self.encoder_norm(x))
        ctx = [block.context_kv(context) for block in self.decoder]
        caches = [([], []) for _ in self.decoder]
        token = torch.zeros(1, 1, dtype=torch.long)
        out = []
        for t in range(TOKENS):
            y = self.token_emb(token) + positions[:, t:t + 1]
            for block, cache, kv in zip(self.decoder, caches, ctx):
                y = block.step(y, cache, kv)
            token = self.to_logits(self.decoder_norm(y)).argmax(dim=-1)
            out.append(int(token))
        return out


def torch_times(models, patches, positions, repeats):
    out = {}
    for name, model, ctx in models:
        samples = []
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            with torch.inference_mode():
                if ctx is None:
                    model.generate(patches.to(model.patch.weight.dtype), positions.to(model.patch.weight.dtype))
                else:
                    with torch.autocast("cpu", dtype=ctx):
                        model.generate(patches, positions)
            if i > 0:  # the first call is a warm-up
                samples.append(time.perf_counter() - t0)
        out[name] = min(samples)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bench", default=".build/release/fourm-bench")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Captioner().eval()
    for p in model.parameters():
        nn.init.uniform_(p, -0.035, 0.035)
    bf16_model = Captioner().eval()
    bf16_model.load_state_dict(model.state_dict())
    bf16_model = bf16_model.to(torch.bfloat16)
    models = [("fp32", model, None), ("bf16 autocast", model, torch.bfloat16), ("bf16 weights", bf16_model, None)]
    patches, positions = torch.randn(1, N, 768), torch.randn(1, TOKENS, D)
    best = {}
    for r in range(args.rounds):
        for k, v in torch_times(models, patches, positions, repeats=2).items():
            best["torch " + k] = min(best.get("torch " + k, 1e9), v)
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            subprocess.run([args.bench, "--only", "bandwidth,rgb2caption", "--precision", "fp32", "--json", f.name],
                           check=True, stdout=subprocess.DEVNULL)
            for case in json.load(open(f.name))["cases"]:
                if case["name"].startswith("rgb2caption_ar32"):
                    key = "fourm " + case["name"].split("[")[1].rstrip("]")
                    best[key] = min(best.get(key, 1e9), case["min_s"])
                elif case["name"].startswith("read bandwidth"):
                    best["bandwidth GB/s (best)"] = max(best.get("bandwidth GB/s (best)", 0), float(case["note"].split(" GB/s")[0]))
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in best.items()), flush=True)
    print("\n| rgb2caption_ar32 (min over rounds) | s |\n|---|---|")
    for k, v in best.items():
        print(f"| {k} | {v:.3f} |")
    ref = best.get("torch bf16 autocast")
    if ref:
        for k, v in best.items():
            if k.startswith("fourm"):
                print(f"{k} / torch bf16 autocast = {v / ref:.3f}")


if __name__ == "__main__":
    main()
