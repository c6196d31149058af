"""The c and QEMU backends over a whole batch: the compiled model built once, run by a
batch runner that reads every image from one file and appends every output to another
(targets/firmware/batch_host.c on the host, main_batch.c in the firmware).

Progress is the output file's size: both runners append one record per image and the
file grows as they go. A runner is stopped only when its output stops growing for
STALL_TIMEOUT_S (the time one image may take, QEMU's per-run limit), so a batch of any
size is never killed by a timeout meant for one image. QEMU runs the batch in a few
contiguous shards, one process per core (each boots the same firmware once).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcuforge.engine import Compiled
from mcuforge.hw.boards import Board
from mcuforge.targets.host import BuildError
from mcuforge.validate.backends import fold_inputs, progress_bar, unfold_outputs

STALL_TIMEOUT_S = 600.0  # no new output for this long: the runner is stuck (QEMU's RUN_TIMEOUT_S for one image)
POLL_S = 0.2
MAX_QEMU_WORKERS = 8
MIN_IMAGES_PER_WORKER = 64  # smaller shards would spend more time booting and building than running


@dataclass
class _Job:
    proc: subprocess.Popen
    folder: Path
    records: int
    log: Path

    @property
    def out(self) -> Path:
        return self.folder / "out.bin"

    def done(self, record_bytes: int) -> int:
        try:
            return min(self.records, self.out.stat().st_size // record_bytes)
        except FileNotFoundError:
            return 0


def _records(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes()


def _out_spec(compiled: Compiled) -> tuple[np.dtype, tuple[int, ...]]:
    g = compiled.project.graph
    t = g.tensors[g.outputs[0]]
    return np.dtype(t.dtype), t.shape


def _wait(jobs: list[_Job], record_bytes: int, bar, what: str, stall_s: float) -> None:
    """Wait for every job, updating `bar`; stop all when none advanced for stall_s."""
    shown, last_change = 0, time.monotonic()
    try:
        while True:
            running = [j for j in jobs if j.proc.poll() is None]
            done = sum(j.done(record_bytes) for j in jobs)
            if done != shown:
                bar.update(done - shown)
                shown, last_change = done, time.monotonic()
            if not running:
                break
            if time.monotonic() - last_change > stall_s:
                raise BuildError(
                    f"{what} produced no output for {stall_s:g} s and was stopped (in {jobs[0].folder.parent})"
                )
            try:
                running[0].proc.wait(POLL_S)  # returns as soon as it ends
            except subprocess.TimeoutExpired:
                pass
    finally:
        for j in jobs:
            if j.proc.poll() is None:
                j.proc.kill()
                j.proc.wait()
    for j in jobs:
        if j.proc.returncode != 0:
            said = j.log.read_text(errors="replace").strip().replace("\n", " ")[:300]
            raise BuildError(f"{what} failed in {j.folder} (status {j.proc.returncode}): {said}")
        if j.out.stat().st_size != j.records * record_bytes:
            raise BuildError(
                f"{what} wrote {j.out.stat().st_size:,} B of outputs in {j.folder}, not {j.records * record_bytes:,} B"
            )


def _start(cmd: list[str], folder: Path, records: bytes, n: int) -> _Job:
    (folder / "in.bin").write_bytes(records)
    (folder / "out.bin").unlink(missing_ok=True)
    log = folder / "run.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen(cmd, cwd=folder, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return _Job(proc, folder, n, log)


def _collect(jobs: list[_Job], dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    raw = b"".join(j.out.read_bytes() for j in jobs)
    y = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype)
    return y.reshape(sum(j.records for j in jobs), *shape[1:])


def run_c_batch(
    compiled: Compiled,
    x: np.ndarray,
    progress: bool = False,
    stall_s: float = STALL_TIMEOUT_S,
    timing: dict | None = None,
) -> np.ndarray:
    """The generated C, built with gcc and batch_host.c, on N inputs in one process
    (`timing`, when given, gets "run_s": the seconds of the run, building excluded)."""
    from importlib import resources

    from mcuforge.targets.host import build, write_project

    xm = fold_inputs(compiled.io, x)
    dtype, shape = _out_spec(compiled)
    record_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    with tempfile.TemporaryDirectory(prefix="mcuforge-validate-c-") as tmp:
        folder = Path(tmp)
        write_project(compiled.project, folder)
        runner = resources.files("mcuforge.targets").joinpath("firmware", "batch_host.c").read_text()
        (folder / "batch_host.c").write_text(runner)
        exe = build(folder, main="batch_host.c")
        started = time.perf_counter()
        with progress_bar(len(x), "c", progress) as bar:
            job = _start([str(exe), "in.bin", "out.bin"], folder, _records(xm), len(x))
            _wait([job], record_bytes, bar, "the C batch runner", stall_s)
        if timing is not None:
            timing["run_s"] = time.perf_counter() - started
        y = _collect([job], dtype, shape)
    return unfold_outputs(compiled.io, y)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def qemu_workers(n: int, workers: int | None = None) -> int:
    """QEMU processes for n images: one per core, each with at least MIN_IMAGES_PER_WORKER."""
    if workers is None:
        workers = min(cpu_count(), MAX_QEMU_WORKERS)
    return max(1, min(workers, n // MIN_IMAGES_PER_WORKER or 1, n))


def run_qemu_batch(
    compiled: Compiled,
    board: Board,
    x: np.ndarray,
    progress: bool = False,
    desc: str = "qemu",
    workers: int | None = None,
    stall_s: float = STALL_TIMEOUT_S,
    timing: dict | None = None,
) -> np.ndarray:
    """The firmware for `board` (main_batch.c, no profiling marks) on N inputs: one QEMU
    boot per shard, `workers` shards (default qemu_workers); `timing` as run_c_batch's."""
    from mcuforge.targets.qemu import build_firmware, qemu_command

    xm = fold_inputs(compiled.io, x)
    dtype, shape = _out_spec(compiled)
    record_bytes = dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
    n = len(x)
    k = qemu_workers(n, workers) if not compiled.project.graph.variables() else 1  # state carries: one sequence
    bounds = [round(i * n / k) for i in range(k + 1)]
    with tempfile.TemporaryDirectory(prefix="mcuforge-validate-fw-") as tmp:
        build_dir = Path(tmp) / "fw"
        fw = build_firmware(compiled.project, board, build_dir, profile=False, main="main_batch.c")
        cmd = qemu_command(fw)
        jobs = []
        started = time.perf_counter()
        with progress_bar(n, desc, progress) as bar:
            bar.set_postfix_str(f"{board.name}, {k} QEMU process{'es' if k > 1 else ''}")
            try:
                for i in range(k):
                    shard = Path(tmp) / f"shard{i}"
                    shard.mkdir()
                    jobs.append(_start(cmd, shard, _records(xm[bounds[i] : bounds[i + 1]]), bounds[i + 1] - bounds[i]))
            except BaseException:
                for j in jobs:
                    j.proc.kill()
                    j.proc.wait()
                raise
            _wait(jobs, record_bytes, bar, f"the firmware under QEMU {fw.core.machine}", stall_s)
        if timing is not None:
            timing["run_s"] = time.perf_counter() - started
        y = _collect(jobs, dtype, shape)
    return unfold_outputs(compiled.io, y)
