"""What a patch plan is: the last node run patch by patch, and the spatial grid.

MCUNetV2's patch-based inference: the nodes of the patch stage (`start`..`split` of
the optimised graph's node list) run once per cell of a rows x cols grid over the
stage's output, each patch computing the halo its receptive field needs; the rest of
the network runs layer by layer. `start` None means the earliest node that makes a
valid stage (patch/stage.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mcuforge.errors import InputError

Box = tuple[int, int, int, int]  # rows [r0, r1) and columns [c0, c1) of a 4-D NHWC tensor


class NotPatchable(InputError):
    """A split or grid that cannot run patch by patch (one sentence saying why)."""


@dataclass(frozen=True)
class PatchPlan:
    split: int  # index (optimised graph) of the last node of the patch stage
    grid: tuple[int, int]  # (rows, cols) of patches over the stage's output
    start: int | None = None  # first node of the stage; None: the earliest valid one

    @property
    def label(self) -> str:
        return f"{self.split}:{self.grid[0]}x{self.grid[1]}"

    @property
    def patches(self) -> int:
        return self.grid[0] * self.grid[1]


_SPEC = re.compile(r"^(\d+):(\d+)(?:x(\d+))?$")


def parse_patch(text: str) -> str | PatchPlan:
    """`auto`, `none`, or SPLIT:GRID with GRID `N` (N x N) or `RxC`; InputError otherwise."""
    t = text.strip().lower()
    if t in ("auto", "none"):
        return t
    m = _SPEC.match(t)
    if m is None:
        raise InputError(f"--patch {text!r} is not auto, none or SPLIT:GRID (for example 8:4 or 8:3x4)")
    rows = int(m.group(2))
    cols = int(m.group(3)) if m.group(3) else rows
    if rows < 1 or cols < 1:
        raise InputError(f"--patch {text!r}: the grid needs at least one row and one column")
    return PatchPlan(int(m.group(1)), (rows, cols))


def grid_cells(hw: tuple[int, int], grid: tuple[int, int]) -> list[Box]:
    """The grid's cells over an h x w plane, row-major; cell edges at floor(i * h / rows),
    so cells differ by at most one row or column. InputError if a cell would be empty."""
    (h, w), (rows, cols) = hw, grid
    if rows > h or cols > w:
        raise NotPatchable(f"a {rows}x{cols} grid does not fit a {h}x{w} tensor: every patch needs a pixel")
    re_ = [i * h // rows for i in range(rows + 1)]
    ce = [j * w // cols for j in range(cols + 1)]
    return [(re_[i], re_[i + 1], ce[j], ce[j + 1]) for i in range(rows) for j in range(cols)]


