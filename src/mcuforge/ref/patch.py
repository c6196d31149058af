"""Reference execution of a patch plan: the patched program (patch/program.py) run
node by node with the NumPy kernels.

The stage runs once per patch: each patch slices its share of the input with the halo
its receptive field needs, runs the stage's nodes on patch-sized tensors with
explicit per-patch padding (only where the patch touches the image edge), and writes
its cell of the stage-2 input; then the rest runs per layer. Views are honoured byte
for byte, as the C arena does: a view reads and writes its parent's bytes. The result
must be bit-identical to running the graph layer by layer (ref/interpreter.run).
"""

from __future__ import annotations


import numpy as np

from mcuforge.errors import UnsupportedError
from mcuforge.patch.program import Program, is_copy, resolve
from mcuforge.ref.interpreter import KERNELS, check_inputs


class _Memory:
    """Tensor values; a view's value lives in its parent's array."""

    def __init__(self, prog: Program) -> None:
        self.g, self.views = prog.graph, prog.views
        self.values: dict[str, np.ndarray] = {n: t.data for n, t in self.g.tensors.items() if t.is_const}

    def _parent(self, name: str) -> tuple[np.ndarray, int]:
        root, offset = resolve(self.views, name)
        if root not in self.values:
            t = self.g.tensors[root]
            self.values[root] = np.zeros(t.shape, t.dtype)  # a stored-into tensor: cells arrive one by one
        return self.values[root], offset

    def read(self, name: str) -> np.ndarray:
        t = self.g.tensors[name]
        if name not in self.views:
            return self.values[name]
        parent, offset = self._parent(name)
        raw = parent.reshape(-1).view(np.uint8)[offset : offset + t.nbytes]
        return raw.view(t.dtype).reshape(t.shape)

    def write(self, name: str, value: np.ndarray) -> None:
        t = self.g.tensors[name]
        value = np.ascontiguousarray(np.asarray(value, dtype=t.dtype).reshape(t.shape))
        if name not in self.views:
            self.values[name] = value
            return
        parent, offset = self._parent(name)
        parent.reshape(-1).view(np.uint8)[offset : offset + t.nbytes] = value.reshape(-1).view(np.uint8)

    def copy_box(self, src: str, dst: str, src_box, dst_box, transpose: bool = False) -> None:
        if transpose:  # NCHW source: the box of axes 2 and 3, as NHWC
            block = self.read(src)[:, :, src_box[0] : src_box[1], src_box[2] : src_box[3]].transpose(0, 2, 3, 1)
        else:
            block = self.read(src)[:, src_box[0] : src_box[1], src_box[2] : src_box[3], :]
        if dst in self.views or dst not in self.values:
            t = self.g.tensors[dst]
            whole = dst_box == (0, t.shape[1], 0, t.shape[2])
            if whole:
                self.write(dst, block)
                return
        parent, _ = self._parent(dst)
        parent[:, dst_box[0] : dst_box[1], dst_box[2] : dst_box[3], :] = block


def run_program(prog: Program, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Run G'; return the value of every tensor that owns its bytes (not views)."""
    g = prog.graph
    mem = _Memory(prog)
    for name, x in zip(g.inputs, check_inputs(g, inputs)):
        mem.write(name, x)
    for node in g.nodes:
        if is_copy(node):
            a = node.attrs
            mem.copy_box(node.inputs[0], node.outputs[0], a.src_box, a.dst_box, a.transpose)
            continue
        kernel = KERNELS.get(node.op)
        if kernel is None:
            raise UnsupportedError(f"the reference executor has no kernel for {node.op}")
        args = [None if n is None else mem.read(n) for n in node.inputs]
        for name, y in zip(node.outputs, kernel(g, node, args)):
            mem.write(name, y)
    return mem.values


