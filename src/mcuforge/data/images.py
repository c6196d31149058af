"""Image decoding, resizing and channel mapping (Pillow), for files and uint8 arrays.

Every image becomes R x R: the shorter side is resized to R (bilinear; Pillow
antialiases when shrinking) and the longer side centre-cropped, done as one Pillow
resize of the matching source box (the same sampling as resizing the whole image and
cropping afterwards, at a fraction of the cost). A square image is just resized. A
JPEG much larger than R is first decoded at a reduced scale (Pillow's draft mode).

Channels: grey -> colour repeats the channel; colour -> grey is Pillow's "L" conversion
(ITU-R 601-2 luma, L = (19595 R + 38470 G + 7471 B + 2**15) >> 16). Alpha is composited
over black, so hidden colour under transparent pixels never leaks into the data. 16-bit
grey is scaled to 0..255.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mcuforge.errors import DataError

GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})
WIDE_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})  # 16-bit grey (PNG), scaled to 8 bits
ALPHA_MODES = frozenset({"LA", "RGBA", "PA"})
# What Pillow raises on a broken file: OSError (also UnidentifiedImageError and truncated
# data), SyntaxError and struct.error from plugin parsers, ValueError on bad headers.
IMAGE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, Image.DecompressionBombError)
LUMA = (19595, 38470, 7471)  # Pillow's rgb2l weights in 1/65536 (ITU-R 601-2: 0.299, 0.587, 0.114)


@dataclass(frozen=True)
class Probe:
    size: tuple[int, int]  # (width, height)
    grey: bool


def palette_is_grey(im: Image.Image) -> bool:
    """Whether a "P" image's palette holds only greys, read from the header (no decode)."""
    if im.palette is None:
        return False
    rawmode, data = im.palette.getdata()
    if not set("RGB") <= set(rawmode) or ";" in rawmode:
        return False
    pal = np.frombuffer(data, dtype=np.uint8)
    pal = pal[: pal.size - pal.size % len(rawmode)].reshape(-1, len(rawmode))
    r, g, b = (pal[:, rawmode.index(ch)] for ch in "RGB")
    return bool(np.array_equal(r, g) and np.array_equal(g, b))


def is_grey(im: Image.Image) -> bool:
    return im.mode in GREY_MODES or (im.mode in ("P", "PA") and palette_is_grey(im))


def probe(path: Path) -> Probe:
    """Size and greyness from the file's header (Pillow opens lazily)."""
    try:
        with Image.open(path) as im:
            return Probe(im.size, is_grey(im))
    except IMAGE_ERRORS as e:
        raise DataError(f"cannot read image {path}; replace or remove it") from e


