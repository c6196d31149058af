"""Import-time rewrites of a decoded .tflite, before it becomes an ir.Graph.

Three things the TFLite converter emits are rewritten before they become graph nodes:

1. Shape computations. A Keras model with an open batch size computes shapes at run
   time: SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE and similar chains of small int32
   ops. Every input of such a chain is a constant or the static shape of a tensor
   (the stored shape has batch 1 where shape_signature says -1), so `fold_constants`
   evaluates them with NumPy and turns their outputs into constant tensors.
2. Dilated convolutions. The converter writes a dilated convolution as
   SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D (VALID, no dilation) ->
   BATCH_TO_SPACE_ND (a Conv1D with EXPAND_DIMS / SQUEEZE around the convolution).
   `fuse_dilated_convs` (dilated.py) turns the chain back into one dilated convolution
   (see its docstring for why the int8 values are unchanged); SPACE_TO_BATCH_ND and
   BATCH_TO_SPACE_ND are operators of the IR too, so a chain it does not fit runs as is.

3. The DEQUANTIZE nodes in front of TFLite_Detection_PostProcess: the node takes their
   int8 inputs (apps/ssd.py `fold_dequantize`).

All work on a `RawModel` (raw_model.py): ir.Tensors plus `RawOp`s that keep the TFLite
operator name, so that ops outside the Op enum can be represented until they are gone.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mcuforge.errors import ModelFormatError
from mcuforge.apps.ssd import fold_dequantize
from mcuforge.frontend.dilated import fuse_dilated_convs
from mcuforge.frontend.raw_model import RawModel, RawOp
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Tensor
from mcuforge.ir.shapes import reshape_target, strided_slice_ranges
from mcuforge.ir.shapes_spatial import gather_dims
from mcuforge.ref.spatial import gather

# A folded result may hold at most this many elements: shape computations are tiny,
# and the cap keeps a corrupted FILL or RANGE from exhausting memory.
MAX_FOLD_ELEMENTS = 1 << 20
INT_DTYPES = ("int32", "int64", "bool")


__all__ = ["FOLDERS", "RawModel", "RawOp", "fold", "fold_constants", "fuse_dilated_convs"]


def fold(m: RawModel) -> None:
    """All import-time rewrites, in place."""
    fold_constants(m)
    fuse_dilated_convs(m)
    fold_dequantize(m)  # family ssd: the DEQUANTIZE nodes feeding TFLite_Detection_PostProcess


# ------------------------------------------------------------ constant folding
def _ints(v: np.ndarray) -> list[int]:
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _axis(a: int, rank: int, where: str) -> int:
    if not -rank <= a < rank:
        raise ModelFormatError(f"{where}: axis {a} is out of range for rank {rank}")
    return a % rank


def _check_size(shape, where: str) -> None:
    if int(np.prod(shape, dtype=np.float64)) > MAX_FOLD_ELEMENTS:
        raise ModelFormatError(f"{where}: the constant it computes would hold more than {MAX_FOLD_ELEMENTS} elements")


# Fused activation of int32 ADD/SUB/MUL: CalculateActivationRange<int32_t> bounds.
_ACT_RANGE = {O.Act.NONE: (None, None), O.Act.RELU: (0, None), O.Act.RELU6: (0, 6), O.Act.RELU_N1_TO_1: (-1, 1)}


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], divides: bool = False):
    def run(op: RawOp, v: list, _shapes, _out) -> list[np.ndarray]:
        a, b = (np.asarray(x, dtype=np.int64) for x in v[:2])
        _check_size(np.broadcast_shapes(a.shape, b.shape), op.where)
        if divides and np.any(b == 0):
            raise ModelFormatError(f"{op.where}: divides by zero")
        r = fn(a, b)
        act = getattr(op.attrs, "activation", O.Act.NONE)
        lo, hi = _ACT_RANGE.get(act, (None, None))
        return [np.clip(r, lo, hi) if lo is not None or hi is not None else r]

    return run


def _trunc_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C++ integer division (TFLite's int32 DIV): the quotient rounds toward zero."""
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


