"""Cortex-M backend: build the generated C project into firmware with arm-none-eabi-gcc and
run it under qemu-system-arm with semihosting.

The firmware (package data in targets/firmware/) is the project's own startup code, a
linker script whose FLASH and RAM regions are the board's, a main that reads the inputs
from files through semihosting, runs mf_invoke() once and writes the outputs back, and a
profiling marker. Executed instructions are counted by a QEMU TCG plugin built here with
the host C compiler (firmware/mfcount.c): exact and identical run to run.

Kernels are chosen as `mcuforge compile --board` chooses them (codegen/kernels.py): the
project is rewritten for the board (codegen.generate.for_board), so the firmware compiles
the very kernel files a user gets: on cores with the DSP extension (Cortex-M4, M7) the
ARMv7E-M kernels, with the portable C as their fallback in the same files; `"portable"`
forces the portable C. The compiler flags are the board's (hw/boards.py) and the
library's of the generated Makefile (codegen/buildfiles.py).
"""

from __future__ import annotations

import atexit
import functools
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

import numpy as np

from mcuforge.codegen.buildfiles import ARM_CFLAGS, FIRMWARE_LDFLAGS
from mcuforge.codegen.generate import Project, for_board
from mcuforge.errors import MCUForgeError
from mcuforge.hw.boards import Board, get_board
from mcuforge.ref.interpreter import check_inputs
from mcuforge.targets import elf
from mcuforge.targets.host import BuildError, write_project

# MPS2 memory the linker regions are placed in (4 MiB each; see firmware/link.ld.in).
QEMU_REGION_BYTES = 4 * 1024 * 1024
DEFAULT_STACK_BYTES = 2048  # reserved above .bss; MCUNet-space networks measure 800-1,024 B (main, mf_invoke, the deepest kernel); the measured use is reported
RUN_TIMEOUT_S = 600
FIRMWARE_SOURCES = ["startup.c", "semihost.c", "main.c"]
PROFILE_SOURCES = ["mf_profile.c"]
HOST_SOURCES = {"main_host.c"}  # project files the firmware does not compile
BOARD_SOURCES = {"mf_startup.c", "mf_firmware.c"}  # `make firmware`'s own start-up and main
COMMON = [*ARM_CFLAGS, "-Werror"]
LINK = list(FIRMWARE_LDFLAGS)


class FitError(MCUForgeError):
    """The firmware does not fit the board's Flash or SRAM (found when linking)."""

    exit_code = 3


@dataclass(frozen=True)
class Core:
    name: str
    flags: tuple[str, ...]  # gcc's core, FPU and float-ABI flags (the board's)
    machine: str  # the QEMU machine that emulates this core
    dsp: bool  # has the DSP extension (SMLAD, SXTB16, ...): may use kernels/armv7em/


BACKENDS: dict[str, str] = {"qemu-m7": "cortex-m7", "qemu-m4": "cortex-m4"}
# Board `run --backend qemu-m*` builds for when none is named: the largest of that core.
DEFAULT_BOARDS: dict[str, str] = {"qemu-m7": "STM32H743", "qemu-m4": "NUCLEO-L4R5ZI"}


@dataclass(frozen=True)
class Firmware:
    elf: Path
    folder: Path
    board: Board
    core: Core
    sizes: elf.ElfSizes
    kernels: str  # "portable", or the optimised set when it replaced at least one file
    optimised: tuple[str, ...]  # kernel files taken from that set
    mark: int | None  # address of the profiling marker, None when built without it


@dataclass(frozen=True)
class FirmwareRun:
    outputs: list[np.ndarray]
    stack_bytes: int  # measured high-water mark of the stack
    marks: list[int] | None  # executed instructions at each profiling mark
    total_instructions: int | None  # of the whole run, startup and I/O included (approximate; marks are exact)


def missing_tools() -> str | None:
    """Why the QEMU backend cannot run here, or None when it can."""
    for tool, package in (("arm-none-eabi-gcc", "gcc-arm-none-eabi"), ("qemu-system-arm", "qemu-system-arm"), ("gcc", "gcc")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian package {package})"
    probe = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-print-file-name=libc_nano.a"], capture_output=True, text=True)
    if not Path(probe.stdout.strip()).is_file():
        return "newlib for arm-none-eabi is not installed (Debian package libnewlib-arm-none-eabi)"
    return None


def _require_tools() -> None:
    reason = missing_tools()
    if reason is not None:
        raise BuildError(f"the QEMU backend needs the Arm toolchain and QEMU: {reason}")


def core_of(board: Board) -> Core:
    if board.qemu_machine is None:
        raise MCUForgeError(f"no QEMU machine emulates {board.name}'s {board.core}; choose a Cortex-M4 or Cortex-M7 board")
    return Core(board.core, board.arch_flags, board.qemu_machine, board.dsp)


