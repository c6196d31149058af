"""The batch runners: the Cortex-M7 and M4 firmware run a batch in one boot (or a few
shards) byte for byte equal to the reference executor; the C batch runner likewise; a
runner whose output stops growing is stopped with one sentence, whatever the batch size."""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest
from validate_fixtures import tiny_graph

from mcuforge.engine import compile_graph
from mcuforge.targets.host import BuildError
from mcuforge.targets.qemu import backend_board, missing_tools
from mcuforge.validate import batch, validate
from mcuforge.validate.backends import run_ref

MISSING = missing_tools()
needs_qemu = pytest.mark.skipif(MISSING is not None, reason=f"QEMU backend unavailable: {MISSING}")


def _inputs(n: int, seed: int = 4) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, (n, 12, 12, 1)).astype(np.int8)


@needs_qemu
def test_validate_m7_and_m4_equal_ref(model, data):
    r = validate(model, data, backends=("ref", "qemu-m7", "qemu-m4"), limit=8, progress=False)
    assert r.samples == 8 and r.identical and r.mismatches == 0
    assert r.boards == {"qemu-m7": "STM32H743", "qemu-m4": "NUCLEO-L4R5ZI"}
    assert len(set(r.accuracy.values())) == 1


@needs_qemu
def test_sharded_qemu_batch_equals_ref(monkeypatch):
    g = tiny_graph()
    x = _inputs(9)
    monkeypatch.setattr(batch, "MIN_IMAGES_PER_WORKER", 1)
    assert batch.qemu_workers(9, 3) == 3
    y = batch.run_qemu_batch(compile_graph(g), backend_board("qemu-m4", "STM32F412"), x, workers=3)
    assert y.shape == (9, 3) and np.array_equal(y, run_ref(g, x))


def test_c_batch_equals_ref():
    g = tiny_graph(classes=5)
    x = _inputs(33)
    timing = {}
    y = batch.run_c_batch(compile_graph(g), x, timing=timing)
    assert np.array_equal(y, run_ref(g, x)) and timing["run_s"] > 0


def test_workers_scale_with_the_batch():
    assert batch.qemu_workers(8, 4) == 1  # small batches boot once
    assert batch.qemu_workers(10_000, 2) == 2
    assert batch.qemu_workers(10_000, None) == min(batch.cpu_count(), batch.MAX_QEMU_WORKERS)


def test_a_stalled_runner_is_stopped(tmp_path):
    """No output for stall_s: stopped with one sentence, long before any per-run limit."""
    proc = subprocess.Popen(["sleep", "60"], cwd=tmp_path)
    job = batch._Job(proc, tmp_path, 10, tmp_path / "run.log")
    started = time.monotonic()
    with (
        batch.progress_bar(10, "x", False) as bar,
        pytest.raises(BuildError, match="produced no output for 0.5 s and was stopped"),
    ):
        batch._wait([job], 10, bar, "the sleeper", 0.5)
    assert time.monotonic() - started < 10 and proc.poll() is not None


def test_a_growing_output_is_not_stopped(tmp_path):
    """A run longer than stall_s whose output keeps growing runs to the end."""
    script = "for i in 1 2 3 4 5 6; do printf 'abcd' >> out.bin; sleep 0.3; done"
    proc = subprocess.Popen(["sh", "-c", script], cwd=tmp_path)
    job = batch._Job(proc, tmp_path, 6, tmp_path / "run.log")
    started = time.monotonic()
    with batch.progress_bar(6, "x", False) as bar:
        batch._wait([job], 4, bar, "the writer", 1.0)
    assert bar.n == 6
    assert time.monotonic() - started > 1.5 and proc.returncode == 0
