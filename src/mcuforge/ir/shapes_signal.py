"""Shape rules of the signal family (TF-Lite Micro's signal-library custom operators),
merged into ir/shapes.py's RULES. They also refuse what TF-Lite Micro's Prepare refuses
(ranks) and what its Eval would read past the end of (one sentence naming the node)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir import ops as O
from mcuforge.ir.ops import Op
from mcuforge.ref.signal_fft import check_fft_length

if TYPE_CHECKING:  # shapes.py imports this module; its _Ctx is only needed for annotations
    from mcuforge.ir.shapes import Shape, _Ctx


def _state(ctx: _Ctx, shape: Shape) -> None:
    """The state input (frontend/signal_options.add_hidden_state), when the node has one."""
    if len(ctx.node.inputs) > 1 and ctx.shape(1, "state") != tuple(shape):
        raise ctx.bad(f"its state has shape {ctx.shape(1, 'state')}, expected {tuple(shape)}")


def _rank1(ctx: _Ctx, i: int = 0, what: str = "input") -> Shape:
    return ctx.shape(i, what, ranks=(1,))


def window(ctx: _Ctx, _a: O.SignalWindowAttrs) -> Shape:
    x, w = ctx.shape(0), _rank1(ctx, 1, "window")
    size = 1
    for d in x:
        size *= d
    if not x or w[0] == 0 or size % w[0]:
        raise ctx.bad(f"the input of shape {x} is not a whole number of windows of {w[0]} samples")
    return x


def fft_auto_scale(ctx: _Ctx, _a) -> list[Shape]:
    return [_rank1(ctx), ()]


def rfft(ctx: _Ctx, a: O.SignalRfftAttrs) -> Shape:
    x = ctx.shape(0)
    check_fft_length(a.fft_length, ctx.where)
    if a.T != 7:
        raise UnsupportedError(f"{ctx.where}: only the int16 SignalRfft (T = 7) is supported, not T = {a.T}")
    if not x or x[-1] > a.fft_length:
        raise ctx.bad(f"frames of shape {x} are longer than fft_length {a.fft_length}")
    return (*x[:-1], a.fft_length + 2)


def energy(ctx: _Ctx, a: O.SignalEnergyAttrs) -> Shape:
    (n,) = _rank1(ctx)
    if n % 2 or not 0 <= a.start_index <= a.end_index <= n // 2:
        raise ctx.bad(f"bins [{a.start_index}, {a.end_index}) do not fit a spectrum of {n // 2} complex values")
    return (n // 2,)


def filter_bank(ctx: _Ctx, a: O.SignalFilterBankAttrs) -> Shape:
    _rank1(ctx)
    for i, what in ((3, "frequency starts"), (4, "weight starts"), (5, "channel widths")):
        if _rank1(ctx, i, what)[0] < a.num_channels + 1:
            raise ctx.bad(f"the {what} hold fewer than num_channels + 1 = {a.num_channels + 1} entries")
    return (a.num_channels,)


def same_rank1(ctx: _Ctx, _a) -> Shape:
    return _rank1(ctx)


def spectral_subtraction(ctx: _Ctx, a: O.SignalSpectralSubtractionAttrs) -> list[Shape]:
    (n,) = _rank1(ctx)
    if n != a.num_channels:
        raise ctx.bad(f"the input holds {n} channels, but num_channels is {a.num_channels}")
    _state(ctx, (n,))
    return [(n,), (n,)]


def pcan(ctx: _Ctx, _a: O.SignalPcanAttrs) -> Shape:
    x = _rank1(ctx)
    if _rank1(ctx, 1, "noise estimate") != x:
        raise ctx.bad("the noise estimate and the signal differ in length")
    if _rank1(ctx, 2, "gain table")[0] < 125:
        raise ctx.bad("the gain table holds fewer than the 125 entries 32-bit inputs need")
    return x


def framer(ctx: _Ctx, a: O.SignalFramerAttrs) -> list[Shape]:
    x = ctx.shape(0)
    if not x or a.frame_step < 1 or a.frame_size < 1 or x[-1] < a.frame_step or x[-1] % a.frame_step:
        raise ctx.bad(f"rows of {x[-1] if x else 0} samples are not a whole number of frame steps {a.frame_step}")
    _state(ctx, (int(np.prod(x[:-1], dtype=np.int64)), a.frame_size + a.frame_step + 2))
    return [(*x[:-1], x[-1] // a.frame_step, a.frame_size), ()]


def stacker(ctx: _Ctx, a: O.SignalStackerAttrs) -> list[Shape]:
    (n,) = _rank1(ctx)
    if n != a.num_channels or a.stacker_step < 1 or min(a.stacker_left_context, a.stacker_right_context) < 0:
        raise ctx.bad(f"the input holds {n} channels (num_channels {a.num_channels}), or the context is negative")
    _state(ctx, (n * (2 * a.stacker_left_context + a.stacker_right_context + 2) + 4,))
    return [(n * (a.stacker_left_context + a.stacker_right_context + 1),), ()]


def delay(ctx: _Ctx, a: O.SignalDelayAttrs) -> Shape:
    x = ctx.shape(0)
    if not x or a.delay_length < 0:
        raise ctx.bad(f"a delay of {a.delay_length} samples on shape {x} is impossible")
    _state(ctx, (int(np.prod(x[:-1], dtype=np.int64)), a.delay_length))
    return x


def overlap_add(ctx: _Ctx, a: O.SignalOverlapAddAttrs) -> Shape:
    x = ctx.shape(0)
    if a.T != 7:
        raise UnsupportedError(f"{ctx.where}: only the int16 SignalOverlapAdd (T = 7) is supported, not T = {a.T}")
    if len(x) < 2 or not 1 <= a.frame_step <= x[-1]:
        raise ctx.bad(f"frames of shape {x} do not take a frame step of {a.frame_step}")
    _state(ctx, (int(np.prod(x[:-2], dtype=np.int64)), x[-1]))
    return (*x[:-2], x[-2] * a.frame_step)


RULES = {
    Op.SIGNAL_WINDOW: window,
    Op.SIGNAL_FFT_AUTO_SCALE: fft_auto_scale,
    Op.SIGNAL_RFFT: rfft,
    Op.SIGNAL_ENERGY: energy,
    Op.SIGNAL_FILTER_BANK: filter_bank,
    Op.SIGNAL_FILTER_BANK_SQUARE_ROOT: same_rank1,
    Op.SIGNAL_FILTER_BANK_SPECTRAL_SUBTRACTION: spectral_subtraction,
    Op.SIGNAL_PCAN: pcan,
    Op.SIGNAL_FILTER_BANK_LOG: same_rank1,
    Op.SIGNAL_FRAMER: framer,
    Op.SIGNAL_STACKER: stacker,
    Op.SIGNAL_DELAY: delay,
    Op.SIGNAL_OVERLAP_ADD: overlap_add,
}
