#!/usr/bin/env python3
"""FourM vs PyTorch on the 4M-21_B encoder + decoder pass (and rgb2depth_1step), fp32 and bf16, in one run.

The PyTorch side is a 4M-21_B-shaped encoder-decoder written with plain torch ops in the
4M reference's style (LayerNorm without bias, qkv/proj/MLP without bias, SwiGLU MLP of
width 2048, explicit q·kᵀ softmax ·v attention, 12 heads), random weights: 196 rgb patch
tokens in, 196 decoder queries over the 196-token context out, 8192-way logits. bf16 is
`torch.autocast('cpu', dtype=torch.bfloat16)`.

`--cases caption2rgb` adds caption2rgb_8step (guidance 3): see `caption2rgb` below for the PyTorch
side's work, FourM's is `fourm-bench`'s case of that name.

`--cases pass,rgb2depth` adds rgb2depth_1step: on the PyTorch side the same pass preceded by
cutting a 224×224 image into 196 16×16 patches and followed by a softmax over the 8192-way logits
and one multinomial draw per position (MaskGIT with one step decodes all 196 tokens at once,
temperature 1), which is the work of FourM's `rgb2depth_1step` case.

The FourM side is `fourm-bench --only <cases> --precision both --json …` (its own interleaved
fp32/bf16 measurement on the random 4M-21_B checkpoint); `--precision fp32` where bf16 is not
supported (FourM would fall back to fp32, so a bf16 column would measure nothing). Rounds alternate PyTorch and FourM,
so load changes of a shared machine hit both; each figure is the minimum over all rounds.

Run it with OMP_WAIT_POLICY=passive exported so that both sides' OpenMP threads behave alike
(FourM's executables set it for themselves when it is unset; see Documentation/Performance.md).
The PyTorch model is a shape-equivalent stand-in, not the 4M reference code.

usage: OMP_WAIT_POLICY=passive python3 scripts/bench-vs-pytorch.py [--rounds 3] [--threads 2] [--bench .build/release/fourm-bench]
                                                                     [--cases pass,rgb2depth,caption2rgb] [--precisions fp32,bf16]
"""
import argparse, json, subprocess, tempfile, time, os
import torch
import torch.nn as nn
import torch.nn.functional as F

D, H, HIDDEN, N, M, VOCAB, DEPTH = 768, 12, 2048, 196, 196, 8192, 12