def backend_board(backend: str, name: str | None = None, sram: int | None = None, flash: int | None = None) -> Board:
    """The board a `--backend qemu-m7|qemu-m4` run builds for; its core must match."""
    board = get_board(name or DEFAULT_BOARDS[backend], sram, flash)
    if board.core != BACKENDS[backend]:
        other = next((b for b, c in BACKENDS.items() if c == board.core), None)
        hint = f"; use --backend {other}" if other else ""
        raise MCUForgeError(f"{board.name} has a {board.core}, not the {BACKENDS[backend]} of backend {backend}{hint}")
    return board


def _firmware_file(name: str) -> str:
    return resources.files("mcuforge.targets").joinpath("firmware", name).read_text()


def kernel_set(board: Board, requested: str = "auto") -> str:
    """The kernel set a firmware for `board` compiles (compile's choice)."""
    from mcuforge.codegen.kernels import choose

    return choose(board, requested)


def linker_script(board: Board, core: Core, stack_bytes: int) -> str:
    for what, size in (("Flash", board.flash), ("SRAM", board.sram)):
        if size > QEMU_REGION_BYTES:
            raise MCUForgeError(
                f"QEMU's {core.machine} has {QEMU_REGION_BYTES // 1024 // 1024} MiB for {what} but the board asks for {size:,} B; choose a smaller --{what.lower()}"
            )
    return Template(_firmware_file("link.ld.in")).substitute(
        board=board.name, core=core.name, machine=core.machine, flash_bytes=board.flash, ram_bytes=board.sram, stack_bytes=stack_bytes
    )


def _overflow_message(stderr: str, board: Board, project: Project, stack_bytes: int) -> str | None:
    over = {m.group(1): int(m.group(2)) for m in re.finditer(r"region `(\w+)' overflowed by (\d+) bytes", stderr)}
    if "RAM" in over:
        return (
            f"the firmware does not fit {board.name}'s {board.sram:,} B of SRAM: the linker found it {over['RAM']:,} B too large "
            f"(model arena {project.memory.arena_bytes:,} B, stack reservation {stack_bytes:,} B, plus static data)"
        )
    if "FLASH" in over:
        return (
            f"the firmware does not fit {board.name}'s {board.flash:,} B of Flash: the linker found it {over['FLASH']:,} B too large "
            f"(model constants {project.flash_bytes:,} B, plus code)"
        )
    return None


