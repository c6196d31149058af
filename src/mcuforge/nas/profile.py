"""Profile an architecture config: MACs, parameters, the MCUNet peak-activation rule, and
the engine's own peak SRAM and Flash for the int8 network.

The first three are closed-form over the config (MCUNet's profiler; they reproduce
shared/configs/mcunet/expected.json exactly). The engine figures never come from a
formula: the config is exported to the IR graph a real export would give
(nas/export.py) and put through the compiler's own passes, scratch sizing and
planner (engine.optimise, codegen.generate.size_graph, plan.memory.plan_graph), so
they equal what `mcuforge compile` reports for the same network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mcuforge.codegen.generate import size_graph
from mcuforge.engine import compile_graph, optimise
from mcuforge.hw.boards import Board
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.nas.export import export_graph, piece_builder
from mcuforge.nas.space import NetConfig, conv_out
from mcuforge.passes import fold_io
from mcuforge.plan.lifetimes import buffer_requests
from mcuforge.plan.memory import MemoryPlan, plan_graph
from mcuforge.plan.order import best_order
from mcuforge.plan.planner import plan
from mcuforge.plan.requests import lower_bound


@dataclass(frozen=True)
class Layer:
    """One weighted layer: its kind, spatial input and output size, and channels."""

    kind: str  # "conv", "dw", "linear"
    in_hw: int
    out_hw: int
    in_channels: int
    out_channels: int
    kernel: int = 1

    @property
    def macs(self) -> int:
        per_out = self.kernel * self.kernel * (1 if self.kind == "dw" else self.in_channels)
        return self.out_hw * self.out_hw * self.out_channels * per_out

    @property
    def params(self) -> int:
        """Weights, plus batch norm's gamma and beta after each conv (as MCUNet's profiler
        counts them), plus the classifier's bias."""
        if self.kind == "linear":
            return self.in_channels * self.out_channels + self.out_channels
        weights = self.kernel * self.kernel * (1 if self.kind == "dw" else self.in_channels) * self.out_channels
        return weights + 2 * self.out_channels

    @property
    def in_elements(self) -> int:
        return self.in_hw * self.in_hw * self.in_channels

    @property
    def out_elements(self) -> int:
        return self.out_hw * self.out_hw * self.out_channels


def layers(cfg: NetConfig) -> list[list[Layer]]:
    """The weighted layers, grouped: [first conv], one group per block (expand, depthwise,
    project), [feature mix], [classifier]."""
    r = cfg.resolution
    fc = cfg.first_conv
    out = conv_out(r, fc.kernel, fc.stride)
    groups = [[Layer("conv", r, out, fc.in_channels, fc.out_channels, fc.kernel)]]
    r = out
    for b in cfg.blocks:
        g = []
        if b.has_expand:
            g.append(Layer("conv", r, r, b.in_channels, b.mid, 1))
        out = conv_out(r, b.kernel, b.stride)
        g.append(Layer("dw", r, out, b.mid, b.mid, b.kernel))
        g.append(Layer("conv", out, out, b.mid, b.out_channels, 1))
        groups.append(g)
        r = out
    if cfg.feature_mix is not None:
        fm = cfg.feature_mix
        out = conv_out(r, fm.kernel, fm.stride)
        groups.append([Layer("conv", r, out, fm.in_channels, fm.out_channels, fm.kernel)])
        r = out
    groups.append([Layer("linear", 1, 1, cfg.last_channels, cfg.num_classes)])
    return groups


def macs(cfg: NetConfig) -> int:
    return sum(layer.macs for g in layers(cfg) for layer in g)


def params(cfg: NetConfig) -> int:
    return sum(layer.params for g in layers(cfg) for layer in g)


def peak_activation(cfg: NetConfig) -> int:
    """MCUNet's peak-activation rule (elements, batch 1; ANCHORS 2.2): a layer costs its
    input plus its output; a block the largest of its layers, where with a residual the
    depthwise also keeps the block input alive. Global pooling costs nothing more than
    the layers around it."""
    groups = layers(cfg)
    peak = 0
    block_groups = groups[1 : 1 + len(cfg.blocks)]
    for g in groups[:1] + groups[1 + len(cfg.blocks) :]:
        peak = max(peak, *(layer.in_elements + layer.out_elements for layer in g))
    for b, g in zip(cfg.blocks, block_groups):
        for layer in g:
            cost = layer.in_elements + layer.out_elements
            if b.residual and layer.kind == "dw":
                cost += g[0].in_elements
            peak = max(peak, cost)
    return peak


# ------------------------------------------------------------- engine figures
@dataclass(frozen=True)
class EngineMemory:
    peak_sram_bytes: int  # the planned arena, scratch included (what `mcuforge compile` reports)
    flash_bytes: int  # every constant array of the generated C (weights.c)
    lower_bound_bytes: int  # the planner's live-bytes lower bound (of the plan shipped)
    patch: dict | None = None  # with patch=True: `compile --patch auto`'s decision (PatchChoice.as_dict)


