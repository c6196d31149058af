"""The reference executor: runs a graph node by node with the NumPy kernels.

This is the oracle inside the project: every other executor must match it bit for
bit, and it matches TF-Lite Micro's reference kernels bit for bit.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from mcuforge.errors import InputError, UnsupportedError
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ref import (
    activations,
    binary,
    conv,
    detect,
    elementwise,
    fc,
    lstm,
    matmul,
    pool,
    quantize,
    reduce,
    resize,
    shape_ops,
    signal,  # family signal
    signal_int,  # family signal
    signal_stream,  # family signal
    slicing,
    softmax,
    spatial,
    svdf,
    unary,
)

KernelFn = Callable[[Graph, Node, list], list]

# The one dispatch table, merged explicitly from the op-family modules.
KERNELS: dict[Op, KernelFn] = {
    **conv.KERNELS,
    **fc.KERNELS,
    **pool.KERNELS,
    **elementwise.KERNELS,
    **activations.KERNELS,
    **softmax.KERNELS,
    **reduce.KERNELS,
    **quantize.KERNELS,
    **shape_ops.KERNELS,
    **slicing.KERNELS,
    **spatial.KERNELS,
    **binary.KERNELS,
    **unary.KERNELS,
    **resize.KERNELS,
    **matmul.KERNELS,
    **detect.KERNELS,
    **signal.KERNELS,  # family signal
    **signal_stream.KERNELS,  # family signal
    # family svdf (begin)
    **svdf.KERNELS,
    # family svdf (end)
    # family lstm (begin)
    **lstm.KERNELS,
    # family lstm (end)
}
KERNELS.update(signal_int.overrides(KERNELS))  # family signal: unquantised int32 / int16 builtins


def check_inputs(g: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Validate user inputs against the graph's inputs (count, shape, dtype)."""
    if len(inputs) != len(g.inputs):
        raise InputError(f"the model takes {len(g.inputs)} input(s) but {len(inputs)} were given")
    checked = []
    for i, (name, x) in enumerate(zip(g.inputs, inputs)):
        t = g.tensors[name]
        x = np.asarray(x)
        if x.dtype != np.dtype(t.dtype):
            raise InputError(f"input {i} ({name}) must be {t.dtype} but the array is {x.dtype}")
        if tuple(x.shape) != t.shape:
            if x.size == t.size and x.squeeze().shape == np.empty(t.shape).squeeze().shape:
                x = x.reshape(t.shape)  # same data with unit dimensions dropped or added
            else:
                raise InputError(f"input {i} ({name}) must have shape {t.shape} but the array has shape {x.shape}")
        checked.append(np.ascontiguousarray(x))
    return checked


def random_inputs(g: Graph, seed: int = 0) -> list[np.ndarray]:
    """Seeded random inputs of the graph's shapes and dtypes (floats uniform in [-1, 1], bools 0 or 1)."""
    rng = np.random.default_rng(seed)
    xs = []
    for name in g.inputs:
        t = g.tensors[name]
        if t.dtype == "float32":
            xs.append(rng.uniform(-1.0, 1.0, t.shape).astype(np.float32))
        elif t.dtype == "bool":
            xs.append(rng.integers(0, 2, t.shape).astype(bool))
        else:
            info = np.iinfo(t.dtype)
            xs.append(rng.integers(info.min, info.max + 1, t.shape).astype(t.dtype))
    return xs


def reset_value(t) -> int:
    """The value a variable tensor starts from, as TF-Lite Micro resets it
    (MicroInterpreterGraph::ResetTensorData): an int8 tensor's zero point, else 0."""
    if t.dtype == "int8" and t.quant is not None:
        return t.quant.zp
    return 0


class Session:
    """Several invocations of one graph with its state carried: the variable tensors
    (SVDF and LSTM state, a streaming op's own state) keep what the last `run` left in
    them. Kernels update a state array in place (it is their input). `reset` puts every
    state back to its reset value, as a new session starts."""

    def __init__(self, g: Graph) -> None:
        self.g = g
        self.state: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> None:
        ts = self.g.tensors
        self.state = {n: np.full(ts[n].shape, reset_value(ts[n]), ts[n].dtype) for n in self.g.variables()}

    def run_all(self, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """One invocation; every tensor's value by name (a variable's: its state after the run)."""
        g = self.g
        values: dict[str, np.ndarray] = {n: t.data for n, t in g.tensors.items() if t.is_const}
        values.update(self.state)
        values.update(zip(g.inputs, check_inputs(g, inputs)))
        for node in g.nodes:
            kernel = KERNELS.get(node.op)
            if kernel is None:
                raise UnsupportedError(f"the reference executor has no kernel for {node.op}")
            args = [None if n is None else values[n] for n in node.inputs]
            outs = kernel(g, node, args)
            for name, y in zip(node.outputs, outs):
                t = g.tensors[name]
                values[name] = np.asarray(y, dtype=t.dtype).reshape(t.shape)
        return values

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """One invocation from the current state; the graph's outputs in order."""
        values = self.run_all(inputs)
        return [values[n] for n in self.g.outputs]


def run_all(g: Graph, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Run the graph once from the reset state; return every tensor's value (activations and constants) by name."""
    return Session(g).run_all(inputs)


def run(g: Graph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run the graph once from the reset state; return its outputs in order."""
    return Session(g).run(inputs)


def run_sequence(g: Graph, steps: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Outputs of several invocations in order, state carried from one to the next (as
    oracle.tflm.run_tflm_sequence)."""
    session = Session(g)
    return [session.run(xs) for xs in steps]
