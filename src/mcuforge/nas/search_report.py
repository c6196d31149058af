"""The search's result (search.json's summary, `--json`) and RUN/report.md / report.html:
the stage-1 CDF, the evolution curve, accuracy against peak SRAM of every scored
candidate with the budget, the winner's per-layer memory, and the table winner /
baseline / random search (float, int8, QEMU)."""

from __future__ import annotations

import json
import time
from typing import Any

from mcuforge.nas.profile import EngineMemory
from mcuforge.nas.supernet import Arch
from mcuforge.report.html import report_html
from mcuforge.train.config import write_json_atomic

LABELS = {"winner": "TinyNAS winner", "random": "random search", "baseline": "scaled MobileNetV2"}


def _model(job: Any, name: str) -> dict[str, Any]:
    t = job.state["phases"][f"train_{name}"]
    v = job.state["phases"][f"validate_{name}"]
    acc = t["accuracy"]
    qemu = next((b for b in v["backends"] if b.startswith("qemu")), None)
    out = {
        "arch": t["arch"]["name"], "model": t["model"],
        "float_accuracy": acc["float"]["test"], "int8_accuracy": v["accuracy"]["ref"],
        "qemu_accuracy": None if qemu is None else v["accuracy"][qemu], "qemu_backend": qemu,
        "identical": v["identical"], "validated_on": v["backends"], "samples": v["samples"],
        "peak_sram_bytes": t["memory"]["peak_sram_bytes"], "flash_bytes": t["memory"]["flash_bytes"],
        "constants_bytes": t["memory"].get("constants_bytes", t["memory"]["flash_bytes"]), "code_bytes": t["memory"].get("code_bytes"),
        "deployed": t["deployed"],
    }  # fmt: skip
    patched = job.state["phases"].get(f"patch_{name}")
    if patched is not None:  # --patch: `compile --patch auto`'s peak (train's figures are per layer)
        out["per_layer_peak_sram_bytes"] = out["peak_sram_bytes"]
        out["peak_sram_bytes"], out["patch"] = patched["peak_sram_bytes"], patched["patch"]
        out["constants_bytes"] = patched["constants_bytes"]  # flash_bytes stays train's linked per-layer image
        out["patch_c_identical"] = patched["c_identical"]
    return out


def summary(job: Any, winner: Arch, mem: EngineMemory, budget: dict[str, int]) -> dict[str, Any]:
    """The result; its minutes are summed over every call of a resumed run."""
    ph = job.state["phases"]
    w = _model(job, "winner")
    space = ph["space"]["best"]
    out = {
        "data": job.st.data, "sram_budget_bytes": budget["sram"], "flash_budget_bytes": budget["flash"], "board": job.st.board,
        "preset": job.st.preset, "seed": job.st.seed,
        "space": {"width": space["width"], "resolution": space["resolution"]},
        "winner": {**winner.as_dict(), "name": w["arch"], "val_fitness": ph["evolution"]["fitness"]},
        "model": w["model"], "int8_accuracy": w["int8_accuracy"], "qemu_accuracy": w["qemu_accuracy"],
        "float_accuracy": w["float_accuracy"], "identical": w["identical"],
        # the search's figures (the planner on the architecture: peak SRAM and constants) and
        # compile's on the trained .tflite (Flash: code + constants, from the linked image)
        "peak_sram_bytes": mem.peak_sram_bytes, "constants_bytes": mem.flash_bytes,
        "code_reserve_bytes": ph["code"]["reserve_bytes"], "flash_bytes": w["flash_bytes"],
        "compile_peak_sram_bytes": w["peak_sram_bytes"], "compile_constants_bytes": w["constants_bytes"], "compile_flash_bytes": w["flash_bytes"],
        "memory_matches_compile": mem.peak_sram_bytes == w["peak_sram_bytes"] and mem.flash_bytes == w["constants_bytes"],
        # --patch: the SRAM figures are `compile --patch auto`'s; the winner's patch plan (split, grid, peak)
        "patch": job.st.patch, "patch_plan": w.get("patch"),
        "patch_c_identical": None if not job.st.patch else all(m.get("patch_c_identical") for m in
                                                                (w, _model(job, "baseline"), _model(job, "random"))),
        "fits_budget": {name: m["peak_sram_bytes"] <= budget["sram"] and m["flash_bytes"] <= budget["flash"]
                        for name, m in (("winner", w), ("baseline", _model(job, "baseline")), ("random", _model(job, "random")))},
        "baseline": _model(job, "baseline"), "random_search": {**_model(job, "random"), "val_fitness": ph["random_search"]["fitness"]},
        "evaluated": ph["evolution"]["evaluated"],
        "minutes": round(sum(job.state["minutes"].values()), 2),
        "minutes_per_phase": {k: round(v, 2) for k, v in job.state["minutes"].items()},
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }  # fmt: skip
    lat = ph.get("latency_check")
    if lat is not None:
        w_lat = lat["models"]["winner"]
        out["max_ms"] = lat["max_ms"]
        out["predicted_ms"], out["qemu_ms"] = w_lat["search_predicted_ms"], w_lat["measured_ms"]
        out["latency"] = {**lat, "fit_leave_one_out": ph["latency"]["leave_one_out"]}
    return out


