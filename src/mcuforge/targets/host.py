"""Host backend: build the generated C project with the system gcc and run it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from mcuforge.codegen.generate import Project, generate
from mcuforge.errors import MCUForgeError
from mcuforge.ir.graph import Graph
from mcuforge.ref.interpreter import check_inputs

STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"]


class BuildError(MCUForgeError):
    """The generated C project did not build or run."""

    exit_code = 4


def write_project(project: Project, outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    for name, text in project.files.items():
        (outdir / name).write_text(text)


def compiler() -> str:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise BuildError("no C compiler found: install gcc to use the C backend")
    return cc


HOST_MAINS = ("main_host.c", "batch_host.c")  # runners with a main(); a build links one


def build(outdir: Path, sanitize: bool = False, main: str = "main_host.c") -> Path:
    """Compile model + kernels + a host runner (`main`, a file in outdir: the project's
    main_host.c, or targets/firmware/batch_host.c copied there); return the executable,
    named after it."""
    sources = sorted(p.name for p in outdir.glob("*.c") if p.name == main or p.name not in HOST_MAINS)
    exe = outdir / (Path(main).stem + ("_asan" if sanitize else ""))
    cmd = [compiler(), *STRICT, *(SANITIZE if sanitize else []), "-o", str(exe), *sources, "-lm"]
    proc = subprocess.run(cmd, cwd=outdir, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
        raise BuildError(f"the generated C project in {outdir} did not compile: {first}")
    return exe


def execute(exe: Path, g: Graph, inputs: list[np.ndarray], workdir: Path) -> list[np.ndarray]:
    ins, outs = [], []
    for i, x in enumerate(inputs):
        p = workdir / f"in{i}.bin"
        p.write_bytes(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes())
        ins.append(str(p))
    outs = [str(workdir / f"out{i}.bin") for i in range(len(g.outputs))]
    proc = subprocess.run([str(exe), *ins, *outs], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise BuildError(f"the compiled model exited with status {proc.returncode}: {proc.stderr.strip()[:500]}")
    results = []
    for name, p in zip(g.outputs, outs):
        t = g.tensors[name]
        results.append(np.frombuffer(Path(p).read_bytes(), dtype=np.dtype(t.dtype).newbyteorder("<")).astype(t.dtype).reshape(t.shape))
    return results


def run_c(g: Graph, inputs: list[np.ndarray], sanitize: bool = False, project: Project | None = None) -> list[np.ndarray]:
    """Generate, build and run `g` on the host; return its outputs."""
    inputs = check_inputs(g, inputs)
    project = project or generate(g)
    with tempfile.TemporaryDirectory(prefix="mcuforge-") as tmp:
        workdir = Path(tmp)
        write_project(project, workdir)
        exe = build(workdir, sanitize)
        return execute(exe, project.graph, inputs, workdir)