def compiled_memory(cfg: NetConfig, seed: int = 0) -> EngineMemory:
    """The figures through `compile_graph` itself, C text included (slow: a reference
    for tests; the search uses EngineProfiler, which gives the same numbers)."""
    c = compile_graph(export_graph(cfg, seed))
    m = c.project.memory
    return EngineMemory(m.arena_bytes, c.project.flash_bytes, m.lower_bound)


PIECE_INPUT = "piece_in"  # what a piece calls its input until it is joined to the network


@dataclass(frozen=True)
class Piece:
    """A compiled piece of a network: nodes after the engine's passes, the tensors they
    write and read (not the piece's input), the nodes that read the input, scratch per
    node, Flash bytes."""

    nodes: tuple[Node, ...]
    tensors: dict[str, Tensor]
    output: str
    entry: tuple[int, ...]
    scratch: tuple[int, ...]
    flash: int

    def joined(self, source: str) -> list[Node]:
        """The nodes, reading `source` for the piece's input."""
        nodes = list(self.nodes)
        for k in self.entry:
            n = nodes[k]
            ins = [source if x == PIECE_INPUT else x for x in n.inputs]
            nodes[k] = Node(n.op, ins, n.outputs, n.attrs, n.name, n.inplace)
        return nodes


def _placeholder(t: Tensor) -> Tensor:
    """The tensor with its weights dropped (a zero-stride view keeps shape and dtype):
    the planner only asks whether a tensor is constant. Small operands (MEAN's axes)
    keep their values."""
    if t.data is None or t.data.size <= 16:
        return t
    return Tensor(t.name, t.shape, t.dtype, t.quant, np.broadcast_to(np.zeros((), t.dtype), t.shape))


