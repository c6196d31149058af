"""The Flash a compiled model takes on its board: code plus constants.

Measured (`source: "elf"`) when arm-none-eabi-gcc is present: the project's bare-metal
image (`make firmware`: the model library, the board's start-up code and a main that
runs the model) is linked with the board's flags and its text + data counted, so the
figure is what the board's Flash must hold. Without the toolchain it is estimated
(`source: "estimate"`): the constants, which are exact, plus code from a table of
kernel-family sizes and a per-node allowance measured with the same compiler
(tests/targets/test_codesize.py checks the table against it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mcuforge.codegen.buildfiles import ARM_CFLAGS, FIRMWARE_LDFLAGS
from mcuforge.targets import elf

if TYPE_CHECKING:
    from mcuforge.codegen.generate import Project
    from mcuforge.hw.boards import Board

ROOMY = 64 * 1024 * 1024  # linker regions for measuring: a model too large for its board still links

# Code bytes each kernel function keeps in an image (with the static helpers and tables it
# reaches) by instruction set: "armv7em" (Cortex-M4/M7 with the ARMv7E-M kernels),
# "v7m" (portable C on Cortex-M3/M4/M7), "v6m" (portable C on Cortex-M0+). Measured with
# the project's arm-none-eabi-gcc and flags; measure_code_table() regenerates the file.
TABLE_FILE = "code_sizes.json"
NODE_BYTES = 40  # per node with code: the call in mf_invoke and its parameter struct
BASE_BYTES = 700  # start-up, vector table, main, mf_invoke's frame, model.c's I/O tables
ISA_FLAGS = {
    "armv7em": ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"),
    "v7m": ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
    "v6m": ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
}
NODE_BYTES = 64  # allowance per node with code: call site and parameter struct
BASE_BYTES = 512  # start-up, vector table, main, mf_invoke's frame


@dataclass(frozen=True)
class FlashFigure:
    total: int  # bytes of Flash: code + constants (+ initial values of data)
    constants: int  # weights.c: exact, from the generated arrays
    code: int  # everything else: kernels, model.c, start-up
    source: str  # "elf" (linked) or "estimate" (no Arm toolchain)

    def as_dict(self) -> dict[str, int | str]:
        return {
            "total_bytes": self.total,
            "constants_bytes": self.constants,
            "code_bytes": self.code,
            "source": self.source,
        }


def have_toolchain() -> bool:
    return shutil.which("arm-none-eabi-gcc") is not None


def _roomy_script(project: Project) -> str:
    lines = []
    for line in project.files["mf_board.ld"].splitlines():
        if "ORIGIN =" in line and "LENGTH =" in line:
            head = line[: line.index("LENGTH =")]
            line = f"{head}LENGTH = {ROOMY}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def measure(project: Project) -> FlashFigure:
    """Link `project` (for_board's, with its board files) and count text + data."""
    from mcuforge.targets.host import BuildError, write_project

    if project.board is None:
        raise ValueError("measure() needs a project for a board (codegen.generate.for_board)")
    flags = project.board.arch_flags
    with tempfile.TemporaryDirectory(prefix="mcuforge-size-") as tmp:
        folder = Path(tmp)
        write_project(project, folder)
        (folder / "measure.ld").write_text(_roomy_script(project))
        sources = sorted(n for n in project.files if n.endswith(".c") and n != "main_host.c")
        cmd = [
            "arm-none-eabi-gcc",
            *flags,
            *ARM_CFLAGS,
            "-I.",
            *FIRMWARE_LDFLAGS,
            "-Wl,-T,measure.ld",
            "-o",
            "fw.elf",
            *sources,
            "-lm",
        ]
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        if proc.returncode != 0:
            first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
            raise BuildError(f"measuring the model's code size failed: {first}")
        s = elf.sizes(folder / "fw.elf")
    return FlashFigure(s.flash, project.flash_bytes, s.flash - project.flash_bytes, "elf")


def _closure_bytes(obj: Path, function: str, flags: tuple[str, ...]) -> int:
    """Code and constants an image keeps of `obj` when `function` is its only root: the
    function with the static helpers and tables it reaches (gc-sections)."""
    out = obj.with_name(f"{function}.elf")
    cmd = [
        "arm-none-eabi-gcc",
        *flags,
        "-nostdlib",
        "-Wl,--gc-sections",
        f"-Wl,-e,{function}",
        "-Wl,--unresolved-symbols=ignore-all",
        "-o",
        out.name,
        obj.name,
    ]
    subprocess.run(cmd, cwd=obj.parent, check=True, capture_output=True)
    return elf.sizes(out).flash


def code_table() -> dict[str, dict[str, dict[str, int]]]:
    from importlib import resources

    return json.loads(resources.files("mcuforge.targets").joinpath(TABLE_FILE).read_text())


def measure_code_table() -> dict[str, dict[str, dict[str, int]]]:
    """The code table (isa -> family -> kernel function -> bytes it keeps in an image),
    measured again with this machine's arm-none-eabi-gcc."""
    from importlib import resources

    from mcuforge.codegen.kernels import kernel_files

    folder = resources.files("mcuforge.kernels").joinpath("portable")
    families = sorted(p.name[:-2] for p in folder.iterdir() if p.name.endswith(".c"))
    out: dict[str, dict[str, dict[str, int]]] = {}
    for name, flags in ISA_FLAGS.items():
        files = kernel_files(families, "armv7em" if name == "armv7em" else "portable")
        with tempfile.TemporaryDirectory(prefix="mcuforge-size-") as tmp:
            for n, text in files.items():
                (Path(tmp) / n).write_text(text)
            row = {}
            for fam in families:
                obj = Path(tmp) / f"{fam}.o"
                subprocess.run(
                    ["arm-none-eabi-gcc", *flags, *ARM_CFLAGS, "-I.", "-c", f"{fam}.c", "-o", obj.name],
                    cwd=tmp,
                    check=True,
                )
                row[fam] = {f: _closure_bytes(obj, f, flags) for f in sorted(elf.function_sizes(obj))}
            out[name] = row
    return out


def isa(board: Board, kernels: str) -> str:
    if board.core == "cortex-m0plus":
        return "v6m"
    return "armv7em" if kernels == "armv7em" else "v7m"


def estimate(project: Project, board: Board) -> FlashFigure:
    """Constants plus code from the table: each kernel function the calls use with the
    helpers it reaches (helpers two kernels share are counted twice: an upper bound
    there), a per-node allowance and the start-up."""
    table = code_table()[isa(board, project.kernels)]
    used = {c.kernel for c in project.calls.values() if c is not None}
    coded = sum(c is not None for c in project.calls.values())
    code = BASE_BYTES + NODE_BYTES * coded
    for fam in project.families:
        code += sum(v for k, v in table.get(fam, {}).items() if k in used)
    return FlashFigure(project.flash_bytes + code, project.flash_bytes, code, "estimate")


def flash_figure(project: Project, board: Board) -> FlashFigure:
    """Measured when the toolchain is here, else estimated."""
    return measure(project) if have_toolchain() else estimate(project, board)
