"""Import-time fusion of the converter's dilated convolutions (see fuse_dilated_convs)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from mcuforge.frontend.raw_model import RawModel, RawOp
from mcuforge.ir import ops as O
from mcuforge.ir.graph import Tensor
from mcuforge.ir.shapes import same_padding

# Paddings, crops and block sizes of a dilated convolution are a few pixels; larger values
# (a corrupted file) are left unfused, so no padded tensor can grow huge.
MAX_DILATION_PAD = 1 << 10


def _ints(v: np.ndarray) -> list[int]:
    return [int(x) for x in np.asarray(v).reshape(-1)]


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
    convolution otherwise. The batch may be any size (the blocks of image n are batches
    n, N + n, 2N + n, ...; the convolution treats each batch alike).

    A dilated Conv1D is the same on a rank-3 (N, W, C) input with one block size, its
    convolution written as EXPAND_DIMS -> CONV_2D / DEPTHWISE_CONV_2D -> SQUEEZE inside the
    pair (TensorFlow's conv1d); it becomes [PAD ->] EXPAND_DIMS -> dilated conv -> SQUEEZE.

    A chain that does not fit (a strided convolution, crops larger than the paddings,
    other quantisation in between) stays as it is and runs as the two general ops. TF-Lite
    Micro runs those wrongly whenever STB pads: its SpaceToBatchND never sets
    params.output_offset and pads with whatever the arena holds; LiteRT's reference
    kernels agree with the fused convolution.
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
        ops, consumed = fused
        skip.update(id(op) for op in consumed)
        new_ops.extend(ops)
    m.ops = new_ops


def _only_user(consumers: dict[str, list[RawOp]], name: str, kinds: tuple[str, ...]) -> RawOp | None:
    """The one op reading `name`, when it is of one of `kinds`, reads it as input 0 and has one output."""
    users = consumers.get(name, [])
    if len(users) != 1 or users[0].kind not in kinds or users[0].inputs[0] != name or len(users[0].outputs) != 1:
        return None
    return users[0]


def _unit_axis(m: RawModel, expand: RawOp) -> int | None:
    """The axis (1 or 2 of the rank-4 result) a Conv1D's EXPAND_DIMS inserts."""
    axis = _const_ints(m, expand.inputs[1] if len(expand.inputs) > 1 else None, (1,))
    if axis is None:
        axis = _const_ints(m, expand.inputs[1] if len(expand.inputs) > 1 else None, ())
    a = None if axis is None else axis[0] + 4 if axis[0] < 0 else axis[0]
    return a if a in (1, 2) else None


