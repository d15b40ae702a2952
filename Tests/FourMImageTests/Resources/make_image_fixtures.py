"""Writes the small image fixtures of the FourMTokenizers image tests (run once, by hand).

    pip install pillow==10.4.0 numpy    # any Pillow from 4.x to 12.x gives the same pixels
    python3 make_image_fixtures.py      # from this folder

Pillow 13 changed `Image.resize` to choose the order of the two passes by a cost estimate
(earlier versions always resample horizontally first, as ml-4m's environment did); with it the
resize references differ by a few levels on some sizes, so the script refuses to run there.

Outputs (all in this folder; the Swift tests never run Python):
  *.png / *.jpg       decoder inputs (8/16-bit, gray, RGB, RGBA, LA, palette, tRNS,
                      Adam7-interlaced PNG; baseline, progressive, gray and CMYK JPEG)
  expected.json       the pixels Pillow decodes from each file (base64, row-major, interleaved),
                      and PIL-bicubic resize / normalisation references (spec/model.md 7.1
                      step 1 and 6.13): torchvision centre crop, Image.resize(BICUBIC), to_tensor,
                      normalize.
"""
import base64
import json
import struct
import zlib

import numpy as np
from PIL import Image

import PIL

if int(PIL.__version__.split(".")[0]) >= 13:
    raise SystemExit("use Pillow <= 12 (see the docstring)")

rng = np.random.default_rng(20240611)
out = {"pillow": Image.__version__, "decoded": {}, "resize": [], "normalize": []}


def hexpix(img):  # base64 of the row-major interleaved 8-bit pixels
    return base64.b64encode(np.asarray(img).astype(np.uint8).tobytes()).decode()


def record(name, img):
    out["decoded"][name] = {"width": img.width, "height": img.height,
                            "channels": len(img.getbands()), "mode": img.mode,
                            "pixels": hexpix(img)}


def gradient(w, h, c):
    y, x = np.mgrid[0:h, 0:w]
    planes = [(x * 255 // max(w - 1, 1)), (y * 255 // max(h - 1, 1)),
              ((x + y) * 37) % 256, (x * 53 + y * 11) % 256][:c]
    return np.stack(planes, -1).astype(np.uint8)


# --- PNG inputs --------------------------------------------------------------------------
Image.fromarray(gradient(13, 7, 1)[..., 0], "L").save("gray8.png")
Image.fromarray(gradient(11, 9, 3), "RGB").save("rgb8.png")
Image.fromarray(gradient(9, 6, 4), "RGBA").save("rgba8.png")
Image.fromarray(gradient(7, 5, 2), "LA").save("gray_alpha8.png")

pal = Image.fromarray((gradient(10, 6, 1)[..., 0] // 64).astype(np.uint8), "P")
pal.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 250, 250, 20])
pal.save("palette.png")
pal.save("palette_trns.png", transparency=2)

# 16-bit gray and RGB written with raw zlib (Pillow cannot write 16-bit RGB PNG).
def png_chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def write_png(path, arr, bitdepth, colortype, interlace=False):
    h, w = arr.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, bitdepth, colortype, 0, 0, 1 if interlace else 0)
    def rows(a):
        return b"".join(b"\x00" + a[r].tobytes() for r in range(a.shape[0]))
    if not interlace:
        raw = rows(arr)
    else:  # Adam7
        raw = b""
        for (y0, x0, dy, dx) in [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4),
                                 (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]:
            sub = arr[y0::dy, x0::dx]
            if sub.size:
                raw += rows(np.ascontiguousarray(sub))
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    open(path, "wb").write(data)


g16 = (rng.integers(0, 65536, size=(5, 8))).astype(">u2")
write_png("gray16.png", g16, 16, 0)
rgb16 = (rng.integers(0, 65536, size=(4, 7, 3))).astype(">u2")
write_png("rgb16.png", rgb16, 16, 2)
write_png("interlaced.png", gradient(19, 11, 3), 8, 2, interlace=True)

