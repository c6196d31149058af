"""LOGISTIC and TANH on int16, bit-exact with TF-Lite Micro's reference_integer_ops::
Logistic / Tanh for int16 (the 16x8 scheme's activations, as LSTMs use them).

Prepare (CalculateArithmeticOpDataLogistic, CalculateArithmeticOpData in tanh.cc):
zero points 0 on both tensors and an output scale of 2^-15 (CheckedLog2). A
power-of-two input scale 2^-12 (2^-12 or 2^-11 for TANH) takes multiplier 3 with no
shift; any other scale takes int32(s_in * 4096 * 3 * 2^k) with the least k >= 0 that
lifts it above 32767 / 2 (k at most 31), all in double. Both rescale the input to units
of 1/(3 * 4096): x' = (x * multiplier + round) >> shift.

Eval interpolates a 256-entry table of sigmoid(i / 24) in 0.16 fixed point
(SIGMOID_TABLE) on |x'|: LOGISTIC with 9 fractional bits per step, TANH (tanh(x) =
2 sigmoid(2x) - 1) with 8, then mirrors negative inputs and rounds back to Q0.15.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.quant.fixedpoint import tflite_round
from mcuforge.ref.checks import node_label

# sigmoid(i / 24) in 0.16 fixed point as TF-Lite's kernels hold it (sigmoid_table_uint16):
# 44 entries sit one above round-to-nearest, so the table is data, not a formula.
# tests/ref/test_int16.py reads every entry back out of TF-Lite Micro's int16 TANH.
SIGMOID_TABLE = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432,
    42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475,
    49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485,
    55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519,
    59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036,
    62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405,
    64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179,
    65194, 65208, 65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337,
    65345, 65352, 65360, 65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
    65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517,
    65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525, 65525,
    65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533,
    65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535,
], dtype=np.int64)  # fmt: skip
INPUT_INTEGER_BITS = 3  # kInputIntegerBits of the int16 path
OUTPUT_FRACTIONAL_BITS = 15


@dataclass(frozen=True)
class SigmoidTanh16Params:
    input_multiplier: int  # after the power-of-two case's substitution (3, shift 0)
    input_left_shift: int  # a right shift, despite the name (TF-Lite's)


def checked_log2(x: float) -> tuple[bool, int]:
    """CheckedLog2 in float32: (is a power of two within 1e-3 in log2, rounded log2)."""
    lg = np.float32(np.log(np.float32(x))) * np.float32(1.0 / np.log(np.float32(2.0)))
    r = np.float32(tflite_round(float(lg)))
    return bool(abs(np.float32(lg - r)) < np.float32(1e-3)), int(r)


def prepare_sigmoid_tanh16(g: Graph, node: Node) -> SigmoidTanh16Params:
    x, y = g.tensor(node.inputs[0]), g.tensor(node.outputs[0])  # type: ignore[arg-type]
    what = node_label(node)
    for t in (x, y):
        if t.dtype != "int16" or t.quant is None or t.quant.per_channel or t.quant.zp != 0:
            raise UnsupportedError(f"{what}: int16 tensor {t.name!r} needs per-tensor quantisation with zero point 0.")
    pot, log2 = checked_log2(x.quant.s)
    shift = (15 - INPUT_INTEGER_BITS) + log2
    pot = pot and (shift in ((0, 1) if node.op == Op.TANH else (0,)))
    if pot:
        multiplier = 0
    else:
        m = float(x.quant.s) * 4096.0 * 3.0
        shift = 0
        while m <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            m *= 2.0
        multiplier = int(m)
    if multiplier > 32767:
        raise UnsupportedError(f"{what}: input scale {x.quant.s:g} is too large for TF-Lite Micro's int16 kernel.")
    ok, out_log2 = checked_log2(y.quant.s)
    if not ok or out_log2 != -OUTPUT_FRACTIONAL_BITS:
        raise UnsupportedError(f"{what} needs output scale 2^-15 for int16, as TF-Lite Micro does.")
    if multiplier == 0:  # the power-of-two case: Eval substitutes 3 << shift, shift 0
        multiplier, shift = 3 << shift, 0
    return SigmoidTanh16Params(multiplier, shift)


def _scaled_input(p: SigmoidTanh16Params, x: np.ndarray) -> np.ndarray:
    rnd = (1 << (p.input_left_shift - 1)) if p.input_left_shift > 0 else 0
    return (np.asarray(x).astype(np.int64) * p.input_multiplier + rnd) >> p.input_left_shift


def eval_logistic16(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_integer_ops::Logistic (int16)."""
    p = prepare_sigmoid_tanh16(g, node)
    return [logistic16_values(p, inputs[0]).reshape(g.tensor(node.outputs[0]).shape)]


def logistic16_values(p: SigmoidTanh16Params, x: np.ndarray) -> np.ndarray:
    """The int16 logistic on an array (also the LSTM's gate sigmoid)."""
    v = _scaled_input(p, x)
    a = np.abs(v)
    uh = a >> 9
    idx = np.minimum(uh, 254)
    ua, ub = SIGMOID_TABLE[idx], SIGMOID_TABLE[idx + 1]
    r = np.where(uh >= 255, 0x7FFF << 10, (ua << 9) + (a & 0x1FF) * (ub - ua))
    r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
    y = (r & 0xFFFFFFFF) >> 10  # uint32 arithmetic
    return y.astype(np.uint16).view(np.int16)


def eval_tanh16(g: Graph, node: Node, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """reference_integer_ops::Tanh (int16)."""
    p = prepare_sigmoid_tanh16(g, node)
    return [tanh16_values(p, inputs[0]).reshape(g.tensor(node.outputs[0]).shape)]


def tanh16_values(p: SigmoidTanh16Params, x: np.ndarray) -> np.ndarray:
    """The int16 tanh on an array (also the LSTM's cell gate and cell state tanh)."""
    v = _scaled_input(p, x)
    a = np.abs(v)
    uh = a >> 8
    idx = np.minimum(uh, 254)
    ua, ub = SIGMOID_TABLE[idx], SIGMOID_TABLE[idx + 1]
    r = np.where(uh >= 255, 0xFFFF << 8, (ua << 8) + (a & 0xFF) * (ub - ua))
    r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
    y = r >> 8  # int32 arithmetic shift; the store to int16 wraps
    return (y & 0xFFFF).astype(np.uint16).view(np.int16)