def _match(m: RawModel, stb: RawOp, consumers: dict[str, list[RawOp]]) -> tuple[list[RawOp], list[RawOp]] | None:
    """The fused ops replacing the chain from `stb`, and the chain's other ops; None if it does not fit."""
    x = m.tensors.get(stb.inputs[0] or "") if len(stb.inputs) == 3 and len(stb.outputs) == 1 else None
    if x is None or len(x.shape) not in (3, 4):
        return None
    nsp = len(x.shape) - 2
    block, pads = _const_ints(m, stb.inputs[1], (nsp,)), _const_ints(m, stb.inputs[2], (nsp, 2))
    if block is None or pads is None or min(block) < 1:
        return None
    chain, expand, squeeze, unit = [stb], None, None, 0
    head = stb.outputs[0]
    if nsp == 1:  # Conv1D: EXPAND_DIMS -> conv -> SQUEEZE
        expand = _only_user(consumers, head, ("EXPAND_DIMS",))
        unit = _unit_axis(m, expand) if expand is not None else None
        if expand is None or unit is None:
            return None
        chain.append(expand)
        head = expand.outputs[0]
    conv = _only_user(consumers, head, ("CONV_2D", "DEPTHWISE_CONV_2D"))
    a = None if conv is None else conv.attrs
    if a is None or a.padding != O.Padding.VALID or a.stride != (1, 1) or a.dilation != (1, 1):
        return None
    chain.append(conv)
    tail = conv.outputs[0]
    if nsp == 1:
        squeeze = _only_user(consumers, tail, ("SQUEEZE",))
        if squeeze is None or tuple(d % 4 for d in squeeze.attrs.squeeze_dims) != (unit,):
            return None
        chain.append(squeeze)
        tail = squeeze.outputs[0]
    bts = _only_user(consumers, tail, ("BATCH_TO_SPACE_ND",))
    crops = _const_ints(m, bts.inputs[2], (nsp, 2)) if bts is not None and len(bts.inputs) == 3 else None
    if crops is None or _const_ints(m, bts.inputs[1], (nsp,)) != block:
        return None
    inner = [op.outputs[0] for op in chain]
    if any(t in m.outputs or t in m.inputs for t in inner):
        return None
    ins = [x] + [m.tensors[t] for t in inner[: len(chain) // 2]]  # STB's side: x, STB out, [EXPAND_DIMS out]
    outs = [m.tensors[t] for t in inner[len(chain) // 2 :]] + [m.tensors[bts.outputs[0]]]  # conv out ... BTS out
    if any((t.quant, t.dtype) != (ins[0].quant, ins[0].dtype) for t in ins):
        return None
    if any((t.quant, t.dtype) != (outs[0].quant, outs[0].dtype) for t in outs):
        return None
    if min(pads + crops) < 0 or max(pads + crops + block) > MAX_DILATION_PAD:
        return None
    if any((d + lo + hi) % b for d, b, lo, hi in zip(x.shape[1:-1], block, pads[0::2], pads[1::2])):
        return None  # SPACE_TO_BATCH_ND needs the padded size to be a multiple of the block
    ops = _fused(m, stb, x, conv, bts, squeeze, expand, unit, block, pads, crops)
    return None if ops is None else (ops, chain[1:] + [bts])


def _fused(m, stb, x, conv, bts, squeeze, expand, unit, block, pads, crops) -> list[RawOp] | None:
    """[PAD ->] [EXPAND_DIMS ->] dilated conv [-> SQUEEZE], in the 4-D view of the convolution."""
    w = m.tensors.get(conv.inputs[1] or "")
    if w is None or len(w.shape) != 4:
        return None
    pad = [p - c for p, c in zip(pads, crops)]  # per spatial axis of x: before, after
    if min(pad) < 0:
        return None
    x4 = x.shape if expand is None else (*x.shape[:unit], 1, *x.shape[unit:])
    if expand is None:
        block4, pad4 = list(block), pad
    elif unit == 1:  # (N, 1, W, C): the convolution runs along W
        block4, pad4 = [1, block[0]], [0, 0, *pad]
    else:  # (N, W, 1, C)
        block4, pad4 = [block[0], 1], [*pad, 0, 0]
    same = [*same_padding(x4[1], w.shape[1], 1, block4[0]), *same_padding(x4[2], w.shape[2], 1, block4[1])]
    ops: list[RawOp] = []
    src = x.name
    padding = O.Padding.SAME if pad4 == same else O.Padding.VALID
    if padding == O.Padding.VALID and any(pad):
        rows = [[0, 0], *([pad[i], pad[i + 1]] for i in range(0, len(pad), 2)), [0, 0]]
        p_name = _unique(m, f"{x.name}_dilation_paddings")
        m.tensors[p_name] = Tensor(p_name, (len(rows), 2), "int32", None, np.array(rows, dtype=np.int32))
        shape = tuple(d + lo + hi for d, (lo, hi) in zip(x.shape, rows))
        src = _unique(m, f"{x.name}_dilation_padded")
        m.tensors[src] = Tensor(src, shape, x.dtype, x.quant)
        ops.append(RawOp(stb.index, "PAD", [x.name, p_name], [src], None, O.NoAttrs()))
    out = bts.outputs[0]
    if expand is not None:
        s = m.tensors[src].shape
        expanded = _unique(m, f"{x.name}_dilation_expanded")
        m.tensors[expanded] = Tensor(expanded, (*s[:unit], 1, *s[unit:]), x.dtype, x.quant)
        ops.append(RawOp(expand.index, "EXPAND_DIMS", [src, expand.inputs[1]], [expanded], None, expand.attrs))
        src = expanded
        t = m.tensors[out]
        out = _unique(m, f"{out}_dilated")
        m.tensors[out] = Tensor(out, (*t.shape[:unit], 1, *t.shape[unit:]), t.dtype, t.quant)
    attrs = replace(conv.attrs, padding=padding, dilation=(block4[0], block4[1]))
    ops.append(RawOp(conv.index, conv.kind, [src, *conv.inputs[1:]], [out], None, attrs))
    if squeeze is not None:
        ops.append(RawOp(squeeze.index, "SQUEEZE", [out], [bts.outputs[0]], None, squeeze.attrs))
    return ops
