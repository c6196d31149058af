"""Run a generated project's node list in a NumPy byte arena at the planned offsets.

Each node reads its inputs from the arena, computes with the reference kernels and
writes its outputs back (a PATCH_COPY writes only its box's rows). A plan that lets a
later write clobber bytes a later read still needs gives wrong outputs here, without
gcc; the C tests then check the kernels' own in-node overlaps.
"""

from __future__ import annotations

import numpy as np

from mcuforge.codegen.generate import Project
from mcuforge.patch.program import is_copy
from mcuforge.ref.interpreter import KERNELS


def arena_run(
    project: Project,
    inputs: list[np.ndarray],
    offsets: dict[str, int] | None = None,
    capture: tuple[str, int] | None = None,
) -> list[np.ndarray]:
    """The outputs (and, with `capture` = (tensor, step), that tensor right after that
    step, appended). `offsets` replaces the plan's tensor offsets."""
    g, mem = project.graph, project.memory
    where = dict(mem.tensor_offsets if offsets is None else offsets)
    arena = np.zeros(max(mem.arena_bytes, max(where[n] + g.tensors[n].nbytes for n in where)), np.uint8)
    captured = []

    def read(name: str) -> np.ndarray:
        t = g.tensors[name]
        if t.is_const:
            return t.data
        off = where[name]
        return arena[off : off + t.nbytes].copy().view(t.dtype).reshape(t.shape)

    def write(name: str, value: np.ndarray) -> None:
        t = g.tensors[name]
        off = where[name]
        arena[off : off + t.nbytes] = np.ascontiguousarray(np.asarray(value, t.dtype)).reshape(-1).view(np.uint8)

    for name, x in zip(g.inputs, inputs):
        write(name, x)
    for step, i in enumerate(mem.order):
        if capture is not None and step == capture[1] + 1:
            captured.append(read(capture[0]))
        node = g.nodes[i]
        if is_copy(node):
            src, dst = g.tensors[node.inputs[0]], g.tensors[node.outputs[0]]
            sb, db = node.attrs.src_box, node.attrs.dst_box
            if node.attrs.transpose:  # an NCHW source
                block = read(src.name)[:, :, sb[0] : sb[1], sb[2] : sb[3]].transpose(0, 2, 3, 1)
            else:
                block = read(src.name)[:, sb[0] : sb[1], sb[2] : sb[3], :]
            _, _, w, c = dst.shape
            item = np.dtype(dst.dtype).itemsize
            for r in range(db[1] - db[0]):
                at = where[dst.name] + ((db[0] + r) * w + db[2]) * c * item
                row = np.ascontiguousarray(block[0, r]).reshape(-1).view(np.uint8)
                arena[at : at + row.size] = row
            continue
        outs = KERNELS[node.op](g, node, [None if x is None else read(x) for x in node.inputs])
        for name, y in zip(node.outputs, outs):
            if not (node.op.value in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS") and project.calls.get(i) is None):
                write(name, y)
    return [read(n) for n in g.outputs] + captured
