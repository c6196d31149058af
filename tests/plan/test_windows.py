"""The sliding-window overlap distances against a brute-force simulation of the kernels'
read/write order: at the computed distance no input byte is overwritten before its last
read, and one byte less does overwrite one (the distance is tight for these shapes)."""

import itertools

import pytest

from mcuforge.plan.windows import per_channel_distance, per_pixel_distance


def windows(in_shape, out_shape, k, stride, pad):
    _, h, w, _ = in_shape
    _, oh, ow, _ = out_shape
    for oy, ox in itertools.product(range(oh), range(ow)):
        taps = [(oy * stride[0] - pad[0] + ky, ox * stride[1] - pad[1] + kx) for ky in range(k[0]) for kx in range(k[1])]
        yield [(r, c) for r, c in taps if 0 <= r < h and 0 <= c < w]


def clobbers(events, distance):
    """events: ('r', input byte) / ('w', output byte) in kernel order; output starts
    `distance` bytes below the input. True if a byte is read after it was overwritten."""
    written = set()
    for kind, i in events:
        if kind == "w":
            written.add(i - distance)
        elif i in written:
            return True
    return False


def per_pixel_events(in_shape, out_shape, k, stride, pad):
    _, _, w, cin = in_shape
    cout = out_shape[3]
    for p, taps in enumerate(windows(in_shape, out_shape, k, stride, pad)):
        yield from (("r", (r * w + c) * cin + ch) for r, c in taps for ch in range(cin))
        yield from (("w", p * cout + oc) for oc in range(cout))


def per_channel_events(in_shape, out_shape, k, stride, pad):
    _, _, w, cin = in_shape
    cout = out_shape[3]
    mult = cout // cin
    for p, taps in enumerate(windows(in_shape, out_shape, k, stride, pad)):
        for oc in range(cout):
            yield from (("r", (r * w + c) * cin + oc // mult) for r, c in taps)
            yield ("w", p * cout + oc)


CASES = [
    # in_shape, out_shape, kernel, stride, pad (top, left)
    ((1, 6, 6, 4), (1, 6, 6, 4), (3, 3), (1, 1), (1, 1)),
    ((1, 6, 6, 4), (1, 3, 3, 8), (3, 3), (2, 2), (0, 0)),
    ((1, 7, 5, 3), (1, 7, 5, 6), (3, 3), (1, 1), (1, 1)),
    ((1, 8, 8, 2), (1, 4, 4, 2), (2, 2), (2, 2), (0, 0)),
    ((1, 5, 9, 4), (1, 5, 9, 2), (5, 5), (1, 1), (2, 2)),
]


@pytest.mark.parametrize("case", CASES)
def test_per_pixel_distance_safe_and_tight(case):
    d = per_pixel_distance(case[0], case[1], case[3], case[4])
    events = list(per_pixel_events(*case))
    assert not clobbers(events, d)
    if d > 0:
        assert clobbers(events, d - 1)


@pytest.mark.parametrize("case", CASES)
def test_per_channel_distance_safe(case):
    in_shape, out_shape = case[0], case[1]
    if out_shape[3] % in_shape[3]:
        pytest.skip("not a depthwise shape")
    d = per_channel_distance(in_shape, out_shape, case[3], case[4])
    events = list(per_channel_events(*case))
    assert not clobbers(events, d)
    if d > 0:
        assert clobbers(events, d - 1)


# The armv7em kernels (kernels/armv7em) read ahead of the portable order: the
# convolutions gather the windows of up to 4 consecutive pixels before writing any of
# their outputs (channel by channel across the 4 pixels), and the pools read 4
# channels' windows before writing those 4 outputs. Reading earlier only relaxes the
# constraint, so the portable distances must stay safe for these orders too.
def grouped_pixel_events(in_shape, out_shape, k, stride, pad, group=4):
    _, _, w, cin = in_shape
    cout = out_shape[3]
    wins = list(windows(in_shape, out_shape, k, stride, pad))
    for p0 in range(0, len(wins), group):
        pixels = range(p0, min(p0 + group, len(wins)))
        for p in pixels:
            yield from (("r", (r * w + c) * cin + ch) for r, c in wins[p] for ch in range(cin))
        for oc in range(cout):
            yield from (("w", p * cout + oc) for p in pixels)


def grouped_channel_events(in_shape, out_shape, k, stride, pad, group=4):
    _, _, w, cin = in_shape
    cout = out_shape[3]
    mult = cout // cin
    for p, taps in enumerate(windows(in_shape, out_shape, k, stride, pad)):
        for oc0 in range(0, cout, group):
            chans = range(oc0, min(oc0 + group, cout))
            for oc in chans:
                yield from (("r", (r * w + c) * cin + oc // mult) for r, c in taps)
            yield from (("w", p * cout + oc) for oc in chans)


@pytest.mark.parametrize("case", CASES)
def test_per_pixel_distance_safe_for_pixel_groups(case):
    d = per_pixel_distance(case[0], case[1], case[3], case[4])
    assert not clobbers(list(grouped_pixel_events(*case)), d)


@pytest.mark.parametrize("case", CASES)
def test_per_channel_distance_safe_for_channel_groups(case):
    in_shape, out_shape = case[0], case[1]
    if out_shape[3] % in_shape[3]:
        pytest.skip("not a depthwise shape")
    d = per_channel_distance(in_shape, out_shape, case[3], case[4])
    assert not clobbers(list(grouped_channel_events(*case)), d)


@pytest.mark.parametrize("pixels, cin, cout", [(9, 8, 48), (13, 16, 8), (7, 12, 12), (25, 3, 5)])
def test_pointwise_distance_safe_for_pixel_groups(pixels, cin, cout):
    """plan/lifetimes.py's pointwise allowance, P * max(0, Cout - Cin), against groups
    of 4 pixels copied to scratch before any of their outputs is written."""
    shape_in, shape_out = (1, 1, pixels, cin), (1, 1, pixels, cout)
    d = max(0, pixels * (cout - cin))
    events = list(grouped_pixel_events(shape_in, shape_out, (1, 1), (1, 1), (0, 0)))
    assert not clobbers(events, d)
    if cout > cin:  # the simulation does see a clobber when the output sits on the input
        assert clobbers(events, 0)