def _strided_slice(op: RawOp, v, _s, _o):
    x = np.asarray(v[0])
    ranges, out = strided_slice_ranges(x.shape, v[1], v[2], v[3], op.attrs, op.where)
    return [x[np.ix_(*ranges)].reshape(out) if ranges else x.reshape(out)]


def _slice(op: RawOp, v, _s, _o):
    x, begin, size = np.asarray(v[0]), _ints(v[1]), _ints(v[2])
    if not len(begin) == len(size) == x.ndim:
        raise ModelFormatError(f"{op.where}: begin and size must hold one value per input dimension")
    idx = []
    for b, s, d in zip(begin, size, x.shape):
        s = d - b if s == -1 else s
        if b < 0 or s < 0 or b + s > d:
            raise ModelFormatError(f"{op.where}: slice [{b}, {b + s}) is out of range for a dimension of size {d}")
        idx.append(slice(b, b + s))
    return [x[tuple(idx)]]


def _pack(op: RawOp, v, _s, _o):
    rank = np.asarray(v[0]).ndim
    axis = int(getattr(op.options, "axis", 0))
    return [np.stack([np.asarray(x) for x in v], axis=_axis(axis, rank + 1, op.where))]


def _unpack(op: RawOp, v, _s, _o):
    x = np.asarray(v[0])
    axis = _axis(int(getattr(op.options, "axis", 0)), x.ndim, op.where)
    return [np.take(x, i, axis=axis) for i in range(x.shape[axis])]


def _concat(op: RawOp, v, _s, _o):
    rank = np.asarray(v[0]).ndim
    return [np.concatenate([np.asarray(x) for x in v], axis=_axis(op.attrs.axis, rank, op.where))]


def _reshape(op: RawOp, v, _s, out_shapes):
    x = np.asarray(v[0])
    dims = v[1] if len(v) > 1 and v[1] is not None else op.attrs.new_shape
    dims = out_shapes[0] if dims is None else _ints(dims)
    return [x.reshape(reshape_target(x.size, dims, op.where))]


def _squeeze(op: RawOp, v, _s, _o):
    x = np.asarray(v[0])
    dims = tuple(_axis(d, x.ndim, op.where) for d in op.attrs.squeeze_dims)
    dims = dims or tuple(i for i, d in enumerate(x.shape) if d == 1)
    if any(x.shape[d] != 1 for d in dims):
        raise ModelFormatError(f"{op.where}: cannot squeeze a dimension of size other than 1 in {x.shape}")
    return [np.squeeze(x, axis=dims)]


def _expand_dims(op: RawOp, v, _s, _o):
    x, axis = np.asarray(v[0]), _ints(v[1])
    if len(axis) != 1:
        raise ModelFormatError(f"{op.where}: the axis operand must hold one value")
    return [np.expand_dims(x, _axis(axis[0], x.ndim + 1, op.where))]


def _transpose(op: RawOp, v, _s, _o):
    x, perm = np.asarray(v[0]), _ints(v[1])
    if sorted(perm) != list(range(x.ndim)):
        raise ModelFormatError(f"{op.where}: permutation {perm} does not fit rank {x.ndim}")
    return [np.transpose(x, perm)]


def _gather(op: RawOp, v, _s, _o):
    """The reference's GATHER (axis and batch_dims), on int32 shape data."""
    attrs = op.attrs if isinstance(op.attrs, O.GatherAttrs) else O.GatherAttrs()
    params, idx = np.asarray(v[0]), np.asarray(v[1], dtype=np.int64)
    axis, bd = gather_dims(params.shape, idx.shape, attrs, op.where)
    _check_size(params.shape[:axis] + idx.shape[bd:] + params.shape[axis + 1 :], op.where)
    return [gather(params, idx, attrs, op.where, ModelFormatError)]


def _fill(op: RawOp, v, _s, _o):
    dims = _ints(v[0])
    if any(d < 0 for d in dims):
        raise ModelFormatError(f"{op.where}: negative size in {dims}")
    _check_size(dims, op.where)
    return [np.full(dims, np.asarray(v[1]).reshape(-1)[0])]


