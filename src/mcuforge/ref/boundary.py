"""Apply a model's folded boundary QUANTIZE / DEQUANTIZE outside it (passes/fold_io),
with the reference kernels, so that a folded model's results equal the original's."""

from __future__ import annotations

import numpy as np

from mcuforge.ir.ops import Op
from mcuforge.passes.fold_io import FoldedIO
from mcuforge.ref.interpreter import KERNELS, check_inputs


def to_model_inputs(io: FoldedIO, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """User inputs of the original model -> inputs of the folded one (QUANTIZE applied)."""
    inputs = check_inputs(io.original, inputs)
    return [x if i not in io.input_nodes else KERNELS[Op.QUANTIZE](io.original, io.input_nodes[i], [x])[0] for i, x in enumerate(inputs)]


def from_model_outputs(io: FoldedIO, outputs: list[np.ndarray]) -> list[np.ndarray]:
    """Outputs of the folded model -> outputs of the original one (DEQUANTIZE applied)."""
    return [y if i not in io.output_nodes else KERNELS[Op.DEQUANTIZE](io.original, io.output_nodes[i], [y])[0] for i, y in enumerate(outputs)]
