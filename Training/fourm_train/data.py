"""Reads scenes written by `fourm synth` (format fourm-synth/1) into numpy arrays.

The arrays are cached next to the scenes as `cache.npz` so that every training stage reads the
PNG/JSON files only once.
"""
import json
import os

import numpy as np
from PIL import Image
from safetensors.numpy import load_file

DEPTH_FAR = 20.0  # sky and far depth clamp, the synth writer's depth preview range


def _png(path):
    return np.asarray(Image.open(path))


def load_scenes(folder, count=None):
    """Returns a dict of arrays for scenes 0..count-1 of `folder` (cached in cache.npz)."""
    cache = os.path.join(folder, "cache.npz")
    if os.path.exists(cache):
        data = dict(np.load(cache, allow_pickle=False))
        data["records"] = [json.loads(s) for s in data.pop("records_json")]
        if count is None or len(data["records"]) >= count:
            n = count or len(data["records"])
            return {k: (v[:n] if k != "records" else v[:n]) for k, v in data.items()}
    names = sorted(f[:-5] for f in os.listdir(folder) if f.startswith("scene_") and f.endswith(".json"))
    if count is not None:
        names = names[:count]
    rgb, semseg, edges, normals, depth, records = [], [], [], [], [], []
    for i, stem in enumerate(names):
        base = os.path.join(folder, stem)
        rgb.append(_png(base + ".rgb.png"))
        semseg.append(_png(base + ".semseg.png"))
        edges.append(_png(base + ".edges.png"))
        normals.append(_png(base + ".normals.png"))
        depth.append(load_file(base + ".geometry.safetensors")["depth"])
        with open(base + ".json") as f:
            records.append(json.load(f))
        if i % 5000 == 0:
            print(f"  read {i}/{len(names)} scenes", flush=True)
    data = {
        "rgb": np.stack(rgb), "semseg": np.stack(semseg), "edges": np.stack(edges),
        "normals": np.stack(normals), "depth": np.stack(depth).astype(np.float32),
    }
    np.savez(cache, records_json=np.array([json.dumps(r) for r in records]), **data)
    data["records"] = records
    return data


def standardize_depth(depth):
    """spec/tokenizers.md 8.2 robust standardization of [N, H, W] depth (sky clamped to DEPTH_FAR)."""
    d = np.minimum(np.where(np.isfinite(depth), depth, DEPTH_FAR), DEPTH_FAR).astype(np.float64)
    n = d.shape[1] * d.shape[2]
    flat = np.sort(d.reshape(d.shape[0], -1), axis=1)
    kept = flat[:, int(0.1 * n): int(0.9 * n)]
    mu = kept.mean(axis=1)
    var = kept.var(axis=1, ddof=1)
    out = (d - mu[:, None, None]) / np.sqrt(var + 1e-6)[:, None, None]
    return out.astype(np.float32)


def modality_pixels(data, name):
    """The tokenizer input for an image-like modality: float [N, C, H, W] or int labels [N, H, W]."""
    if name == "rgb":
        return (data["rgb"].astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2)
    if name == "normal":
        return (data["normals"].astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2)
    if name == "depth":
        return standardize_depth(data["depth"])[:, None]
    if name == "canny_edge":
        return (data["edges"].astype(np.float32) / 127.5 - 1.0)[:, None]
    if name == "semseg":
        return data["semseg"].astype(np.int64)
    raise ValueError(f"unknown image modality {name}")
