"""Import-time rewrites of a decoded .tflite, before it becomes an ir.Graph.

Two things the TFLite converter emits are not operators of the graph IR:

1. Shape computations. A Keras model with an open batch size computes shapes at run
   time: SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE and similar chains of small int32
   ops. Every input of such a chain is a constant or the static shape of a tensor
   (the stored shape has batch 1 where shape_signature says -1), so `fold_constants`
   evaluates them with NumPy and turns their outputs into constant tensors.
2. Dilated convolutions. The converter writes a dilated convolution as
   SPACE_TO_BATCH_ND -> CONV_2D / DEPTHWISE_CONV_2D (VALID, no dilation) ->
   BATCH_TO_SPACE_ND. `fuse_dilated_convs` turns the three back into one dilated
   convolution (see its docstring for why the int8 values are unchanged).

Both work on a `RawModel`: ir.Tensors plus `RawOp`s that keep the TFLite operator name,
so that ops outside the Op enum can be represented until they are gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mcuforge.errors import ModelFormatError
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Tensor
from mcuforge.ir.shapes import reshape_target, same_padding, strided_slice_ranges

# A folded result may hold at most this many elements: shape computations are tiny,
# and the cap keeps a corrupted FILL or RANGE from exhausting memory.
MAX_FOLD_ELEMENTS = 1 << 20
INT_DTYPES = ("int32", "int64", "bool")
# Paddings, crops and block sizes of a dilated convolution are a few pixels; larger values
# (a corrupted file) are left unfused and reported, so no padded tensor can grow huge.
MAX_DILATION_PAD = 1 << 10


@dataclass
class RawOp:
    index: int  # operator index in the file, for messages
    kind: str  # TFLite BuiltinOperator name, e.g. "CONV_2D"; custom ops are "CUSTOM"
    inputs: list[str | None]
    outputs: list[str]
    options: Any = None  # the schema's options object, for ops outside the Op enum
    attrs: Any = None  # typed attributes (ir.ops) for ops in the Op enum

    @property
    def where(self) -> str:
        return f"node {self.index} ({self.kind})"


@dataclass
class RawModel:
    tensors: dict[str, Tensor]
    ops: list[RawOp]
    inputs: list[str]
    outputs: list[str]


def fold(m: RawModel) -> None:
    """All import-time rewrites, in place."""
    fold_constants(m)
    fuse_dilated_convs(m)


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
    params, idx = np.asarray(v[0]), np.asarray(v[1], dtype=np.int64)
    if int(getattr(op.options, "batchDims", 0)) != 0:
        raise ModelFormatError(f"{op.where}: GATHER with batch dimensions cannot be folded")
    axis = _axis(int(getattr(op.options, "axis", 0)), params.ndim, op.where)
    if np.any(idx < 0) or np.any(idx >= params.shape[axis]):
        raise ModelFormatError(f"{op.where}: gather index out of range for an axis of size {params.shape[axis]}")
    _check_size(params.shape[:axis] + idx.shape + params.shape[axis + 1 :], op.where)
    return [np.take(params, idx, axis=axis)]


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


# ------------------------------------------------------------ dilated convolutions
def _const_ints(m: RawModel, name: str | None, shape: tuple[int, ...]) -> list[int] | None:
    t = None if name is None else m.tensors.get(name)
    if t is None or t.data is None or t.shape != shape or not np.issubdtype(t.data.dtype, np.integer):
        return None
    return _ints(t.data)


def _unique(m: RawModel, base: str) -> str:
    name, i = base, 1
    while name in m.tensors:
        name, i = f"{base}_{i}", i + 1
    return name


def fuse_dilated_convs(m: RawModel) -> None:
    """SPACE_TO_BATCH_ND -> CONV_2D/DEPTHWISE_CONV_2D (VALID) -> BATCH_TO_SPACE_ND becomes one dilated conv.

    With block (bh, bw), STB paddings P and BTS crops C, output pixel i of the chain is
    sum_k w[k] * xp[i + C_before + k*b] over the input xp padded by P; that is a
    dilated VALID convolution of x padded by (P_before - C_before, P_after - C_after).
    STB pads with the zero point (LiteRT's SpaceToBatchND passes the output zero point
    as pad value; the tensors' quantisation is equal), so the padded pixels add
    (zp - zp) * w = 0 to the int32 accumulator, exactly as the padding of a SAME
    convolution and of a PAD node does. The accumulator, bias and requantisation are
    the same per output pixel, so the int8 result is identical. The padding becomes
    SAME when it equals SAME's split ((k-1)*b total, the odd pixel after), VALID when
    zero, and an explicit PAD node (which pads with the zero point) before a VALID
    convolution otherwise. TF-Lite Micro runs the unfused chain wrongly whenever STB
    pads: its SpaceToBatchND never sets params.output_offset and pads with whatever the
    arena holds; LiteRT's reference kernels agree with the fused convolution.
    """
    consumers: dict[str, list[RawOp]] = {}
    for op in m.ops:
        for x in op.inputs:
            if x is not None:
                consumers.setdefault(x, []).append(op)
    new_ops: list[RawOp] = []
    skip: set[int] = set()
    for stb in m.ops:
        if id(stb) in skip:
            continue
        fused = _match(m, stb, consumers) if stb.kind == "SPACE_TO_BATCH_ND" else None
        if fused is None:
            new_ops.append(stb)
            continue
        ops, conv, bts = fused
        skip.update((id(conv), id(bts)))
        new_ops.extend(ops)
    m.ops = new_ops


def _match(m: RawModel, stb: RawOp, consumers: dict[str, list[RawOp]]) -> tuple[list[RawOp], RawOp, RawOp] | None:
    if len(stb.inputs) != 3 or len(stb.outputs) != 1:
        return None
    x = m.tensors.get(stb.inputs[0] or "")
    block = _const_ints(m, stb.inputs[1], (2,))
    pads = _const_ints(m, stb.inputs[2], (2, 2))
    mid = stb.outputs[0]
    users = consumers.get(mid, [])
    if x is None or len(x.shape) != 4 or block is None or pads is None or min(block) < 1 or len(users) != 1:
        return None
    conv = users[0]
    if conv.kind not in ("CONV_2D", "DEPTHWISE_CONV_2D") or conv.inputs[0] != mid or len(conv.outputs) != 1:
        return None
    a = conv.attrs
    if a is None or a.padding != O.Padding.VALID or a.stride != (1, 1) or a.dilation != (1, 1):
        return None
    users = consumers.get(conv.outputs[0], [])
    if len(users) != 1 or users[0].kind != "BATCH_TO_SPACE_ND" or users[0].inputs[0] != conv.outputs[0]:
        return None
    bts = users[0]
    crops = _const_ints(m, bts.inputs[2] if len(bts.inputs) == 3 else None, (2, 2))
    if crops is None or _const_ints(m, bts.inputs[1], (2,)) != block or len(bts.outputs) != 1:
        return None
    if mid in m.outputs or conv.outputs[0] in m.outputs or mid in m.inputs:
        return None
    t_mid, t_conv, t_out = m.tensors[mid], m.tensors[conv.outputs[0]], m.tensors[bts.outputs[0]]
    if (
        x.quant != t_mid.quant
        or t_conv.quant != t_out.quant
        or len({x.dtype, t_mid.dtype}) != 1
        or t_conv.dtype != t_out.dtype
    ):
        return None
    pad = [pads[0] - crops[0], pads[1] - crops[1], pads[2] - crops[2], pads[3] - crops[3]]
    if min(pad) < 0 or min(pads + crops) < 0 or max(pads + crops + block) > MAX_DILATION_PAD:
        return None
    w = m.tensors.get(conv.inputs[1] or "")
    if w is None or len(w.shape) != 4:
        return None
    if (x.shape[1] + pads[0] + pads[1]) % block[0] or (x.shape[2] + pads[2] + pads[3]) % block[1]:
        return None  # SPACE_TO_BATCH_ND needs the padded size to be a multiple of the block
    same = [*same_padding(x.shape[1], w.shape[1], 1, block[0]), *same_padding(x.shape[2], w.shape[2], 1, block[1])]
    ops: list[RawOp] = []
    src = x.name
    if pad == same:
        padding = O.Padding.SAME
    else:
        padding = O.Padding.VALID
        if any(pad):
            amounts = np.array([[0, 0], pad[0:2], pad[2:4], [0, 0]], dtype=np.int32)
            p_name = _unique(m, f"{x.name}_dilation_paddings")
            m.tensors[p_name] = Tensor(p_name, (4, 2), "int32", None, amounts)
            n, h, wd, c = x.shape
            src = _unique(m, f"{x.name}_dilation_padded")
            m.tensors[src] = Tensor(src, (n, h + pad[0] + pad[1], wd + pad[2] + pad[3], c), x.dtype, x.quant)
            ops.append(RawOp(stb.index, "PAD", [x.name, p_name], [src], None, O.NoAttrs()))
    attrs = replace(a, padding=padding, dilation=(block[0], block[1]))
    ops.append(RawOp(conv.index, conv.kind, [src, *conv.inputs[1:]], [bts.outputs[0]], None, attrs))
    return ops, conv, bts
