"""Several invocations of a compiled model in one process, state carried from one to the
next: the host (targets/firmware/batch_host.c) and QEMU (main_batch.c) batch runners,
which read one record of inputs per invocation and call mf_invoke() for each without a
reset in between. For stateful models (variable tensors: SVDF, LSTM, streaming signal
ops) the outputs match ref.interpreter.run_sequence and oracle.tflm.run_tflm_sequence.
"""

from __future__ import annotations

import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from mcuforge.codegen.generate import Project, generate
from mcuforge.ir.graph import Graph
from mcuforge.ref.interpreter import check_inputs
from mcuforge.targets.host import BuildError, build, write_project

Steps = list[list[np.ndarray]]


def _records(g: Graph, steps: Steps) -> bytes:
    """Each step's inputs, checked, as raw little-endian bytes in input order."""
    parts = []
    for inputs in steps:
        for x in check_inputs(g, inputs):
            parts.append(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes())
    return b"".join(parts)


def _split(g: Graph, raw: bytes, n: int) -> Steps:
    """out.bin (per step, every output's bytes in order) -> each step's outputs."""
    specs = [g.tensors[name] for name in g.outputs]
    record = sum(t.nbytes for t in specs)
    if len(raw) != n * record:
        raise BuildError(f"the batch runner wrote {len(raw)} bytes for {n} invocations of {record} bytes each")
    out: Steps = []
    pos = 0
    for _ in range(n):
        ys = []
        for t in specs:
            little = np.dtype(t.dtype).newbyteorder("<")
            ys.append(np.frombuffer(raw[pos : pos + t.nbytes], dtype=little).astype(t.dtype).reshape(t.shape))
            pos += t.nbytes
        out.append(ys)
    return out


def run_c_sequence(
    g: Graph, steps: Steps, project: Project | None = None, sanitize: bool = False, reset_every: int | None = None
) -> Steps:
    """Generate (or take `project`), build with gcc and run `g` once per step in one
    process; each step's outputs. With `reset_every` K the state is reset before steps
    0, K, 2K, ... (several independent streams of K steps in one run)."""
    project = project or generate(g)
    records = _records(project.graph, steps)
    with tempfile.TemporaryDirectory(prefix="mcuforge-seq-") as tmp:
        folder = Path(tmp)
        write_project(project, folder)
        runner = resources.files("mcuforge.targets").joinpath("firmware", "batch_host.c").read_text()
        (folder / "batch_host.c").write_text(runner)
        exe = build(folder, sanitize, main="batch_host.c")
        (folder / "in.bin").write_bytes(records)
        extra = [] if reset_every is None else [str(int(reset_every))]
        proc = subprocess.run([str(exe), "in.bin", "out.bin", *extra], cwd=folder, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise BuildError(f"the compiled model exited with status {proc.returncode}: {proc.stderr.strip()[:500]}")
        return _split(project.graph, (folder / "out.bin").read_bytes(), len(steps))


def run_qemu_sequence(project: Project, board, steps: Steps, kernels: str = "auto") -> Steps:
    """The firmware for `board` (main_batch.c) run once per step in one QEMU boot; each
    step's outputs."""
    from mcuforge.targets.qemu import RUN_TIMEOUT_S, build_firmware, qemu_command

    records = _records(project.graph, steps)
    with tempfile.TemporaryDirectory(prefix="mcuforge-seq-fw-") as tmp:
        folder = Path(tmp)
        fw = build_firmware(project, board, folder, profile=False, kernels=kernels, main="main_batch.c")
        (folder / "in.bin").write_bytes(records)
        try:
            proc = subprocess.run(qemu_command(fw), cwd=folder, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BuildError(f"the firmware in {folder} did not finish under QEMU within {RUN_TIMEOUT_S} s") from None
        if proc.returncode != 0:
            said = (proc.stdout + proc.stderr).strip().replace("\n", " ")[:300]
            raise BuildError(f"the firmware failed under QEMU {fw.core.machine} (status {proc.returncode}): {said}")
        return _split(project.graph, (folder / "out.bin").read_bytes(), len(steps))
