"""The demo WordPiece vocabulary and the world's sequence formats (spec/tokenizers.md 7, 8.3-8.6).

The vocabulary keeps 4M's special-token layout exactly: [PAD]=0, [UNK]=1, [SOS]=2, [EOS]=3,
sentinels [S_0..S_199] = 4..203, coordinate tokens v0..v3 = 204..4203, then the world's class
names as normalized added tokens, then single characters, `##` continuations and whole words.
"""
import json
import re

CLASS_NAMES = ["sphere", "cube", "cylinder", "cone"]
WORDS = ["a", "an", "empty", "ground", "small", "large", "red", "green", "blue", "yellow", "purple",
         "orange", "white", "gray", "left", "of", "and", "from", "to", "right"]
PAD, UNK, SOS, EOS = 0, 1, 2, 3


def sentinel(i):
    return 4 + i


def build_vocab():
    tokens = ["[PAD]", "[UNK]", "[SOS]", "[EOS]"] + [f"[S_{i}]" for i in range(200)]
    for axis in range(4):
        tokens += [f"v{axis}={n}" for n in range(1000)]
    tokens += CLASS_NAMES
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    tokens += chars + ["##" + c for c in chars if c.isalnum()]
    tokens += [w for w in WORDS if w not in tokens]
    return tokens


def tokenizer_json(tokens):
    """A Hugging Face `tokenizers` JSON with the released file's normalizer, pre-tokenizer and decoder."""
    added = []
    for i, t in enumerate(tokens[:4208]):
        added.append({"id": i, "content": t, "single_word": i >= 4, "lstrip": False, "rstrip": False,
                      "normalized": i >= 4204, "special": True})
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"}, "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(tokens)}},
    }


class Tokenizer:
    """Encodes the world's (lower-case, ASCII) strings exactly as the WordPiece tokenizer does."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.ids = {t: i for i, t in enumerate(tokens)}

    def encode(self, text):
        out = []
        for piece in text.split():
            if piece in self.ids and (self.ids[piece] < 4208):
                out.append(self.ids[piece])
                continue
            for word in re.findall(r"[a-z0-9]+|[^a-z0-9\s]", piece.lower()):
                out += self._wordpiece(word)
        return out

    def _wordpiece(self, word):
        if word in self.ids:
            return [self.ids[word]]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.ids:
                    pieces.append(self.ids[sub])
                    break
                end -= 1
            if end == start:
                return [UNK]
            start = end
        return pieces

    def decode(self, ids):
        words = []
        for i in ids:
            t = self.tokens[i]
            if t.startswith("##") and words:
                words[-1] += t[2:]
            else:
                words.append(t)
        return " ".join(words).replace(" ,", ",")


def det_string(boxes):
    """spec 8.4: boxes sorted by xmin^2 + ymin^2, coordinates round(v * 999) (banker's rounding)."""
    ordered = sorted(boxes, key=lambda b: b["xmin"] ** 2 + b["ymin"] ** 2)
    return " ".join(f"v0={round(b['xmin'] * 999)} v1={round(b['ymin'] * 999)} v2={round(b['xmax'] * 999)} "
                    f"v3={round(b['ymax'] * 999)} {b['class_name']}" for b in ordered)


def palette_string(palette):
    """spec 8.6: `v1={k} v0={r} v0={g} v0={b} ...`."""
    parts = [f"v1={len(palette)}"]
    for entry in palette:
        parts += [f"v0={c}" for c in entry["rgb"]]
    return " ".join(parts)


def metadata_chunks(record):
    """spec 8.5 chunks: n_coco_instances (7) = object count, coco_instance_diversity (8) = distinct shapes."""
    objects = record["objects"]
    count = min(999, len(objects))
    diversity = min(999, len({o["shape"] for o in objects}))
    return [f"v1=7 v0={count}", f"v1=8 v0={diversity}"]


def sequences(record):
    """The world's text modalities for one scene record (caption, det, color_palette, metadata chunks)."""
    return {
        "caption": record["caption"],
        "det": det_string(record["boxes"]),
        "color_palette": palette_string(record["palette"]),
        "metadata": metadata_chunks(record),
    }


def write_tokenizer(path):
    tokens = build_vocab()
    with open(path, "w") as f:
        json.dump(tokenizer_json(tokens), f, ensure_ascii=False)
    return Tokenizer(tokens)