def _range(op: RawOp, v, _s, _o):
    start, limit, delta = (_ints(x)[0] for x in v[:3])
    if delta == 0:
        raise ModelFormatError(f"{op.where}: delta is zero")
    _check_size((len(range(start, limit, delta)),), op.where)
    return [np.arange(start, limit, delta)]


def _reducer(fn: Callable[..., np.ndarray]):
    def run(op: RawOp, v, _s, _o):
        x = np.asarray(v[0], dtype=np.int64)
        axes = tuple(sorted({_axis(a, x.ndim, op.where) for a in _ints(v[1])}))
        return [fn(x, axis=axes, keepdims=bool(getattr(op.options, "keepDims", False)))]

    return run


# TFLite operator name -> evaluator(op, input values, input shapes, output shapes).
FOLDERS: dict[str, Callable[..., list[np.ndarray]]] = {
    "SHAPE": lambda _op, _v, shapes, _o: [np.array(shapes[0], dtype=np.int64)],
    "RANK": lambda _op, _v, shapes, _o: [np.array(len(shapes[0]), dtype=np.int64)],
    "STRIDED_SLICE": _strided_slice,
    "SLICE": _slice,
    "PACK": _pack,
    "UNPACK": _unpack,
    "CONCATENATION": _concat,
    "RESHAPE": _reshape,
    "SQUEEZE": _squeeze,
    "EXPAND_DIMS": _expand_dims,
    "TRANSPOSE": _transpose,
    "GATHER": _gather,
    "CAST": lambda _op, v, _s, _o: [np.asarray(v[0])],
    "ADD": _binary(np.add),
    "SUB": _binary(np.subtract),
    "MUL": _binary(np.multiply),
    "DIV": _binary(_trunc_div, divides=True),
    "FLOOR_DIV": _binary(np.floor_divide, divides=True),
    "FLOOR_MOD": _binary(np.mod, divides=True),
    "MAXIMUM": _binary(np.maximum),
    "MINIMUM": _binary(np.minimum),
    "FILL": _fill,
    "RANGE": _range,
    "REDUCE_PROD": _reducer(np.prod),
    "SUM": _reducer(np.sum),
}
# Ops whose only use of their input is its static shape.
SHAPE_ONLY = ("SHAPE", "RANK")


def _foldable(m: RawModel, op: RawOp) -> bool:
    if op.kind not in FOLDERS or any(m.tensors[o].dtype not in INT_DTYPES for o in op.outputs):
        return False
    if op.kind in SHAPE_ONLY:
        return True
    ins = [m.tensors[x] for x in op.inputs if x is not None]
    return bool(ins) and all(t.is_const and t.dtype in INT_DTYPES and t.quant is None for t in ins)


def fold_constants(m: RawModel) -> None:
    """Evaluate int32 shape computations whose inputs are all known; their outputs become constants."""
    kept: list[RawOp] = []
    for op in m.ops:
        if not _foldable(m, op):
            kept.append(op)
            continue
        ins = [None if x is None else m.tensors[x] for x in op.inputs]
        values = [None if t is None else t.data for t in ins]
        shapes = [None if t is None else t.shape for t in ins]
        outs = [m.tensors[o] for o in op.outputs]
        try:
            results = FOLDERS[op.kind](op, values, shapes, [t.shape for t in outs])
        except (ValueError, IndexError, TypeError, OverflowError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelFormatError(f"{op.where}: its constant operands cannot be evaluated ({first})") from None
        if len(results) != len(outs):
            raise ModelFormatError(f"{op.where}: has {len(outs)} outputs but computes {len(results)}")
        for t, r in zip(outs, results):
            r = np.asarray(r)
            if r.size > MAX_FOLD_ELEMENTS:
                raise ModelFormatError(
                    f"{op.where}: the constant it computes holds more than {MAX_FOLD_ELEMENTS} elements"
                )
            m.tensors[t.name] = Tensor(t.name, r.shape, t.dtype, None, r.astype(t.dtype))
    m.ops = kept
