"""`validate`: accuracy of an int8 classifier on a data set's test (or val) split on one
or more backends, and whether the backends agree byte for byte.

The images are loaded at the model's input resolution and channel count, with the split
seed the model was trained with (its metadata), and fed as the model's input tensor
expects (mcuforge's convention pixel - 128, or --input-range). The data set's classes
are matched to the model's outputs by name when the model names its classes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.errors import InputError
from mcuforge.ir.graph import Graph
from mcuforge.validate import metrics
from mcuforge.validate.backends import check_backends
from mcuforge.validate.prepare import check_model, check_tools, class_map, model_inputs, resolve_boards

SPLITS = ("test", "val")
TOP_K = 5
MAX_REF_WORKERS = 8  # forked reference processes at most (each holds a chunk's activations)


@dataclass(frozen=True)
class ValidationResult:
    model: str
    data: str
    split: str
    split_seed: int
    samples: int
    classes: tuple[str, ...]  # the model's output order
    backends: tuple[str, ...]  # the first is the one the others are compared with
    accuracy: dict[str, float]
    per_class: dict[str, dict[str, float | None]]  # backend -> class -> accuracy (None: no images)
    confusion: tuple[tuple[int, ...], ...]  # the first backend's; row = true class, column = predicted
    identical: bool  # every backend's output bytes equal the first's on every image
    mismatches: int  # images where some backend's output bytes differ from the first's
    prediction_mismatches: int  # images where some backend predicts another class than the first
    images_per_s: dict[str, float]  # running the batch (building excluded)
    backend_seconds: dict[str, float]  # each backend in all, building included
    seconds: float  # the whole validation, loading the data included
    boards: dict[str, str]  # QEMU backend -> board the firmware was linked for
    top5: dict[str, float] | None = None  # only with more than 5 classes

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"] = list(self.classes)
        d["backends"] = list(self.backends)
        d["confusion"] = [list(r) for r in self.confusion]
        if self.top5 is None:
            del d["top5"]
        return d


def _say(progress: bool, text: str) -> None:
    if progress:
        print(f"validate: {text}", file=sys.stderr, flush=True)


def _load(data: str, split: str, h: int, c: int, split_seed: int, val_size: int | None, limit: int | None):
    from mcuforge.data import load_dataset

    ds = load_dataset(data, resolution=h, channels=c, split_seed=split_seed, val_size=val_size, splits=(split,))
    part = ds.split(split)
    if len(part) == 0:
        raise InputError(f"the {split} split of {data} has no images")
    n = len(part) if limit is None else min(limit, len(part))
    return ds.classes, part.images[:n], np.asarray(part.labels[:n], dtype=np.int64)


def _run_backends(
    g: Graph, model: Path, x: np.ndarray, backends: tuple[str, ...], boards: dict, progress: bool, workers: int | None
) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, float]]:
    from mcuforge.validate.backends import run_ref, run_tflm
    from mcuforge.validate.batch import cpu_count, run_c_batch, run_qemu_batch

    outputs, run_s, total_s = {}, {}, {}
    compiled = None
    out_shape = g.tensors[g.outputs[0]].shape
    for b in backends:
        started = time.perf_counter()
        timing: dict[str, float] = {}
        if b == "ref":
            outputs[b] = run_ref(g, x, progress=progress, workers=workers or min(cpu_count(), MAX_REF_WORKERS))
        elif b == "tflm":
            outputs[b] = run_tflm(model.read_bytes(), x, out_shape, progress=progress)
        else:
            if compiled is None:
                from mcuforge.engine import compile_graph

                _say(progress, "compiling the model")
                compiled = compile_graph(g)
            if b == "c":
                _say(progress, "building the C project with gcc")
                outputs[b] = run_c_batch(compiled, x, progress=progress, timing=timing)
            else:
                _say(progress, f"building the firmware for {boards[b].name} ({boards[b].core})")
                outputs[b] = run_qemu_batch(
                    compiled, boards[b], x, progress=progress, desc=b, workers=workers, timing=timing
                )
        total_s[b] = time.perf_counter() - started
        run_s[b] = timing.get("run_s", total_s[b])
    return outputs, run_s, total_s


def validate(
    model: str | Path,
    data: str,
    split: str = "test",
    backends: str | Sequence[str] = ("ref",),
    limit: int | None = None,
    board: str | None = None,
    sram: int | None = None,
    flash: int | None = None,
    split_seed: int | None = None,
    input_range: tuple[float, float] | None = None,
    progress: bool = True,
    workers: int | None = None,
) -> ValidationResult:
    """Run the int8 classifier `model` (.tflite) on the `split` images of the data set
    `data` (a spec: fashion-mnist, folder:PATH, npz:PATH) with each of `backends` (ref,
    c, tflm, qemu-m7, qemu-m4; the first is the reference the others are compared with).

    `limit`: the first N images of the split. `board`, `sram`, `flash`: the board the
    QEMU firmware is linked for (default: the largest of the backend's core).
    `split_seed`: default the model's (its metadata), else 0. `input_range`: map pixels
    to lo..hi and quantise with the model's input scale (default: int8 = pixel - 128).
    `workers`: processes of the ref and QEMU backends (default one per core)."""
    started = time.perf_counter()
    names = check_backends(backends)
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose {' or '.join(SPLITS)}")
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be at least 1, not {limit}")
    if workers is not None and workers < 1:
        raise InputError(f"workers must be at least 1, not {workers}")
    path = Path(model)
    if not path.is_file():
        raise InputError(f"model file {model} does not exist")
    boards = resolve_boards(names, board, sram, flash)
    check_tools(names)
    g, (h, c), n_out = check_model(path)

    from mcuforge.frontend.metadata import model_info, read_labels

    info = model_info(path)
    seed = split_seed if split_seed is not None else (info.split_seed if info is not None else 0)
    val_size = info.extra.get("val_size") if info is not None else None
    data_classes, images, labels = _load(
        data, split, h, c, seed, val_size if isinstance(val_size, int) else None, limit
    )
    classes, mapping = class_map(read_labels(path), data_classes, n_out, data)
    truth = mapping[labels]
    x = model_inputs(g, images, input_range)

    outputs, run_s, total_s = _run_backends(g, path, x, names, boards, progress, workers)
    preds = {b: metrics.predictions(y) for b, y in outputs.items()}
    mismatches, pred_mismatches = metrics.disagreements([outputs[b] for b in names])
    n = len(truth)
    conf = metrics.confusion(preds[names[0]], truth, len(classes))
    return ValidationResult(
        model=str(model),
        data=data,
        split=split,
        split_seed=int(seed),
        samples=n,
        classes=tuple(classes),
        backends=names,
        accuracy={b: metrics.accuracy(preds[b], truth) for b in names},
        per_class={b: metrics.per_class(preds[b], truth, classes) for b in names},
        confusion=tuple(tuple(int(v) for v in row) for row in conf),
        identical=mismatches == 0,
        mismatches=mismatches,
        prediction_mismatches=pred_mismatches,
        images_per_s={b: n / max(run_s[b], 1e-9) for b in names},
        backend_seconds=dict(total_s),
        seconds=time.perf_counter() - started,
        boards={b: bd.name for b, bd in boards.items()},
        top5={b: metrics.top_k(outputs[b], truth, TOP_K) for b in names} if len(classes) > TOP_K else None,
    )
