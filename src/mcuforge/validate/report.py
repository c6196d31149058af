"""The text `mcuforge validate` prints, and the confusion matrix as an image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.validate.run import ValidationResult

MAX_CONFUSION_TEXT = 20  # classes up to which the confusion matrix is printed
MAX_PER_CLASS_TEXT = 50  # classes up to which per-class accuracy is printed
NAME_WIDTH = 16


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _short(name: str, width: int = NAME_WIDTH) -> str:
    return name if len(name) <= width else name[: width - 1] + "~"


def backend_table(r: ValidationResult) -> list[str]:
    head = f"{'backend':10} {'accuracy':>9}" + (f" {'top-5':>8}" if r.top5 is not None else "") + f" {'images/s':>10}"
    lines = [head]
    for b in r.backends:
        top5 = f" {_pct(r.top5[b]):>8}" if r.top5 is not None else ""
        board = f"  ({r.boards[b]})" if b in r.boards else ""
        lines.append(f"{b:10} {_pct(r.accuracy[b]):>9}{top5} {r.images_per_s[b]:10,.1f}{board}")
    return lines


def agreement(r: ValidationResult) -> str:
    if len(r.backends) == 1:
        return f"one backend ({r.backends[0]}): nothing to compare"
    others = ", ".join(r.backends[1:])
    if r.identical:
        return f"agreement: {others} identical to {r.backends[0]} on every output byte of {r.samples:,} images"
    return (
        f"agreement: backends DISAGREE with {r.backends[0]}: {r.mismatches:,} of {r.samples:,} images differ in some "
        f"output byte, {r.prediction_mismatches:,} in the predicted class"
    )


def per_class_table(r: ValidationResult) -> list[str]:
    if len(r.classes) > MAX_PER_CLASS_TEXT:
        return [f"per-class accuracy of {len(r.classes)} classes: see --json"]
    lines = [
        "per-class accuracy:",
        f"  {'class':{NAME_WIDTH}} {'images':>7} " + " ".join(f"{b:>9}" for b in r.backends),
    ]
    counts = np.asarray(r.confusion).sum(axis=1)
    for c, name in enumerate(r.classes):
        cells = " ".join(f"{_pct(r.per_class[b][name]):>9}" for b in r.backends)
        lines.append(f"  {_short(name):{NAME_WIDTH}} {int(counts[c]):7,} {cells}")
    return lines


def confusion_text(r: ValidationResult) -> list[str]:
    k = len(r.classes)
    if k > MAX_CONFUSION_TEXT:
        return [f"confusion matrix of {k} classes: see --json or --confusion PNG"]
    m = np.asarray(r.confusion)
    width = max(3, len(f"{int(m.max()) if m.size else 0}"))
    lines = [f"confusion matrix ({r.backends[0]}; rows: true class, columns: predicted class):"]
    lines.append(f"  {'':{NAME_WIDTH}} " + " ".join(f"{c:>{width}}" for c in range(k)))
    for c, name in enumerate(r.classes):
        lines.append(f"  {_short(f'{c} {name}'):{NAME_WIDTH}} " + " ".join(f"{int(v):>{width}}" for v in m[c]))
    return lines


def format_result(r: ValidationResult) -> str:
    head = (
        f"{r.model} on the {r.split} split of {r.data} (split seed {r.split_seed}): "
        f"{r.samples:,} images, {len(r.classes)} classes, {r.seconds:.1f} s"
    )
    return "\n".join([head, *backend_table(r), agreement(r), *per_class_table(r), *confusion_text(r)])


def plot_confusion(r: ValidationResult, path: str | Path) -> None:
    """The first backend's confusion matrix as a PNG, rows normalised, with class names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(r.confusion, dtype=np.float64)
    k = len(r.classes)
    rows = m.sum(axis=1, keepdims=True)
    frac = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    size = min(4 + 0.45 * k, 40)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class")
    if k <= 60:
        ax.set_xticks(range(k), [_short(n) for n in r.classes], rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(k), [_short(n) for n in r.classes], fontsize=8)
    if k <= MAX_CONFUSION_TEXT:
        for i in range(k):
            for j in range(k):
                if m[i, j]:
                    ax.text(
                        j,
                        i,
                        f"{int(m[i, j])}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if frac[i, j] > 0.5 else "black",
                    )
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    acc = r.accuracy[r.backends[0]]
    ax.set_title(f"{Path(r.model).name}, {r.split} split, {r.samples:,} images: {100 * acc:.2f}% ({r.backends[0]})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
