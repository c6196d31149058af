"""Test material of the validate tests: a tiny int8 classifier of 12x12 grey images (3 named
classes, seeded random weights, ModelInfo metadata) and a tiny npz data set for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.frontend.metadata import ENTRY, ModelInfo
from mcuforge.frontend.tflite_write import save
from mcuforge.ir.graph import Graph
from mcuforge.nas.export import export_graph
from mcuforge.nas.space import BlockSpec, ConvSpec, NetConfig

CLASSES = ("cat", "dog", "owl")
RESOLUTION = 12


def tiny_config(classes: int = len(CLASSES)) -> NetConfig:
    return NetConfig(
        name="tiny",
        resolution=RESOLUTION,
        first_conv=ConvSpec(1, 8, 3, 2),
        blocks=(BlockSpec(8, 8, 3, 1, 1), BlockSpec(8, 16, 3, 2, 3), BlockSpec(16, 16, 3, 1, 3, residual=True)),
        feature_mix=ConvSpec(16, 32, 1, 1),
        num_classes=classes,
        in_channels=1,
    )


def tiny_graph(classes: int = len(CLASSES), seed: int = 1) -> Graph:
    return export_graph(tiny_config(classes), seed=seed)


def write_model(path: Path, g: Graph, labels: tuple[str, ...] | None, split_seed: int = 0) -> Path:
    meta = None
    if labels is not None:
        info = ModelInfo(labels, 0.5, 0.25, RESOLUTION, 1, arch="tiny", data="npz", split_seed=split_seed)
        meta = {ENTRY: info.to_bytes()}
    save(g, path, metadata=meta)
    return path


def write_npz(path: Path, n_test: int = 24, classes: tuple[str, ...] | None = CLASSES, seed: int = 0) -> Path:
    """Random 12x12 grey images; the test labels cycle through the classes."""
    rng = np.random.default_rng(seed)
    k = len(classes) if classes is not None else 3
    arrays = {
        "x_train": rng.integers(0, 256, (6 * k, RESOLUTION, RESOLUTION, 1), dtype=np.uint8),
        "y_train": np.arange(6 * k) % k,
        "x_test": rng.integers(0, 256, (n_test, RESOLUTION, RESOLUTION, 1), dtype=np.uint8),
        "y_test": np.arange(n_test) % k,
    }
    if classes is not None:
        arrays["classes"] = np.array(classes)
    np.savez(path, **arrays)
    return path


def npz_test_split(spec: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None]:
    """The stored test images, labels and class names of an npz data set, read directly."""
    with np.load(spec.removeprefix("npz:")) as z:
        names = tuple(str(c) for c in z["classes"]) if "classes" in z.files else None
        return z["x_test"][:n], z["y_test"][:n], names


def ref_predictions(model: Path, images: np.ndarray) -> np.ndarray:
    """Class index of every image by the reference executor, one image at a time, with
    mcuforge's input convention (int8 = pixel - 128)."""
    from mcuforge.frontend.tflite_read import load
    from mcuforge.ref.interpreter import run

    g = load(model)
    x = (images.astype(np.int16) - 128).astype(np.int8)
    return np.array([int(np.argmax(run(g, [x[i : i + 1]])[0].reshape(-1))) for i in range(len(x))])
