"""report.json, report.md and the live-memory chart of a compiled model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mcuforge.engine import Compiled
from mcuforge.hw.boards import Board
from mcuforge.ir.stats import node_macs, total_macs


def build_report(c: Compiled, board: Board) -> dict[str, Any]:
    g, mem = c.project.graph, c.project.memory  # with patches: the patched program's nodes
    nodes = []
    for step, i in enumerate(mem.order):
        node = g.nodes[i]
        out = node.outputs[0]
        call = c.project.calls.get(i)
        nodes.append(
            {
                "index": i,
                "op": str(node.op),
                "name": out,
                "label": f"{i} {node.op} {short_name(out)}",
                "shape": list(g.tensors[out].shape),
                "live_bytes": mem.live_bytes[step],
                "output_offset": mem.tensor_offsets[out],
                "output_bytes": sum(g.tensors[o].nbytes for o in node.outputs),  # all outputs (SPLIT has several)
                "outputs": list(node.outputs),
                "scratch_bytes": mem.scratch_sizes.get(i, 0),
                "kernel": None if call is None else call.kernel,
                "wide_variant": i in mem.wide,  # the faster kernel variant with more scratch
                "inplace": mem.tensor_offsets[out] == mem.tensor_offsets.get(node.inputs[0], -1),
                "macs": node_macs(g, node),
            }
        )
    peak = mem.arena_bytes
    from mcuforge.codegen.generate import for_board
    from mcuforge.targets.codesize import flash_figure

    project = c.project if c.project.board is not None else for_board(c.project, board)
    figure = flash_figure(project, board)
    flash = figure.total
    return {
        "model": c.original.name,
        "board": {
            "name": board.name,
            "sram_bytes": board.sram,
            "flash_bytes": board.flash,
            "core": board.core,
            "fpu": board.fpu,
            "float_abi": board.float_abi,
            "mhz": board.mhz,
        },  # fmt: skip
        "peak_sram_bytes": peak,
        "arena_bytes": mem.arena_bytes,
        "scratch_bytes": mem.scratch_bytes,
        "state_bytes": g.state_bytes(),  # persistent state (variable tensors), inside the arena
        "lower_bound_bytes": mem.lower_bound,
        "flash_bytes": flash,  # code + constants (flash.source: measured from the linked image, or estimated)
        "flash": figure.as_dict(),
        "kernels": project.kernels,
        "macs": total_macs(g),
        "fits": peak <= board.sram and flash <= board.flash,
        "planner": mem.algorithm,
        "patch": None if c.patch is None else c.patch.as_dict(),
        "io": {
            "inputs": [_io(g, n) for n in g.inputs],
            "outputs": [_io(g, n) for n in g.outputs],
        },
        "nodes": nodes,
    }


def short_name(name: str, width: int = 32) -> str:
    """A tensor name people can read: the converter's first alternative, its last two
    path parts, at most `width` characters."""
    first = name.split(";")[0]
    parts = [q for q in first.split("/") if q]
    short = "/".join(parts[-2:]) if parts else first
    return short if len(short) <= width else "..." + short[-(width - 3) :]


def _io(g, name: str) -> dict[str, Any]:
    t = g.tensors[name]
    q = t.quant
    return {
        "name": name,
        "shape": list(t.shape),
        "dtype": t.dtype,
        "scale": None if q is None else q.s,
        "zero_point": None if q is None else q.zp,
    }


def peak_node(report: dict[str, Any]) -> dict[str, Any]:
    return max(report["nodes"], key=lambda n: (n["live_bytes"], -n["index"]))


def misfit_message(report: dict[str, Any]) -> str | None:
    """One sentence saying why the model does not fit the board, or None if it fits."""
    board = report["board"]
    if report["peak_sram_bytes"] > board["sram_bytes"]:
        n = peak_node(report)
        over = report["peak_sram_bytes"] - board["sram_bytes"]
        return (
            f"the model needs {report['peak_sram_bytes']:,} B of SRAM but {board['name']} has {board['sram_bytes']:,} B "
            f"({over:,} B too many); memory peaks at node {n['index']} ({n['op']} {n['name']}) with {n['live_bytes']:,} B live"
        )
    if report["flash_bytes"] > board["flash_bytes"]:
        over = report["flash_bytes"] - board["flash_bytes"]
        f = report["flash"]
        how = "measured from the linked image" if f["source"] == "elf" else "estimated: no arm-none-eabi-gcc here"
        return (
            f"the model needs {report['flash_bytes']:,} B of Flash (constants {f['constants_bytes']:,} B + code {f['code_bytes']:,} B, "
            f"{how}) but {board['name']} has {board['flash_bytes']:,} B ({over:,} B too many)"
        )
    return None


def write_chart(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    live = [n["live_bytes"] / 1024 for n in report["nodes"]]
    labelled = len(live) <= 48  # a per-layer program: one labelled bar per node
    fig, ax = plt.subplots(figsize=(max(6, min(12, len(live) * 0.22)), 4.2 if labelled else 3.5), dpi=100)
    if labelled:
        ax.bar(range(len(live)), live, color="#4878a8", width=0.85, label="live tensors + scratch")
        ax.set_xticks(
            range(len(live)), [f"{n['index']} {n['op'][:12]}" for n in report["nodes"]], rotation=90, fontsize=6
        )
    else:  # a patch program's hundreds of steps: a filled step curve, 12 inches at most
        ax.fill_between(range(len(live)), live, step="mid", color="#4878a8", label="live tensors + scratch")
        ax.set_xlim(-0.5, len(live) - 0.5)
    ax.axhline(
        report["peak_sram_bytes"] / 1024,
        color="#c03030",
        lw=1,
        label=f"arena {report['peak_sram_bytes'] / 1024:.1f} KiB",
    )
    board_k = report["board"]["sram_bytes"] / 1024
    top = max([*live, report["peak_sram_bytes"] / 1024]) * 1.3
    if board_k <= top * 1.6:  # the board's SRAM on the same scale, or named only when far above
        ax.axhline(board_k, color="#888888", lw=1, ls="--", label=f"{report['board']['name']} SRAM")
        top = max(top, board_k * 1.1)
    else:
        ax.plot([], [], " ", label=f"{report['board']['name']} SRAM: {board_k:.0f} KiB (off the scale)")
    ax.set_ylim(0, top)
    ax.set_xlabel("node (execution order)" if labelled else "step of the patch program (execution order)")
    ax.set_ylabel("KiB")
    ax.set_title(f"{report['model']}: live memory per node")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def report_md(report: dict[str, Any], chart: str) -> str:
    b = report["board"]
    lines = [
        f"# {report['model']} on {b['name']}",
        "",
        f"- peak SRAM: {report['peak_sram_bytes']:,} B (arena, all scratch included; board has {b['sram_bytes']:,} B)",
        f"- largest scratch buffer: {report['scratch_bytes']:,} B; live-tensor lower bound: {report['lower_bound_bytes']:,} B",
        *([f"- persistent state: {report['state_bytes']:,} B (variable tensors, inside the arena, kept between runs)"] if report.get("state_bytes") else []),
        f"- Flash: {report['flash_bytes']:,} B: constants {report['flash']['constants_bytes']:,} B + code {report['flash']['code_bytes']:,} B "
        f"({'measured from the linked image' if report['flash']['source'] == 'elf' else 'code estimated: no arm-none-eabi-gcc'}; board has {b['flash_bytes']:,} B)",
        f"- kernels: {report['kernels']}",
        f"- MACs: {report['macs']:,}",
        f"- fits: {'yes' if report['fits'] else 'no'}; planner: {report['planner']}",
        *_patch_lines(report.get("patch")),
        "",
        f"![live memory per layer]({chart})",
        "",
        "| # | op | output | shape | live B | offset | out B | scratch B | in place | kernel |",
        "|---:|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for n in report["nodes"]:
        kernel = (n["kernel"] or "-") + (" (wide)" if n["wide_variant"] else "")
        lines.append(
            f"| {n['index']} | {n['op']} | {short_name(n['name'])} | {'x'.join(map(str, n['shape']))} | {n['live_bytes']:,} "
            f"| {n['output_offset']:,} | {n['output_bytes']:,} | {n['scratch_bytes']:,} | {'yes' if n['inplace'] else ''} | {kernel} |"
        )
    return "\n".join(lines) + "\n"


def _patch_lines(p: dict[str, Any] | None) -> list[str]:
    """The patch-based inference decision (MCUNetV2), for report.md."""
    if p is None or p["mode"] == "none":
        return []
    lines = [f"- patch-based inference ({p['mode']}): per-layer peak {p['per_layer_peak_bytes']:,} B"]
    if p["split"] is None:
        return lines + ["  - no node range can run patch by patch"]
    used = "used" if p["used"] else "not used: per layer needs no more SRAM"
    lines.append(
        f"  - nodes {p['start']}..{p['split']} in a {p['grid'][0]}x{p['grid'][1]} grid: peak {p['patch_peak_bytes']:,} B, "
        f"MAC overhead {p['mac_overhead']:.1%} (bound {p['max_mac_overhead']:.0%}); {used}"
    )
    return lines


def write_report(report: dict[str, Any], outdir: Path) -> None:
    (outdir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_chart(report, outdir / "memory.png")
    md = report_md(report, "memory.png")
    (outdir / "report.md").write_text(md)
    from mcuforge.report.html import report_html

    (outdir / "report.html").write_text(
        report_html(md, outdir, f"mcuforge: {report['model']} on {report['board']['name']}")
    )