class EngineProfiler:
    """The engine's peak SRAM and Flash of configs, from the compiler's own code.

    A network is a chain of pieces (stem, blocks, tail), and the engine's passes act
    inside a piece (they fold a PAD into the convolution it feeds and mark a depthwise
    whose input nothing else reads). Each distinct piece (its spec and input shape and
    quantisation, wherever it sits) is exported, optimised (engine.optimise) and sized
    (codegen scratch_sizes and its constant arrays) once; a network is its pieces
    joined, planned by plan.memory.plan_graph. tests/nas check that the joined graph
    equals the optimised whole export node for node and that the figures equal
    compile_graph's. Block tensors are named p<n>_... after the piece's cache number.
    """

    def __init__(self, max_pieces: int = 20_000) -> None:
        self.max_pieces = max_pieces
        self._pieces: dict[tuple, Piece] = {}
        self._patched: dict[tuple, EngineMemory] = {}
        self._count = 0

    def _piece(self, cfg: NetConfig, key: tuple, i: int, source: Tensor | None) -> Piece:
        piece = self._pieces.get(key)
        if piece is None:
            if len(self._pieces) >= self.max_pieces:
                self._pieces.clear()
            self._count += 1
            piece = self._pieces[key] = self._build(cfg, key[0], i, source, f"p{self._count}")
        return piece

    @staticmethod
    def _build(cfg: NetConfig, kind: str, i: int, source: Tensor | None, prefix: str) -> Piece:
        b, e, x = piece_builder(cfg, source, PIECE_INPUT)
        y = e.stem() if kind == "stem" else e.block(x, i, prefix) if kind == "block" else e.tail(x)
        b.output(y)
        g = optimise(fold_io(b.graph).graph)
        sizing = size_graph(g)
        own = {n: _placeholder(t) for n, t in g.tensors.items() if n != PIECE_INPUT}
        entry = tuple(k for k, n in enumerate(g.nodes) if PIECE_INPUT in n.inputs)
        return Piece(tuple(g.nodes), own, y, entry, tuple(sizing.scratch[k] for k in range(len(g.nodes))), sizing.flash_bytes)

    def graph(self, cfg: NetConfig) -> tuple[Graph, dict[int, int], int]:
        """The optimised graph of cfg (constants as placeholders), scratch per node, Flash."""
        g = Graph(name=cfg.name, inputs=["input"])
        scratch: dict[int, int] = {}
        seen: dict[tuple, int] = {}
        flash = 0
        prev: Piece | None = None
        parts = [("stem", (cfg.first_conv, cfg.resolution, cfg.in_channels), 0)]
        parts += [("block", b, i) for i, b in enumerate(cfg.blocks)]
        parts.append(("tail", (cfg.feature_mix, cfg.num_classes), 0))
        for kind, spec, i in parts:
            source = None if prev is None else prev.tensors[prev.output]
            key = (kind, spec) if source is None else (kind, spec, source.shape, source.quant.s, source.quant.zp)
            seen[key] = seen.get(key, -1) + 1  # a second identical block in one network is another piece
            p = self._piece(cfg, (*key, seen[key]), i, source)
            base = len(g.nodes)
            g.tensors.update(p.tensors)
            g.nodes.extend(p.nodes if source is None else p.joined(source.name))
            scratch.update((base + k, s) for k, s in enumerate(p.scratch))
            flash += p.flash
            prev = p
        g.outputs.append(prev.output)
        return g, scratch, flash

    def plan(self, cfg: NetConfig) -> tuple[MemoryPlan, int]:
        g, scratch, flash = self.graph(cfg)
        return plan_graph(g, scratch), flash

    def memory(self, cfg: NetConfig, patch: bool = False, max_mac_overhead: float = 0.2) -> EngineMemory:
        """Per layer, or with `patch` what `mcuforge compile --patch auto` ships (cached)."""
        if patch:
            return self.patched(cfg, max_mac_overhead)
        mem, flash = self.plan(cfg)
        return EngineMemory(mem.arena_bytes, flash, mem.lower_bound)

    def patched(self, cfg: NetConfig, max_mac_overhead: float = 0.2) -> EngineMemory:
        """`compile --patch auto`'s figures: patch/choose.py's choose_patch itself on the
        joined graph, with the per-layer plan as its per-layer project (no C text is
        needed for it: choose_patch reads only its memory plan). The peak is the project
        it returns (per layer, or the patched program re-planned and verified, whichever
        is smaller). Flash stays the per-layer constants: a patched program's per-node
        arrays are identical in every patch and merged (patch/codegen.py merge_arrays),
        so `compile` reports the same constants (tests/nas check it; on the placeholder
        constants here, all zeros, that merge would wrongly merge weights too).
        Cached per (config, bound): the patch search takes 0.2-2 s per network."""
        key = (cfg, max_mac_overhead)
        m = self._patched.get(key)
        if m is None:
            from mcuforge.codegen.generate import Project
            from mcuforge.patch.choose import choose_patch

            if len(self._patched) >= self.max_pieces:
                self._patched.clear()
            g, scratch, flash = self.graph(cfg)
            mem = plan_graph(g, scratch)
            project, choice = choose_patch(g, Project({}, g, mem, {}, flash), "auto", max_mac_overhead)
            m = EngineMemory(project.memory.arena_bytes, flash, project.memory.lower_bound, choice.as_dict())
            self._patched[key] = m
        return m

    def fits(self, cfg: NetConfig, sram: int, flash: int, patch: bool = False, max_mac_overhead: float = 0.2) -> bool:
        """Whether the compiled network fits, deciding as soon as it can: Flash first (the
        constants alone may be too big), then the planner's lower bound for plan_graph's
        order and buffers (no plan can be smaller), then the plan itself. The answer is
        `memory(cfg)`'s, exactly (tests/nas check it), at a fraction of the cost. With
        `patch`, a network that fits per layer fits (choose_patch never ships more than
        the per-layer peak); any other is decided by the patched figure."""
        g, scratch, flash_used = self.graph(cfg)
        if flash_used > flash:
            return False
        if patch:
            m = self._patched.get((cfg, max_mac_overhead))
            if m is None and self.fits(cfg, sram, flash):
                return True
            return (m or self.patched(cfg, max_mac_overhead)).peak_sram_bytes <= sram

        def scratch_of(i: int) -> int:
            return scratch.get(i, 0)

        bufs = buffer_requests(g, best_order(g, scratch_of), scratch_of)
        if lower_bound(bufs.requests, bufs.overlaps) > sram:
            return False
        return plan(bufs.requests, bufs.overlaps).arena_bytes <= sram

    def clear(self) -> None:
        """Forget every piece (a new width or resolution shares none with the old)."""
        self._pieces.clear()
        self._patched.clear()


_DEFAULT = EngineProfiler()


def engine_memory(cfg: NetConfig, profiler: EngineProfiler | None = None) -> EngineMemory:
    return (profiler or _DEFAULT).memory(cfg)


@dataclass(frozen=True)
class Profile:
    name: str
    resolution: int
    macs: int
    params: int
    peak_activation_elements: int
    peak_sram_bytes: int
    flash_bytes: int
    board: str | None = None
    fits: bool | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def profile(cfg: NetConfig, board: Board | None = None, profiler: EngineProfiler | None = None) -> Profile:
    """Every figure for one config; `fits` against the board's SRAM and Flash when given."""
    mem = engine_memory(cfg, profiler)
    fits = None if board is None else mem.peak_sram_bytes <= board.sram and mem.flash_bytes <= board.flash
    return Profile(
        name=cfg.name,
        resolution=cfg.resolution,
        macs=macs(cfg),
        params=params(cfg),
        peak_activation_elements=peak_activation(cfg),
        peak_sram_bytes=mem.peak_sram_bytes,
        flash_bytes=mem.flash_bytes,
        board=None if board is None else board.name,
        fits=fits,
    )