def over_black(a: np.ndarray) -> np.ndarray:
    """(H, W, C + 1) uint8 with straight alpha last -> (H, W, C) composited over black."""
    colour, alpha = a[..., :-1].astype(np.uint16), a[..., -1:].astype(np.uint16)
    return ((colour * alpha + 127) // 255).astype(np.uint8)


def canonical(im: Image.Image) -> Image.Image:
    """Any decoded mode -> "L" or "RGB" (grey stays grey)."""
    mode = im.mode
    if mode in WIDE_MODES:  # 0..65535 -> 0..255, rounded
        a = np.clip(np.asarray(im, dtype=np.int64), 0, 65535)
        return Image.fromarray(((a * 255 + 32767) // 65535).astype(np.uint8))
    if mode in ("P", "PA"):
        grey = palette_is_grey(im)
        alpha = mode == "PA" or "transparency" in im.info
        im = im.convert(("LA" if grey else "RGBA") if alpha else ("L" if grey else "RGB"))
        mode = im.mode
    if mode in ALPHA_MODES:
        return Image.fromarray(
            np.squeeze(over_black(np.asarray(im)), axis=2) if mode == "LA" else over_black(np.asarray(im))
        )
    if mode in ("L", "RGB"):
        return im
    if mode in ("La", "RGBa"):  # premultiplied already: drop alpha
        return im.convert("L" if mode == "La" else "RGB")
    return im.convert("L" if mode in GREY_MODES else "RGB")


def fit_box(w: int, h: int, resolution: int) -> tuple[float, float, float, float]:
    """The source box of a w x h image that becomes the R x R result: the centre crop of
    the image resized to shorter side R, in source pixels."""
    r = resolution
    s = min(w, h)
    nw, nh = max(r, int(w * r / s + 0.5)), max(r, int(h * r / s + 0.5))  # the resized whole image
    left, top = (nw - r) // 2, (nh - r) // 2
    sx, sy = w / nw, h / nh
    return (left * sx, top * sy, (left + r) * sx, (top + r) * sy)


def fit(im: Image.Image, resolution: int) -> Image.Image:
    """Shorter side resized to `resolution`, longer side centre-cropped (see module doc)."""
    w, h = im.size
    if (w, h) == (resolution, resolution):
        return im
    return im.resize((resolution, resolution), Image.Resampling.BILINEAR, box=fit_box(w, h, resolution))


def decode(path: Path, resolution: int | None, channels: int) -> np.ndarray:
    """One image file -> uint8 (R, R, channels), or its native size when resolution is None."""
    try:
        with Image.open(path) as im:
            if resolution is not None:  # JPEG only: decode at 1/2, 1/4 or 1/8 scale while that stays >= R
                im.draft(im.mode, (resolution, resolution))
            out = canonical(im)
            if channels == 1 and out.mode == "RGB":
                out = out.convert("L")  # before resizing: a third of the work
            if resolution is not None:
                out = fit(out, resolution)
            if channels == 3 and out.mode == "L":
                out = out.convert("RGB")
            a = np.asarray(out, dtype=np.uint8)
    except IMAGE_ERRORS as e:
        raise DataError(f"cannot decode image {path}; replace or remove it") from e
    return a.reshape(a.shape[0], a.shape[1], channels)


def luma(x: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 -> (..., 1) uint8, bit-exact with Pillow's convert("L")."""
    out = np.empty(x.shape[:-1] + (1,), dtype=np.uint8)
    flat_in, flat_out = x.reshape(-1, 3), out.reshape(-1)
    step = 1 << 20  # pixels per chunk: bounds the uint32 temporaries to a few MB
    for i in range(0, flat_in.shape[0], step):
        p = flat_in[i : i + step].astype(np.uint32)
        flat_out[i : i + step] = (p[:, 0] * LUMA[0] + p[:, 1] * LUMA[1] + p[:, 2] * LUMA[2] + 0x8000) >> 16
    return out


def map_channels(x: np.ndarray, channels: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, H, W, channels)."""
    if x.shape[3] == channels:
        return x
    if channels == 3:
        return np.repeat(x, 3, axis=3)
    return luma(x)


def as_image(a: np.ndarray) -> Image.Image:
    return Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a)


def resize_rows(x: np.ndarray, r: int, x0: float, x1: float) -> np.ndarray:
    """(K, H, W, C) -> (K, H, r, C): Pillow's horizontal pass over all images at once (it
    treats rows independently, so the images stacked into one tall strip do not mix)."""
    k, h, w, c = x.shape
    tall = as_image(np.ascontiguousarray(x).reshape(k * h, w, c))
    return np.asarray(tall.resize((r, k * h), Image.Resampling.BILINEAR, box=(x0, 0, x1, k * h))).reshape(k, h, r, c)


def resize_cols(x: np.ndarray, r: int, y0: float, y1: float) -> np.ndarray:
    """(K, H, W, C) -> (K, r, W, C): the vertical pass, the images side by side."""
    k, h, w, c = x.shape
    side = as_image(np.ascontiguousarray(x.transpose(1, 0, 2, 3)).reshape(h, k * w, c))
    out = np.asarray(side.resize((k * w, r), Image.Resampling.BILINEAR, box=(0, y0, k * w, y1)))
    return out.reshape(r, k, w, c).transpose(1, 0, 2, 3)


def two_pass(x: np.ndarray, r: int, box: tuple[float, float, float, float], rows_first: bool) -> np.ndarray:
    x0, y0, x1, y1 = box
    if rows_first:
        return resize_cols(resize_rows(x, r, x0, x1), r, y0, y1)
    return resize_rows(resize_cols(x, r, y0, y1), r, x0, x1)


def pass_order(h: int, w: int, c: int, r: int, box: tuple[float, float, float, float]) -> bool | None:
    """Which pass Pillow runs first for this geometry (its choice depends on the shape and
    the version), found by comparing both orders with one real resize of a seeded random
    image; None when neither matches (then images are resized one by one)."""
    probe_image = np.random.default_rng(0).integers(0, 256, (1, h, w, c), dtype=np.uint8)
    want = np.asarray(fit(as_image(probe_image[0]), r)).reshape(1, r, r, c)
    for rows_first in (True, False):
        if np.array_equal(two_pass(probe_image, r, box, rows_first), want):
            return rows_first
    return None


def fit_array(x: np.ndarray, resolution: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, R, R, C), bit-exact with `fit` on each image.

    Pillow resizes in two separable passes, each rounded to uint8; each pass runs once
    per chunk of images (see resize_rows, resize_cols) instead of once per image: about
    20 times faster for 28 x 28 images."""
    n, h, w, c = x.shape
    r = resolution
    if (h, w) == (r, r):
        return x
    box = fit_box(w, h, r)
    out = np.empty((n, r, r, c), dtype=np.uint8)
    order = pass_order(h, w, c, r, box)
    if order is None:
        for i in range(n):
            out[i] = np.asarray(fit(as_image(x[i]), r)).reshape(r, r, c)
        return out
    step = max(1, (1 << 22) // max(h * w, r * r))  # images per chunk: strips of a few MB
    for i in range(0, n, step):
        out[i : i + step] = two_pass(x[i : i + step], r, box, order)
    return out


def convert_array(x: np.ndarray, resolution: int | None, channels: int | None) -> np.ndarray:
    """Images of an array source at the requested size and channel count, C-contiguous."""
    c = x.shape[3] if channels is None else channels
    if c < x.shape[3]:
        x = map_channels(x, c)  # fewer channels first: less to resize
    if resolution is not None:
        x = fit_array(x, resolution)
    return np.ascontiguousarray(map_channels(x, c))
