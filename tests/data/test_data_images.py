"""Resize, centre crop, mode and channel mapping (mcuforge.data.images)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mcuforge.data.images import canonical, convert_array, fit, fit_array, luma


def two_colour(w: int, h: int, split_at: int, a: int, b: int, vertical: bool = False) -> Image.Image:
    x = np.full((h, w), a, np.uint8)
    if vertical:
        x[split_at:, :] = b
    else:
        x[:, split_at:] = b
    return Image.fromarray(x)


def test_crop_only_when_the_shorter_side_fits():
    wide = np.asarray(fit(two_colour(6, 4, 3, 10, 200), 4))  # columns 1..4 of 0..5
    assert wide.tolist() == [[10, 10, 200, 200]] * 4
    tall = np.asarray(fit(two_colour(4, 8, 4, 50, 150, vertical=True), 4))  # rows 2..5 of 0..7
    assert tall[:, 0].tolist() == [50, 50, 150, 150] and (tall == tall[:, :1]).all()
    odd = np.asarray(fit(two_colour(7, 4, 2, 0, 255), 4))  # (7 - 4) // 2 = 1: columns 1..4
    assert odd[0].tolist() == [0, 255, 255, 255]


def test_square_shrink_is_symmetric_and_antialiased():
    out = np.asarray(fit(two_colour(8, 8, 4, 0, 255), 4))
    row = out[0].astype(int).tolist()
    assert (out == out[:1]).all()
    assert row[0] == 0 and row[3] == 255 and 0 < row[1] < 128 < row[2] < 255 and row[1] + row[2] == 255
    assert (np.asarray(fit(Image.new("RGB", (9, 9), (7, 77, 177)), 3)) == (7, 77, 177)).all()


def test_shrink_then_crop_equals_resize_whole_then_crop():
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 256, (30, 50, 3), dtype=np.uint8))  # 50 x 30
    whole = np.asarray(im.resize((17, 10), Image.Resampling.BILINEAR)).astype(int)  # shorter side 30 -> 10
    want = whole[:, 3:13]  # (17 - 10) // 2 = 3
    got = np.asarray(fit(im, 10)).astype(int)
    assert got.shape == (10, 10, 3) and np.abs(got - want).max() <= 1


def test_luma_is_pillows():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (3, 7, 9, 3), dtype=np.uint8)
    want = np.stack([np.asarray(Image.fromarray(im).convert("L")) for im in x])[..., None]
    assert np.array_equal(luma(x), want)
    assert luma(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8)).ravel().tolist() == [255, 0, 76]


def test_convert_array_grey_to_colour_and_back():
    rng = np.random.default_rng(2)
    g = rng.integers(0, 256, (2, 5, 5, 1), dtype=np.uint8)
    rgb = convert_array(g, None, 3)
    assert rgb.shape == (2, 5, 5, 3) and (rgb == g).all()
    assert np.array_equal(convert_array(rgb, None, 1), g)  # equal channels: luma gives the grey back
    out = convert_array(g, 3, None)
    assert out.shape == (2, 3, 3, 1) and out.flags.c_contiguous


@pytest.mark.parametrize(
    ("mode", "pixel", "want"),
    [
        ("RGBA", (200, 100, 50, 0), (0, 0, 0)),  # transparent: black, whatever colour hides under it
        ("RGBA", (200, 100, 50, 255), (200, 100, 50)),
        ("RGBA", (200, 100, 50, 128), (100, 50, 25)),  # c * 128 / 255, rounded
        ("LA", (90, 51), (18,)),
        ("1", 1, (255,)),
    ],
)
def test_canonical_modes(mode, pixel, want):
    out = canonical(Image.new(mode, (2, 2), pixel))
    assert out.mode == ("L" if len(want) == 1 else "RGB")
    assert np.asarray(out).reshape(4, -1)[0].tolist() == list(want)


def test_sixteen_bit_grey_is_scaled():
    im = Image.fromarray(np.array([[0, 65535], [32896, 257]], np.uint16))
    assert im.mode.startswith("I;16")
    assert np.asarray(canonical(im)).tolist() == [[0, 255], [128, 1]]


@pytest.mark.parametrize("shape", [(3, 28, 28, 1), (3, 17, 10, 3), (3, 10, 17, 1), (2, 64, 100, 3), (2, 1, 5, 1)])
@pytest.mark.parametrize("resolution", [1, 4, 9, 32])
def test_fit_array_is_bit_exact_with_fit_per_image(shape, resolution):
    x = np.random.default_rng(4).integers(0, 256, shape, dtype=np.uint8)
    c = shape[3]
    want = np.stack([np.asarray(fit(Image.fromarray(im[:, :, 0] if c == 1 else im), resolution)) for im in x])
    assert np.array_equal(fit_array(x, resolution), want.reshape(len(x), resolution, resolution, c))
