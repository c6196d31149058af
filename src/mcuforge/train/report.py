"""A training run's report: curves.png (loss and accuracy per epoch), report.md (data,
network, schedule, float / PTQ / QAT accuracy, the engine's memory for the board, the
commands that compile and validate the model) and report.json (the same figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plot_curves(history: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    x = list(range(1, len(history) + 1))
    for phase, colour in (("float", "tab:blue"), ("qat", "tab:orange")):
        pts = [(i, h) for i, h in zip(x, history) if h["phase"] == phase]
        if not pts:
            continue
        xs = [i for i, _ in pts]
        ax_loss.plot(xs, [h["train_loss"] for _, h in pts], "o-", color=colour, ms=3, label=f"{phase} train")
        ax_acc.plot(xs, [100 * h["train_acc"] for _, h in pts], "o--", color=colour, ms=3, label=f"{phase} train")
        ax_acc.plot(xs, [100 * h["val_acc"] for _, h in pts], "o-", color=colour, ms=3, label=f"{phase} val")
    ax_loss.set(xlabel="epoch", ylabel="loss (label-smoothed)", title="training loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy %", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def format_report(r: dict[str, Any]) -> str:
    d, a, t, acc, mem = r["data"], r["arch"], r["training"], r["accuracy"], r["memory"]
    lines = [
        f"# mcuforge training run: {a['name']} on {d['spec']}",
        "",
        "## Data",
        f"- {d['spec']}: {len(d['classes'])} classes ({', '.join(d['classes'])})",
        (f"- splits (split seed {d['split_seed']}): train {d['train']:,}, val {d['val']:,}, test {d['test']:,} images "
         f"at {d['resolution']}x{d['resolution']}x{d['channels']}"),
        (f"- int8 input = pixel - 128; the network sees (pixel / 255 - {d['mean']:.4f}) / {d['std']:.4f} "
         f"(input scale {d['input_scale']:.6g}, zero point {d['input_zero_point']})"),
        "",
        "## Network",
        f"- {a['name']}: {a['macs']:,} MACs, {a['params']:,} parameters, {a['blocks']} blocks, resolution {a['resolution']}",
        "",
        "## Training",
        (f"- float: {t['epochs']} epochs, {t['optimizer']} lr {t['lr']:g} wd {t['wd']:g}, batch {t['batch_size']}, "
         f"label smoothing {t['label_smoothing']:g}, EMA {t['ema'] or 'off'}, crop padding {t['crop_padding']}, "
         f"flip {'on' if t['hflip'] else 'off'}, seed {t['seed']}"),
        f"- {t['images_per_s']:.0f} images/s over {t['float_minutes']:.1f} min on {t['device']} ({t['threads']} threads)",
        f"- PTQ: {t['calib']} calibration images from the training split, {t['observer']} ranges",
        f"- QAT: {t['qat_epochs']} epochs at lr {t['qat_lr']:g}" if t["qat_epochs"] else "- QAT: not run (--qat-epochs 0)",
        "",
        "## Accuracy",
        "",
        "| model | val | test |",
        "|---|---:|---:|",
        f"| float (PyTorch) | {_pct(acc['float']['val'])} | {_pct(acc['float']['test'])} |",
        f"| PTQ int8 (reference executor) | {_pct(acc['ptq']['val'])} | {_pct(acc['ptq']['test'])} |",
    ]
    if acc.get("qat"):
        q = acc["qat"]
        lines += [
            f"| QAT fake-quantised (PyTorch) | {_pct(q['val_fake'])} | {_pct(q['test_fake'])} |",
            f"| QAT int8 (reference executor) | {_pct(q['val'])} | {_pct(q['test'])} |",
        ]
    lines += [
        "",
        (f"The deployed model (model.tflite) is the {r['deployed'].upper()} one. Nothing was chosen on the test split; "
         "the int8 rows are the .tflite files run by the reference executor, which is bit-exact with TF-Lite Micro."),
        "",
        "## Memory (the engine's plan of model.tflite)",
        "",
        f"- peak SRAM {mem['peak_sram_bytes']:,} B (arena, scratch included), Flash {mem['flash_bytes']:,} B of constants",
    ]
    if mem.get("board"):
        verdict = "fits" if mem["fits"] else "does NOT fit"
        lines.append(f"- {mem['board']} ({mem['board_sram']:,} B SRAM, {mem['board_flash']:,} B Flash): {verdict}")
    else:
        lines.append(f"- fits: {', '.join(mem['fits_boards']) or 'none of the registered boards'}")
    board = mem.get("board") or (mem["fits_boards"][0] if mem["fits_boards"] else "STM32H743")
    run = r["run"]
    lines += [
        "",
        "## Next",
        "",
        "```",
        f"mcuforge compile {run}/model.tflite --board {board} -o {run}/c_project",
        f"mcuforge validate {run}/model.tflite --data {d['spec']} --backend ref,c,qemu-m7",
        "```",
        "",
        "![curves](curves.png)",
        "",
    ]
    return "\n".join(lines)