def _run(cmd: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
        raise BuildError(f"{what} failed in {cwd}: {first}")
    return proc


def build_firmware(
    project: Project,
    board: Board,
    folder: Path,
    profile: bool = True,
    kernels: str = "auto",
    stack_bytes: int = DEFAULT_STACK_BYTES,
    main: str = "main.c",
) -> Firmware:
    """Write the project and the firmware sources to `folder` and link fw.elf for `board`.
    With `profile`, model.c calls the marker before each node (MF_PROFILE). `main` is the
    firmware main among targets/firmware/'s files (main_batch.c: every record of in.bin
    in one boot)."""
    _require_tools()
    core = core_of(board)
    project = for_board(project, board, kernels)
    script = linker_script(board, core, stack_bytes)
    write_project(project, folder)
    fw_sources = [main if n == "main.c" else n for n in FIRMWARE_SOURCES]
    fw_files = ["semihost.h", "firmware.h", *fw_sources] + (["mf_profile.h", *PROFILE_SOURCES] if profile else [])
    for name in fw_files:
        (folder / name).write_text(_firmware_file(name))
    (folder / "link.ld").write_text(script)
    sources = sorted(n for n in project.files if n.endswith(".c") and n not in HOST_SOURCES and n not in BOARD_SOURCES)
    sources += fw_sources + (PROFILE_SOURCES if profile else [])
    cmd = [
        "arm-none-eabi-gcc", *core.flags, *COMMON, *(["-DMF_PROFILE"] if profile else []), "-I.",
        *LINK, "-Wl,-T,link.ld", "-Wl,-Map,fw.map", "-o", "fw.elf", *sources,
    ]  # fmt: skip
    (folder / "build.sh").write_text("#!/bin/sh\n# How mcuforge built fw.elf (run in this folder).\n" + " ".join(cmd) + "\n")
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        message = _overflow_message(proc.stderr, board, project, stack_bytes)
        if message is not None:
            raise FitError(message)
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
        raise BuildError(f"the firmware in {folder} did not build: {first}")
    path = folder / "fw.elf"
    mark = elf.symbols(path)["mf_profile_mark"] if profile else None
    optimised = project.optimised
    return Firmware(path, folder, board, core, elf.sizes(path), project.kernels if optimised else "portable", optimised, mark)


def link_library(library: Path, include: Path, board: Board, folder: Path, stack_bytes: int = DEFAULT_STACK_BYTES) -> Firmware:
    """Link a model library a user built (libmodel.a of the generated Makefile or CMake,
    headers in `include`) into the QEMU firmware for `board`: the firmware's own sources
    are compiled with the board's flags, the library is taken as it is."""
    _require_tools()
    core = core_of(board)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ["semihost.h", "firmware.h", *FIRMWARE_SOURCES]:
        (folder / name).write_text(_firmware_file(name))
    (folder / "link.ld").write_text(linker_script(board, core, stack_bytes))
    cmd = [
        "arm-none-eabi-gcc", *core.flags, *COMMON, "-I.", f"-I{include.resolve()}", *LINK, "-Wl,-T,link.ld",
        "-o", "fw.elf", *FIRMWARE_SOURCES, str(library.resolve()), "-lm",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
        raise BuildError(f"linking {library} into the firmware failed: {first}")
    path = folder / "fw.elf"
    return Firmware(path, folder, board, core, elf.sizes(path), "library", (), None)


@functools.cache
def _plugin_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="mcuforge-plugin-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@functools.cache
def plugin_path() -> Path:
    """The instruction-counting QEMU plugin, compiled once per process."""
    folder = _plugin_dir()
    src = folder / "mfcount.c"
    src.write_text(_firmware_file("mfcount.c"))
    out = folder / "libmfcount.so"
    _run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-shared", "-fPIC", "-fvisibility=hidden", "-o", str(out), str(src)], folder, "building the QEMU plugin")
    return out


def _read_marks(path: Path) -> tuple[list[int], int]:
    lines = path.read_text().split()
    if len(lines) < 2 or lines[-2] != "total":
        raise BuildError(f"the QEMU instruction counter wrote no total to {path}")
    return [int(v) for v in lines[:-2]], int(lines[-1])


def qemu_command(fw: Firmware) -> list[str]:
    """The QEMU command line that boots fw.elf with semihosting; files the firmware opens
    are those of the folder QEMU runs in."""
    return [
        "qemu-system-arm", "-M", fw.core.machine, "-display", "none", "-monitor", "none", "-serial", "none",
        "-semihosting-config", "enable=on,target=native", "-kernel", str(fw.elf.resolve()),
    ]  # fmt: skip


def run_firmware(fw: Firmware, g_outputs: list[tuple[str, tuple[int, ...]]], inputs: list[np.ndarray], count: bool = False) -> FirmwareRun:
    """Run fw.elf once under QEMU on `inputs` (the compiled model's, raw bytes in order);
    `g_outputs` gives each output's dtype and shape."""
    folder = fw.folder
    for stale in [*folder.glob("out*.bin"), folder / "stats.txt", folder / "counts.txt"]:
        stale.unlink(missing_ok=True)
    for i, x in enumerate(inputs):
        (folder / f"in{i}.bin").write_bytes(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes())
    cmd = qemu_command(fw)
    if count:
        if fw.mark is None:
            raise BuildError("instruction counts need firmware built with profile=True")
        cmd += ["-plugin", f"{plugin_path()},mark={fw.mark:#x},out=counts.txt"]
    try:
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BuildError(f"the firmware in {folder} did not finish under QEMU within {RUN_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        said = (proc.stdout + proc.stderr).strip().replace("\n", " ")[:300]
        raise BuildError(f"the firmware in {folder} failed under QEMU {fw.core.machine} (status {proc.returncode}): {said}")
    outputs = []
    for i, (dtype, shape) in enumerate(g_outputs):
        raw = (folder / f"out{i}.bin").read_bytes()
        outputs.append(np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape))
    stats = dict(line.split() for line in (folder / "stats.txt").read_text().splitlines())
    marks, total = _read_marks(folder / "counts.txt") if count else (None, None)
    return FirmwareRun(outputs, int(stats["stack_bytes"]), marks, total)


def output_specs(project: Project) -> list[tuple[str, tuple[int, ...]]]:
    g = project.graph
    return [(g.tensors[n].dtype, g.tensors[n].shape) for n in g.outputs]


def run_qemu(project: Project, board: Board, inputs: list[np.ndarray], kernels: str = "auto") -> list[np.ndarray]:
    """Build `project` for `board` (no profiling marks) and run it once; return its outputs."""
    inputs = check_inputs(project.graph, inputs)
    with tempfile.TemporaryDirectory(prefix="mcuforge-fw-") as tmp:
        fw = build_firmware(project, board, Path(tmp), profile=False, kernels=kernels)
        return run_firmware(fw, output_specs(project), inputs).outputs
