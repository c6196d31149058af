"""How far below its input a sliding-window operator's output may start.

Convolutions and pools read windows of the input in output order. Once output
position p is written, only input elements read by later positions must survive,
and the smallest of those indices is known from the window geometry. An output
placed D bytes below the input never overwrites a live input element when, for
every step, the end of what has been written is at most the first input byte still
needed:  (end of output written at step t) - D <= (first input byte needed after t).
The smallest such D is the allowance's minimum distance (plan.requests.Overlap).

Two write granularities match the portable kernels (kernels/portable):
- per pixel: mf_conv2d_s8 gathers pixel p's whole window (all channels) into its
  im2col scratch before writing any of p's outputs;
- per pixel and channel: the direct depthwise kernel and the pools compute output
  (p, c) from channel c // multiplier of p's window, then write it.

The first input element of a window is taken at (max(0, top row), max(0, left
column)): never later than the true first tap, so D is safe (it can only be large).

The optimised kernels (kernels/armv7em) read ahead of these orders: their
convolutions gather the windows of up to 4 consecutive pixels before writing any of
the 4 pixels' outputs, and their pools read 4 channels' windows before writing those
4 outputs. Reading earlier only relaxes the constraint, so the distances here cover
them (tests/plan/test_windows.py simulates both orders).
"""

from __future__ import annotations

import numpy as np


def _first_index(in_hw: tuple[int, int], out_hw: tuple[int, int], stride, pad_before) -> np.ndarray:
    """Per output pixel (row-major), the index (in pixels) of its window's first input pixel."""
    rows = np.maximum(0, np.arange(out_hw[0]) * stride[0] - pad_before[0])
    cols = np.maximum(0, np.arange(out_hw[1]) * stride[1] - pad_before[1])
    rows = np.minimum(rows, in_hw[0] - 1)
    cols = np.minimum(cols, in_hw[1] - 1)
    return (rows[:, None] * in_hw[1] + cols[None, :]).reshape(-1).astype(np.int64)


def _later_min(first: np.ndarray) -> np.ndarray:
    """For each pixel p, the smallest first-index over pixels after p (+inf-like for the last)."""
    big = np.iinfo(np.int64).max // 4
    suffix = np.minimum.accumulate(first[::-1])[::-1]
    return np.append(suffix[1:], big)


def per_pixel_distance(in_shape, out_shape, stride, pad_before) -> int:
    """Minimum distance for a kernel that reads pixel p's whole window, then writes p."""
    _, h, w, cin = in_shape
    _, oh, ow, cout = out_shape
    first = _first_index((h, w), (oh, ow), stride, pad_before)
    needed = _later_min(first) * cin  # first input byte still needed after pixel p
    written = (np.arange(first.size, dtype=np.int64) + 1) * cout  # output bytes written after p
    return int(max(0, np.max(written[:-1] - needed[:-1]))) if first.size > 1 else 0


def per_channel_distance(in_shape, out_shape, stride, pad_before) -> int:
    """Minimum distance for a kernel that writes output (p, c) after reading channel
    c // multiplier of pixel p's window (multiplier = out channels / in channels)."""
    _, h, w, cin = in_shape
    _, oh, ow, cout = out_shape
    mult = cout // cin
    first = _first_index((h, w), (oh, ow), stride, pad_before)
    pixels = first.size
    channel = np.arange(cout, dtype=np.int64)
    # After writing (p, c): the next step (p, c + 1) reads channel (c + 1) // mult of p's
    # window; steps of later pixels read from their windows' first pixels.
    same_pixel = first[:, None] * cin + (channel[None, :] + 1) // mult
    later = (_later_min(first) * cin)[:, None]
    needed = np.where(channel[None, :] + 1 < cout, np.minimum(same_pixel, later), later)
    written = np.arange(pixels, dtype=np.int64)[:, None] * cout + channel[None, :] + 1
    diff = (written - needed).reshape(-1)[:-1]  # the very last write constrains nothing
    return int(max(0, np.max(diff))) if diff.size else 0