class Attention(nn.Module):
    def __init__(self, cross=False):
        super().__init__()
        self.cross = cross
        if cross:
            self.q = nn.Linear(D, D, bias=False)
            self.kv = nn.Linear(D, 2 * D, bias=False)
        else:
            self.qkv = nn.Linear(D, 3 * D, bias=False)
        self.proj = nn.Linear(D, D, bias=False)

    def forward(self, x, context=None):
        b, n, _ = x.shape
        if self.cross:
            q = self.q(x).reshape(b, n, H, D // H).transpose(1, 2)
            kv = self.kv(context).reshape(b, context.shape[1], 2, H, D // H).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
        else:
            qkv = self.qkv(x).reshape(b, n, 3, H, D // H).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * (D // H) ** -0.5
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, D))


class SwiGLU(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(D, HIDDEN, bias=False)
        self.fc3 = nn.Linear(D, HIDDEN, bias=False)
        self.fc2 = nn.Linear(HIDDEN, D, bias=False)

    def forward(self, x):
        return self.fc2(F.silu(self.fc1(x)) * self.fc3(x))


class Block(nn.Module):
    def __init__(self, decoder=False):
        super().__init__()
        self.decoder = decoder
        self.norm1 = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.attn = Attention()
        if decoder:
            self.query_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
            self.context_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
            self.cross = Attention(cross=True)
        self.norm2 = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.mlp = SwiGLU()

    def forward(self, x, context=None):
        x = x + self.attn(self.norm1(x))
        if self.decoder:
            x = x + self.cross(self.query_norm(x), self.context_norm(context))
        return x + self.mlp(self.norm2(x))


class FourMB(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch = nn.Linear(768, D)
        self.encoder = nn.ModuleList([Block() for _ in range(DEPTH)])
        self.encoder_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.proj_context = nn.Linear(D, D)
        self.decoder = nn.ModuleList([Block(decoder=True) for _ in range(DEPTH)])
        self.decoder_norm = nn.LayerNorm(D, eps=1e-6, bias=False)
        self.to_logits = nn.Linear(D, VOCAB, bias=False)

    def forward(self, patches, queries):
        x = self.patch(patches)
        for block in self.encoder:
            x = block(x)
        context = self.proj_context(self.encoder_norm(x))
        y = queries
        for block in self.decoder:
            y = block(y, context)
        return self.to_logits(self.decoder_norm(y))


def rgb2depth(model, pixels, queries):
    """rgb2depth_1step's work: patchify, one pass, sample every position once."""
    b = pixels.shape[0]
    patches = pixels.reshape(b, 3, 14, 16, 14, 16).permute(0, 2, 4, 1, 3, 5).reshape(b, N, 768)
    logits = model(patches, queries)
    probs = logits.float().softmax(dim=-1).reshape(-1, VOCAB)
    return torch.multinomial(probs, 1)


def caption2rgb(model, context, slots, steps=8, guidance=3.0, temperature=3.0):
    """caption2rgb_8step's work: 8 MaskGIT steps over 196 tok_rgb positions with a linear token
    schedule; each step encodes the 10 caption tokens plus the tokens committed so far and decodes
    the remaining positions, conditional and unconditional rows in one batch of 2 (guidance 3),
    then guided logits, a softmax at temperature 3, one draw per position and the top-k most
    confident positions committed."""
    committed = 0
    for s in range(steps):
        k = M * (s + 1) // steps - M * s // steps
        remaining = M - committed
        logits = model(context[:, : 10 + committed], slots[:, :remaining]).float()
        guided = logits[1] + guidance * (logits[0] - logits[1])
        probs = (guided / temperature).softmax(dim=-1)
        sample = torch.multinomial(probs, 1)
        confidence = probs.gather(1, sample).squeeze(1)
        confidence.topk(k)
        committed += k


def torch_times(model, inputs, repeats, cases, precisions):
    patches, queries, pixels, context, slots = inputs
    out = {}
    for case in cases:
        run = {
            "pass": lambda: model(patches, queries),
            "rgb2depth": lambda: rgb2depth(model, pixels, queries),
            "caption2rgb": lambda: caption2rgb(model, context, slots),
        }[case]
        for name in precisions:
            samples = []
            for i in range(repeats + 1):
                t0 = time.perf_counter()
                with torch.inference_mode():
                    if name == "fp32":
                        run()
                    else:
                        with torch.autocast("cpu", dtype=torch.bfloat16):
                            run()
                if i > 0:  # the first call is a warm-up
                    samples.append(time.perf_counter() - t0)
            out[(case, name)] = min(samples)
    return out


CASE_NAMES = {"pass": "encoder + decoder pass", "rgb2depth": "rgb2depth_1step", "caption2rgb": "caption2rgb_8step"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--bench", default=".build/release/fourm-bench")
    parser.add_argument("--cases", default="pass", help="comma-separated: pass, rgb2depth, caption2rgb")
    parser.add_argument("--precisions", default="fp32,bf16", help="comma-separated: fp32, bf16")
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    precisions = [p for p in args.precisions.split(",") if p]
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = FourMB().eval()
    for p in model.parameters():
        nn.init.uniform_(p, -0.035, 0.035)
    inputs = (torch.randn(1, N, 768), torch.randn(1, M, D), torch.randn(1, 3, 224, 224), torch.randn(2, 10 + M, 768), torch.randn(2, M, D))
    bench_precision = "both" if len(precisions) == 2 else precisions[0]
    best = {}
    for r in range(args.rounds):
        for key, v in torch_times(model, inputs, 3, cases, precisions).items():
            best[("torch",) + key] = min(best.get(("torch",) + key, 1e9), v)
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            subprocess.run([args.bench, "--only", ",".join(cases), "--precision", bench_precision, "--json", f.name], check=True, stdout=subprocess.DEVNULL)
            rows = json.load(open(f.name))["cases"]
        for c in rows:
            for case in cases:
                if CASE_NAMES[case] in c["name"]:
                    key = ("fourm", case, "bf16" if "[bf16]" in c["name"] else "fp32")
                    best[key] = min(best.get(key, 1e9), c["min_s"])
        print(f"round {r + 1}: " + ", ".join(f"{' '.join(k)} {v:.3f} s" for k, v in sorted(best.items())), flush=True)
    print(f"\nminimum over {args.rounds} interleaved rounds, {args.threads} threads, torch {torch.__version__}")
    for case in cases:
        print(f"\n| 4M-21_B {CASE_NAMES[case]} | " + " | ".join(precisions) + (" | bf16/fp32 |" if len(precisions) == 2 else ""))
        print("|---" * (len(precisions) + 1 + (len(precisions) == 2)) + "|")
        for who, label in [("fourm", "FourM"), ("torch", "PyTorch (autocast for bf16)")]:
            values = [best[(who, case, p)] for p in precisions]
            ratio = f" {values[1] / values[0]:.2f} |" if len(values) == 2 else ""
            print(f"| {label} | " + " | ".join(f"{v:.3f} s" for v in values) + " |" + ratio)
        print("| FourM / PyTorch | " + " | ".join(f"{best[('fourm', case, p)] / best[('torch', case, p)]:.2f}" for p in precisions) + " |" + (" |" if len(precisions) == 2 else ""))


if __name__ == "__main__":
    main()
