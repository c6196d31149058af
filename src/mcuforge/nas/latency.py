"""Latency of an int8 network on a Cortex-M core, for `mcuforge search --max-ms`: a
per-kernel instruction model fitted to exact QEMU counts.

QEMU counts executed instructions per node exactly (targets/profile.py). A node's
count is, for one kernel and one set of kernels (armv7em or portable), close to linear
in a few size features of the node: its MACs, its output and input elements, its output
pixels, its filter rows over the output (row set-up), and a constant. The model holds
one least-squares fit per kernel name (mf_conv2d_1x1_s8, mf_depthwise_plane_large_s8,
...), and one per operator as a fallback for a kernel the fit networks did not use.

Which kernel a node runs depends on the memory plan (a depthwise convolution gets its
wide variant where the plan has the bytes), so a prediction asks the code generator for
the calls of the planned program (codegen.generate.planned_calls) on the same graph
EngineProfiler plans: a prediction costs a plan, not a compile.

The fit networks are drawn from the searched space and run once each under QEMU on the
board's core. The figure in milliseconds is instructions / clock: one instruction per
cycle, which QEMU cannot measure; real Cortex-M cycles differ (the M7 dual-issues,
loads and taken branches cost more than one on the M4). The search checks the model on
the final models against QEMU's own count (`latency_check` in search.json).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.codegen.generate import plan_memory, planned_calls
from mcuforge.errors import InputError
from mcuforge.hw.boards import Board
from mcuforge.ir.graph import Graph, Node
from mcuforge.ir.ops import Op
from mcuforge.ir.stats import node_macs
from mcuforge.nas.evolution import MemoryConstraint
from mcuforge.nas.profile import EngineProfiler
from mcuforge.nas.space import BlockSpace, NetConfig, SearchError
from mcuforge.nas.supernet import Arch, smallest
from mcuforge.plan.memory import MemoryPlan

FEATURES = ("macs", "lane_macs", "inside_macs", "out_elements", "in_elements", "out_pixels", "filter_rows", "one")
LANES = 4  # the armv7em kernels compute output pixels (or channels) four at a time


def node_features(g: Graph, node: Node) -> np.ndarray:
    """FEATURES of one node. lane_macs: the MACs with the output pixels rounded up to a
    multiple of LANES (a last partial group costs a whole one); inside_macs: the MACs of
    the filter taps inside the image (kernels skip or copy the padding)."""
    y = g.tensors[node.outputs[0]]
    x = g.tensors[node.inputs[0]] if node.inputs and node.inputs[0] in g.tensors else None
    macs = node_macs(g, node)
    out_pixels = y.shape[1] * y.shape[2] if len(y.shape) == 4 else 1
    lanes = -(-out_pixels // LANES) * LANES
    lane_macs = macs * lanes / out_pixels if out_pixels else 0.0
    rows, inside = 0, macs
    if node.op in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D) and len(y.shape) == 4 and x is not None:
        from mcuforge.codegen.ops_conv import taps_inside
        from mcuforge.ref.conv import prepare_conv2d, prepare_depthwise_conv2d

        p = (prepare_conv2d if node.op == Op.CONV_2D else prepare_depthwise_conv2d)(g, node)
        (oh, ow), (kh, kw), (sh, sw) = p.out_hw, p.kernel_hw, p.stride
        rows = oh * kh
        taps = taps_inside(x.shape[1], oh, sh, p.padding[0], kh) * taps_inside(x.shape[2], ow, sw, p.padding[1], kw)
        inside = macs * taps / (oh * ow * kh * kw)
    return np.array(
        [macs, lane_macs, inside, y.size, 0 if x is None else x.size, out_pixels, rows, 1], dtype=np.float64
    )


def program_nodes(g: Graph, memory: MemoryPlan) -> list[tuple[int, str | None, np.ndarray]]:
    """(node index, kernel name or None when the node has no code, features) in order."""
    _, calls = planned_calls(g, memory)
    return [(i, None if calls[i] is None else calls[i].kernel, node_features(g, g.nodes[i])) for i in memory.order]


@dataclass
class LatencyModel:
    core: str
    kernels: str  # the kernel set the counts are of (armv7em, portable)
    mhz: int
    coef: dict[str, list[float]] = field(default_factory=dict)  # kernel name or "op:OP" -> per FEATURES

    def node_instructions(self, kernel: str | None, op: str, x: np.ndarray) -> float:
        """One node's predicted instructions: its kernel's fit, else its operator's."""
        if kernel is None:
            return 0.0
        c = self.coef.get(kernel) or self.coef.get(f"op:{op}")
        if c is None:
            raise InputError(f"the latency model has no fit for kernel {kernel} ({op}); its fit networks never ran one")
        return float(np.dot(c, x))

    def instructions(self, g: Graph, memory: MemoryPlan | None = None) -> int:
        """Predicted instructions of g's per-layer program (memory: plan_memory(g))."""
        memory = memory or plan_memory(g)
        return round(sum(self.node_instructions(k, str(g.nodes[i].op), x) for i, k, x in program_nodes(g, memory)))

    def ms(self, instructions: float) -> float:
        return instructions / (self.mhz * 1000.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "core": self.core,
            "kernels": self.kernels,
            "mhz": self.mhz,
            "features": list(FEATURES),
            "coef": self.coef,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LatencyModel:
        return cls(d["core"], d["kernels"], int(d["mhz"]), {k: list(map(float, v)) for k, v in d["coef"].items()})


@dataclass(frozen=True)
class Measured:
    """One network's nodes with their QEMU counts (the fit's data)."""

    name: str
    rows: list[tuple[str | None, str, np.ndarray, int]]  # (kernel, op, features, instructions)
    total: int


def measure(g: Graph, board: Board, name: str, kernels: str = "auto") -> tuple[Measured, Any]:
    """Compile g and run it once under QEMU with counting: its coded nodes with their
    counts, and the profile (targets/profile.py)."""
    from mcuforge.engine import compile_graph
    from mcuforge.targets.profile import profile_model

    compiled = compile_graph(g)
    with tempfile.TemporaryDirectory(prefix="mcuforge-lat-") as tmp:
        p = profile_model(compiled, board, kernels=kernels, folder=Path(tmp))
    h, memory = compiled.graph, compiled.project.memory
    counts = {n["index"]: n["instructions"] for n in p["nodes"]}
    rows = [(k, str(h.nodes[i].op), x, counts[i]) for i, k, x in program_nodes(h, memory)]
    return Measured(name, rows, p["instructions_total"]), p


def fit(measured: Sequence[Measured], core: str, kernels: str, mhz: int) -> LatencyModel:
    """Least squares per kernel name (and per operator) over every coded node."""
    groups: dict[str, list[tuple[np.ndarray, int]]] = {}
    for m in measured:
        for kernel, op, x, n in m.rows:
            if kernel is None:
                continue
            groups.setdefault(kernel, []).append((x, n))
            groups.setdefault(f"op:{op}", []).append((x, n))
    coef = {}
    for key, pts in sorted(groups.items()):
        a = np.stack([x for x, _ in pts])
        b = np.array([n for _, n in pts], dtype=np.float64)
        scale = np.maximum(np.abs(a).max(axis=0), 1.0)  # columns to one scale: lstsq's cut-off is relative
        sol, *_ = np.linalg.lstsq(a / scale, b, rcond=None)
        coef[key] = [float(v) for v in sol / scale]
    return LatencyModel(core, kernels, mhz, coef)


def check(model: LatencyModel, m: Measured) -> dict[str, Any]:
    """Predicted against measured instructions of one network."""
    pred = round(sum(model.node_instructions(kernel, op, x) for kernel, op, x, _ in m.rows))
    return {
        "name": m.name,
        "measured_instructions": m.total,
        "predicted_instructions": pred,
        "error": (pred - m.total) / m.total if m.total else 0.0,
        "measured_ms": model.ms(m.total),
        "predicted_ms": model.ms(pred),
    }


def fit_model(
    graphs: Sequence[tuple[str, Graph]],
    board: Board,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[LatencyModel, list[dict[str, Any]]]:
    """Run each graph under QEMU on the board's core, fit, and the leave-one-out check
    (each network predicted by a model fitted without it)."""
    from mcuforge.targets.qemu import core_of, kernel_set

    core_of(board)  # a core QEMU emulates, or a clear error
    kset = kernel_set(board)
    measured = []
    for k, (name, g) in enumerate(graphs):
        if progress is not None:
            progress(k, len(graphs))
        measured.append(measure(g, board, name)[0])
    if progress is not None:
        progress(len(graphs), len(graphs))
    model = fit(measured, board.core, kset, board.mhz)
    loo = []
    for k, m in enumerate(measured):
        rest = measured[:k] + measured[k + 1 :]
        loo.append(check(fit(rest, board.core, kset, board.mhz) if rest else model, m))
    return model, loo


def latency_board(board: Board) -> Board:
    """The board the counts are measured on: its core and clock, with all the memory
    QEMU's machine has (a network at the budget's edge plus firmware code may not link
    into the board's own; counts do not depend on it). A clear error when QEMU emulates
    no core of it."""
    if board.qemu_machine is None:
        raise InputError(
            f"--max-ms needs a board whose core QEMU emulates (cortex-m4 or cortex-m7) to fit its instruction model; "
            f"{board.name} has a {board.core}"
        )
    from mcuforge.targets.qemu import QEMU_REGION_BYTES

    return replace(board, sram=QEMU_REGION_BYTES, flash=QEMU_REGION_BYTES)


class LatencyConstraint(MemoryConstraint):
    """Fits when the engine's memory fits (MemoryConstraint) and the predicted latency is
    at most `max_ms`; predictions are cached per arch (`ms`)."""

    def __init__(self, space: BlockSpace, in_channels: int, num_classes: int, sram: int, flash: int,
                 profiler: EngineProfiler, model: LatencyModel, max_ms: float) -> None:  # fmt: skip
        super().__init__(space, in_channels, num_classes, sram, flash, profiler)
        self.model, self.max_ms = model, max_ms
        self._ms: dict[Arch, float] = {}

    def ms(self, arch: Arch) -> float:
        v = self._ms.get(arch)
        if v is None:
            v = self._ms[arch] = config_ms(
                self.profiler, self.model, arch.config(self.space, self.in_channels, self.num_classes)
            )
        return v

    def fits_memory(self, arch: Arch) -> bool:
        return super().__call__(arch)

    def __call__(self, arch: Arch) -> bool:
        return self.fits_memory(arch) and self.ms(arch) <= self.max_ms

    def nothing_fits(self, tries: int) -> SearchError:
        s = smallest(self.space)
        if not self.fits_memory(s):
            return super().nothing_fits(tries)
        return SearchError(
            f"no network of space {self.space.label} fits the memory budget within {self.max_ms:g} ms ({tries} drawn); "
            f"its smallest network takes {self.ms(s):.1f} ms predicted ({self.model.core} at {self.model.mhz} MHz): "
            "give a larger --max-ms"
        )


def config_ms(profiler: EngineProfiler, model: LatencyModel, cfg: NetConfig) -> float:
    """Predicted milliseconds of a config, on the graph EngineProfiler plans."""
    g, _, _ = profiler.graph(cfg)
    return model.ms(model.instructions(g))
