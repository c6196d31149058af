"""Reference kernels of the signal library's streaming operators (family signal):
SignalFramer, SignalStacker, SignalDelay and SignalOverlapAdd, int16.

Each keeps state between invocations (TF-Lite Micro's circular buffers, a FIFO per row,
and overlap-add's accumulator). Each `*_step` function takes the state and returns the
outputs and the new state. A node read from a .tflite has its state as a variable-tensor
input (frontend/signal_options.add_hidden_state; all zeros = TF-Lite Micro's reset
state), which the kernel updates in place, so interpreter.Session carries it; a node
without one runs one invocation from the reset state (`*_reset`).
- Framer: per row, frame_step samples at a time are queued; whenever frame_size are
  queued, the first frame_size are a frame and frame_step are dropped; `valid` is false if
  some frame was not ready. The reset queue holds frame_size - frame_step zeros with
  prefill, else nothing. TF-Lite Micro leaves the rows of a frame not ready as its arena
  held them; we write 0.
- Stacker: each invocation queues num_channels values; the first one is queued again
  stacker_left_context more times; with (left + right + 1) frames queued they are the
  output and stacker_step frames are dropped (else `valid` is false and the output is 0).
- Delay: per row, queue the frame behind delay_length zeros (reset), take the first frame.
- OverlapAdd: per row and frame, add the frame to the accumulator (saturating to int16),
  output its first frame_step samples, shift it by frame_step and zero the end.
"""

from __future__ import annotations

import numpy as np

from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op


def _rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.int16)
    return x.reshape(-1, x.shape[-1] if x.ndim else 1)


# ------------------------------------------------------------ queues in a variable tensor
# A queue in int16 [n]: its length minus `base` as an int32 in the first two values (low,
# high half), then the samples. All zeros is the reset state: `base` zeros queued (the
# framer's prefill), or an empty queue. mf_signal_stream.c keeps the same layout.
def _q_get(row: np.ndarray, base: int) -> np.ndarray:
    n = (int(row[0]) & 0xFFFF) | ((int(row[1]) & 0xFFFF) << 16)
    return row[2 : 2 + n + base].copy()


def _q_put(row: np.ndarray, queue: np.ndarray, base: int) -> None:
    n = (queue.size - base) & 0xFFFFFFFF
    row[0], row[1] = np.array([n & 0xFFFF, n >> 16], np.uint16).view(np.int16)
    row[2 : 2 + queue.size] = queue
    row[2 + queue.size :] = 0


def _framer_base(a) -> int:
    return a.frame_size - a.frame_step if a.prefill else 0


# ------------------------------------------------------------ framer
def framer_reset(a, rows: int) -> list[np.ndarray]:
    fill = a.frame_size - a.frame_step if a.prefill else 0
    return [np.zeros(fill, np.int16) for _ in range(rows)]


def framer_step(a, x: np.ndarray, state: list[np.ndarray]):
    rows = _rows(x)
    n_frames = rows.shape[1] // a.frame_step
    out = np.zeros((rows.shape[0], n_frames, a.frame_size), np.int16)
    valid, new = True, []
    for r, (row, queue) in enumerate(zip(rows, state)):
        for f in range(n_frames):
            queue = np.concatenate([queue, row[f * a.frame_step : (f + 1) * a.frame_step]])
            if queue.size >= a.frame_size:
                out[r, f] = queue[: a.frame_size]
                queue = queue[a.frame_step :]
            else:
                valid = False
        new.append(queue)
    return out, np.array(valid), new


def eval_framer(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    a = node.attrs
    rows = _rows(inputs[0]).shape[0]
    if len(inputs) == 1:
        return list(framer_step(a, inputs[0], framer_reset(a, rows))[:2])
    state, base = inputs[1], _framer_base(a)
    out, valid, queues = framer_step(a, inputs[0], [_q_get(row, base) for row in state])
    for row, q in zip(state, queues):
        _q_put(row, q, base)
    return [out, valid]


# ------------------------------------------------------------ stacker
def stacker_reset(a) -> tuple[np.ndarray, bool]:
    return np.zeros(0, np.int16), False


def stacker_step(a, x: np.ndarray, state: tuple[np.ndarray, bool]):
    queue, has_first = state
    x = np.asarray(x, np.int16).reshape(-1)
    queue = np.concatenate([queue, x] + ([] if has_first else [x] * a.stacker_left_context))
    size = a.num_channels * (a.stacker_left_context + a.stacker_right_context + 1)
    out = np.zeros(size, np.int16)
    valid = queue.size >= size
    if valid:
        out[:] = queue[:size]
        queue = queue[a.num_channels * a.stacker_step :]
    return out, np.array(valid), (queue, True)


def eval_stacker(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """With a state input: [has first frame, 0, then the queue] (zeros: the reset state)."""
    a = node.attrs
    if len(inputs) == 1:
        return list(stacker_step(a, inputs[0], stacker_reset(a))[:2])
    state = inputs[1]
    out, valid, (queue, has_first) = stacker_step(a, inputs[0], (_q_get(state[2:], 0), bool(state[0])))
    state[0], state[1] = int(has_first), 0
    _q_put(state[2:], queue, 0)
    return [out, valid]


# ------------------------------------------------------------ delay
def delay_reset(a, rows: int) -> np.ndarray:
    return np.zeros((rows, a.delay_length), np.int16)


def delay_step(a, x: np.ndarray, state: np.ndarray):
    rows = _rows(x)
    queue = np.concatenate([state, rows], axis=1)
    n = rows.shape[1]
    return queue[:, :n].reshape(np.shape(x)), queue[:, n:]


def eval_delay(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    """With a state input (a variable tensor) it carries over, updated in place."""
    x = inputs[0]
    state = inputs[1] if len(inputs) > 1 else delay_reset(node.attrs, _rows(x).shape[0])
    y, new = delay_step(node.attrs, x, state)
    state[...] = new
    return [y]


# ------------------------------------------------------------ overlap-add
def overlap_add_reset(a, x_shape: tuple[int, ...]) -> np.ndarray:
    rows = int(np.prod(x_shape[:-2], dtype=np.int64))
    return np.zeros((rows, x_shape[-1]), np.int16)


def overlap_add_step(a, x: np.ndarray, state: np.ndarray):
    x = np.asarray(x, np.int16)
    frames = x.reshape(-1, x.shape[-2], x.shape[-1]).astype(np.int32)
    step = a.frame_step
    out = np.zeros((frames.shape[0], frames.shape[1] * step), np.int16)
    acc = state.astype(np.int32).copy()
    for r in range(frames.shape[0]):
        for f in range(frames.shape[1]):
            acc[r] = np.clip(acc[r] + frames[r, f], -32768, 32767)
            out[r, f * step : (f + 1) * step] = acc[r, :step]
            acc[r] = np.r_[acc[r, step:], np.zeros(step, np.int32)]
    return out.reshape(*x.shape[:-2], -1), acc.astype(np.int16)


def eval_overlap_add(g: Graph, node: Node, inputs: list) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    state = inputs[1] if len(inputs) > 1 else overlap_add_reset(node.attrs, x.shape)
    y, new = overlap_add_step(node.attrs, x, state)
    state[...] = new
    return [y]


KERNELS = {
    Op.SIGNAL_FRAMER: eval_framer,
    Op.SIGNAL_STACKER: eval_stacker,
    Op.SIGNAL_DELAY: eval_delay,
    Op.SIGNAL_OVERLAP_ADD: eval_overlap_add,
}