# ------------------------------------------------------------------ charts
def _plots(job: Any, result: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    hist = job.state["phases"]["evolution"]["history"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([h["generation"] for h in hist], [100 * h["best"] for h in hist], "o-", label="best")
    ax.plot([h["generation"] for h in hist], [100 * h["mean"] for h in hist], "s--", label="population mean")
    ax.set_xlabel("generation")
    ax.set_ylabel("validation accuracy, inherited weights (%)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(job.out / "evolution.png", dpi=110)
    plt.close(fig)
    out["evolution"] = "evolution.png"

    cands = json.loads((job.out / "candidates.json").read_text())
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for src, colour in (("random", "tab:grey"), ("evolution", "tab:blue")):
        pts = [c for c in cands if c["source"] == src]
        ax.scatter(
            [c["peak_sram_bytes"] / 1024 for c in pts],
            [100 * c["fitness"] for c in pts],
            s=8,
            c=colour,
            label=src,
            alpha=0.6,
        )
    ax.axvline(result["sram_budget_bytes"] / 1024, color="tab:red", ls="--", label="SRAM budget")
    ax.scatter(
        [result["peak_sram_bytes"] / 1024],
        [100 * result["winner"]["val_fitness"]],
        marker="*",
        s=160,
        c="tab:orange",
        label="winner",
        zorder=3,
    )
    ax.set_xlabel("peak SRAM (KiB, the engine's plan)")
    ax.set_ylabel("validation accuracy (%)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(job.out / "candidates.png", dpi=110)
    plt.close(fig)
    out["candidates"] = "candidates.png"

    from mcuforge.engine import compile_graph
    from mcuforge.frontend.tflite_read import load
    from mcuforge.hw.boards import get_board
    from mcuforge.report.report import build_report

    board = get_board(job.st.board or "STM32F746", job.st.sram, job.st.flash)
    rep = build_report(compile_graph(load(result["model"]), patch="auto" if job.st.patch else "none"), board)
    live = [n["live_bytes"] for n in rep["nodes"]]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar(range(len(live)), [v / 1024 for v in live], color="tab:blue")
    ax.axhline(result["sram_budget_bytes"] / 1024, color="tab:red", ls="--", label="SRAM budget")
    ax.set_xlabel("step of the patch program (execution order)" if result.get("patch") else "layer (execution order)")
    ax.set_ylabel("live SRAM (KiB)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(job.out / "winner_memory.png", dpi=110)
    plt.close(fig)
    out["winner_memory"] = "winner_memory.png"
    if (job.out / "space_cdf.png").is_file():
        out["space"] = "space_cdf.png"
    return out


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def table(result: dict[str, Any]) -> list[str]:
    rows = [
        "| model | architecture | float | int8 (ref) | QEMU | peak SRAM B | Flash B (code + constants) | fits |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    w = {"arch": result["winner"]["name"], "float_accuracy": result["float_accuracy"], "int8_accuracy": result["int8_accuracy"],
         "qemu_accuracy": result["qemu_accuracy"], "peak_sram_bytes": result["compile_peak_sram_bytes"], "flash_bytes": result["compile_flash_bytes"]}  # fmt: skip
    for name, m in (("winner", w), ("baseline", result["baseline"]), ("random", result["random_search"])):
        rows.append(f"| {LABELS[name]} | {m['arch']} | {_pct(m['float_accuracy'])} | {_pct(m['int8_accuracy'])} | {_pct(m['qemu_accuracy'])} "
                    f"| {m['peak_sram_bytes']:,} | {m['flash_bytes']:,} | {'yes' if result['fits_budget'][name] else 'NO'} |")  # fmt: skip
    return rows


def patch_line(p: dict[str, Any] | None) -> str:
    """One sentence on a model's `--patch auto` decision."""
    if p is None:
        return "per layer"
    if not p["used"]:
        return f"per layer ({p['per_layer_peak_bytes']:,} B; no patch plan is smaller)"
    return (f"nodes {p['start']}..{p['split']} in a {p['grid'][0]}x{p['grid'][1]} grid, peak {p['patch_peak_bytes']:,} B "
            f"(per layer {p['per_layer_peak_bytes']:,} B), {100 * p['mac_overhead']:.1f}% more MACs")  # fmt: skip


def patch_md(r: dict[str, Any]) -> list[str]:
    if not r.get("patch"):
        return []
    return [
        "Patch-based inference (--patch): stage 1, evolution, random search, the scaled MobileNetV2 and the final "
        "models fit the SRAM of `mcuforge compile --patch auto` (per layer or the best patch plan, whichever is "
        "smaller). Flash is the per-layer build's (a patched program's constants are the same; its code adds the "
        "patch copy kernel). Validation's C backend ran the per-layer program; the shipped (patched) C program was "
        f"built and run on random inputs: identical to the reference for every model: {'yes' if r['patch_c_identical'] else 'NO'}.",
        "",
        *(f"- {LABELS[name]}: {patch_line(m.get('patch'))}" for name, m in
          (("winner", {"patch": r["patch_plan"]}), ("baseline", r["baseline"]), ("random", r["random_search"]))),
        "",
    ]  # fmt: skip


def latency_md(r: dict[str, Any]) -> list[str]:
    lat = r.get("latency")
    if lat is None:
        return []
    fit = lat["fit_leave_one_out"]
    worst = max(abs(c["error"]) for c in fit)
    lines = [
        f"## Latency (--max-ms {lat['max_ms']:g}, {lat['core']} at {lat['mhz']} MHz)",
        "",
        (
            "Milliseconds are instructions at the board's clock, one per cycle (QEMU counts instructions, not cycles). "
            f"The per-kernel instruction model was fitted to QEMU counts of {len(fit)} networks of the space "
            f"(leave-one-out error at most {100 * worst:.2f}%)."
        ),
        "",
        "| model | predicted ms (search) | predicted ms (compiled model) | QEMU ms | error | within bound |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, c in lat["models"].items():
        lines.append(f"| {LABELS[name]} | {c['search_predicted_ms']:.2f} | {c['predicted_ms']:.2f} | {c['measured_ms']:.2f} "
                     f"| {100 * c['error']:+.2f}% | {'yes' if c['within_bound'] else 'NO'} |")  # fmt: skip
    return [*lines, ""]


def report_md(result: dict[str, Any], plots: dict[str, str]) -> str:
    r = result
    patch = " --patch auto" if r.get("patch") else ""
    lines = [
        f"# mcuforge search: {r['data']} within {r['sram_budget_bytes']:,} B SRAM / {r['flash_budget_bytes']:,} B Flash",
        "",
        f"Preset {r['preset']}, seed {r['seed']}, {r['minutes']:.1f} minutes. Space (stage 1): width {r['space']['width']:g}, "
        f"resolution {r['space']['resolution']}. {r['evaluated']:,} candidates scored by evolution and as many by random search "
        "(validation split, inherited weights, batch norm re-estimated); nothing was chosen on the test split.",
        "",
        "## Test-split accuracy",
        "",
        *table(r),
        "",
        f"The winner's peak SRAM and constants as the search planned them: {r['peak_sram_bytes']:,} B and {r['constants_bytes']:,} B; "
        f"`mcuforge compile` of its model.tflite: {r['compile_peak_sram_bytes']:,} B and {r['compile_constants_bytes']:,} B "
        f"({'equal' if r['memory_matches_compile'] else 'DIFFERENT'}). Its code takes {r['flash_bytes'] - r['compile_constants_bytes']:,} B "
        f"(the search reserved {r['code_reserve_bytes']:,} B), so {r['flash_bytes']:,} B of Flash in all. "
        f"All backends identical on every output byte: {'yes' if r['identical'] else 'NO'}.",
        "",
        *patch_md(r),
        f"Model: `{r['model']}` (compile it with `mcuforge compile {r['model']} --board BOARD{patch}`).",
        "",
        *latency_md(r),
        "## Time per phase (minutes)",
        "",
        "| phase | minutes |",
        "|---|---:|",
        *(f"| {k} | {v:.1f} |" for k, v in r["minutes_per_phase"].items()),
        "",
    ]
    titles = {"space": "Stage 1: FLOPs of fitting networks per space", "evolution": "Evolution", "candidates": "Accuracy against peak SRAM",
              "winner_memory": "The winner's memory per layer"}  # fmt: skip
    for key, title in titles.items():
        if key in plots:
            lines += [f"## {title}", "", f"![{title}]({plots[key]})", ""]
    return "\n".join(lines)


def write_reports(job: Any, result: dict[str, Any]) -> None:
    plots = _plots(job, result)
    md = report_md(result, plots)
    (job.out / "report.md").write_text(md)
    (job.out / "report.html").write_text(report_html(md, job.out, "mcuforge search"))
    write_json_atomic(job.out / "result.json", result)