# What Image(contentsOf:) should return: gray stays 1 channel, anything with alpha (LA, tRNS)
# becomes RGBA, palette and 16-bit RGB become 8-bit RGB.
for name, mode in [("gray8.png", "L"), ("rgb8.png", "RGB"), ("rgba8.png", "RGBA"),
                   ("palette.png", "RGB"), ("interlaced.png", "RGB"), ("rgb16.png", "RGB"),
                   ("palette_trns.png", "RGBA")]:
    record(name, Image.open(name).convert(mode))
record("gray_alpha8.png", Image.open("gray_alpha8.png").convert("RGBA"))
# 16-bit gray: Pillow opens it as mode I;16 / I; store the exact 16-bit values and the
# high byte (what the 8-bit decoder should return, within 1 for libpng's rounding).
g = np.asarray(Image.open("gray16.png")).astype(np.uint16)
out["decoded"]["gray16.png"] = {"width": 8, "height": 5, "channels": 1, "mode": Image.open("gray16.png").mode,
                                "pixels": base64.b64encode((g >> 8).astype(np.uint8).tobytes()).decode(),
                                "values16": [int(v) for v in g.reshape(-1)]}

# --- JPEG inputs -------------------------------------------------------------------------
photo = np.clip(gradient(16, 16, 3).astype(int) + rng.integers(-20, 20, size=(16, 16, 3)), 0, 255).astype(np.uint8)
Image.fromarray(photo, "RGB").save("rgb.jpg", quality=90)
Image.fromarray(photo, "RGB").save("progressive.jpg", quality=85, progressive=True)
Image.fromarray(photo[..., 1], "L").save("gray.jpg", quality=90)
Image.fromarray(np.concatenate([photo, photo[..., :1]], -1), "CMYK").save("cmyk.jpg", quality=90)
for name in ["rgb.jpg", "progressive.jpg", "gray.jpg"]:
    record(name, Image.open(name))
record("cmyk.jpg", Image.open("cmyk.jpg").convert("RGB"))

# --- PIL bicubic resize and normalisation references --------------------------------------
src = np.clip(gradient(50, 47, 3).astype(int) + rng.integers(-40, 40, size=(47, 50, 3)), 0, 255).astype(np.uint8)
src[10:20, 5:25] = [250, 20, 30]  # a sharp block, so ringing and clipping are exercised
Image.fromarray(src, "RGB").save("photo.png")
im = Image.open("photo.png").convert("RGB")


def center_crop(img):  # torchvision.transforms.functional.center_crop(img, (s, s))
    s = min(img.size)
    top = int(round((img.height - s) / 2.0))
    left = int(round((img.width - s) / 2.0))
    return img.crop((left, top, left + s, top + s))


cropped = center_crop(im)
out["crop"] = {"left": int(round((im.width - 47) / 2.0)), "top": 0, "size": 47}
corner = im.crop((0, 0, 12, 10))
for (label, base, size) in [("crop47_to16", cropped, (16, 16)), ("corner12x10_to31x23", corner, (31, 23)),
                            ("full_to21x13", im, (21, 13)), ("full_to61x22", im, (61, 22)),
                            ("full_to50x20", im, (50, 20))]:
    r = base.resize(size, Image.BICUBIC)
    source = "crop" if base is cropped else ("corner" if base is corner else "full")
    out["resize"].append({"label": label, "source": source, "width": size[0],
                          "height": size[1], "channels": 3, "pixels": hexpix(r)})
gray_src = im.convert("L")
out["gray_luma"] = hexpix(gray_src)
r = gray_src.resize((9, 17), Image.BICUBIC)
out["resize"].append({"label": "gray_full_to9x17", "source": "gray", "width": 9,
                      "height": 17, "channels": 1, "pixels": hexpix(r)})

small = cropped.resize((6, 6), Image.BICUBIC)
x = np.asarray(small).astype(np.float32).transpose(2, 0, 1) / np.float32(255)
for (label, mean, std) in [("imagenet", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
                           ("symmetric", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]:
    m = np.asarray(mean, dtype=np.float32)[:, None, None]
    s = np.asarray(std, dtype=np.float32)[:, None, None]
    y = (x - m) / s
    out["normalize"].append({"label": label, "size": 6, "shape": [1, 3, 6, 6],
                             "values": [float(v) for v in y.reshape(-1)]})

json.dump(out, open("expected.json", "w"), separators=(",", ":"))
