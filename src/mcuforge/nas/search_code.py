"""The search's Flash budget counts code as well as constants.

A network's constants (weights.c) are exact from the engine's sizing pass; its code (the
kernels it calls, model.c, start-up) is known only once the image is linked, which costs
seconds, not the milliseconds a candidate may take. So before stage 1 (phase `code`) a
few networks of the space that call many kernel variants (every kernel size and expand
ratio in turn at the greatest depth, the largest and the smallest network, at the
narrowest and widest width and the lowest and highest resolution) are compiled for the
board and linked (targets/codesize.py: measured with arm-none-eabi-gcc, else estimated),
and the largest code plus a margin is reserved. Every candidate's constants must then fit
the Flash budget minus that reserve; the final models' Flash is measured in full
(code + constants) by `train`, and the report says whether each fits.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from mcuforge.errors import InputError
from mcuforge.nas import space as S

CODE_MARGIN_BYTES = 1024  # kernel variants no probe network happened to call


def _probe_configs(base: S.BlockSpace, widths: tuple[float, ...], res: tuple[int, ...]) -> list[S.NetConfig]:
    n_stages = len(base.stage_channels) - 1
    out = []
    corners = dict.fromkeys(((min(widths), min(res)), (min(widths), max(res)), (max(widths), max(res)), (max(widths), min(res))))
    for w, r in corners:
        space = replace(base, width=w, resolution=r)
        depths = [max(space.depths)] * n_stages + [space.last_stage_depth]
        n = sum(depths)
        ks, es = sorted(space.kernels), sorted(space.expands)
        out.append(S.build(space, depths, [ks[i % len(ks)] for i in range(n)], [es[(i // len(ks)) % len(es)] for i in range(n)], "diverse"))
        out.append(S.build(space, depths, [max(ks)] * n, [max(es)] * n, "largest"))
    small = replace(base, width=min(widths), resolution=min(res))
    depths = [min(small.depths)] * n_stages + [small.last_stage_depth]
    n = sum(depths)
    out.append(S.build(small, depths, [min(small.kernels)] * n, [min(small.expands)] * n, "smallest"))
    return out


class CodePhase:
    """Needs SearchRun's st, plan, state, say and _done."""

    st: Any
    plan: Any
    state: dict[str, Any]

    def code_board(self):
        from mcuforge.hw.boards import get_board

        return get_board(self.st.board or "STM32F746")  # without a board: the largest code (ARMv7E-M kernels)

    def code_reserve(self, base: S.BlockSpace, res: tuple[int, ...]) -> dict[str, Any]:
        done = self.state["phases"].get("code")
        if done:
            return done
        from mcuforge.engine import compile_graph
        from mcuforge.nas.export import export_graph
        from mcuforge.targets.codesize import flash_figure

        t0 = time.monotonic()
        board = self.code_board()
        self.say(f"code: linking {len(_probe_configs(base, self.plan.widths, res))} networks of the space for {board.name} to bound the kernels' Flash")
        measured = []
        for cfg in _probe_configs(base, self.plan.widths, res):
            c = compile_graph(export_graph(cfg, 0)).for_board(board)
            fig = flash_figure(c.project, board)
            measured.append({"network": f"{cfg.name}-r{cfg.resolution}", "code_bytes": fig.code, "constants_bytes": fig.constants, "source": fig.source})
        reserve = max(m["code_bytes"] for m in measured) + CODE_MARGIN_BYTES
        smallest = measured[-1]["constants_bytes"]
        if reserve + smallest > self.st.flash:
            raise InputError(
                f"the kernels and start-up code take about {reserve:,} B of Flash on {board.name}; with the smallest network's "
                f"{smallest:,} B of constants that is more than the {self.st.flash:,} B budget: give a bigger Flash budget"
            )
        return self._done("code", {"reserve_bytes": reserve, "board": board.name, "core": board.core, "measured": measured}, t0)

    @property
    def constants_flash(self) -> int:
        """The Flash budget left for constants once the code reserve is taken."""
        code = self.state["phases"].get("code")
        if code is None:
            raise InputError(
                "this run folder was started by an earlier mcuforge whose search counted constants only, not code; start a new run folder"
            )
        return self.st.flash - code["reserve_bytes"]
