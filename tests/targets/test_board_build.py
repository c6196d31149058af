"""`mcuforge compile --board`: the board decides the kernels and the build flags, and the
generated Makefile and CMakeLists.txt build a library that links into a Cortex-M firmware
(hard-float M7, soft-float M4) and runs under QEMU with the reference's outputs."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from toy_cnn import build_demo_graph

from mcuforge.cli import main as cli
from mcuforge.codegen.generate import for_board
from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_write import save
from mcuforge.hw.boards import BOARDS, get_board
from mcuforge.ref.interpreter import random_inputs, run
from mcuforge.targets import elf
from mcuforge.targets.host import execute
from mcuforge.targets.qemu import build_firmware, link_library, missing_tools, output_specs, run_firmware

MISSING = missing_tools()
needs_arm = pytest.mark.skipif(MISSING is not None, reason=f"Arm toolchain or QEMU unavailable: {MISSING}")
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake is not installed (Debian package cmake)")


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "demo.tflite"
    save(build_demo_graph(), path)
    return path


def _compile(model: Path, out: Path, *extra: str) -> Path:
    assert cli(["compile", str(model), "-o", str(out), *extra]) == 0
    return out


def _make(folder: Path, *targets: str) -> None:
    proc = subprocess.run(["make", "-s", *targets], cwd=folder, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_dsp_boards_get_the_armv7em_kernels_and_their_flags(model, tmp_path):
    out = _compile(model, tmp_path / "m7", "--board", "NUCLEO-F746ZG")
    mk = (out / "Makefile").read_text()
    assert "CPU        ?= cortex-m7" in mk and "FPU        ?= fpv5-sp-d16" in mk and "FLOAT_ABI  ?= hard" in mk
    assert "__ARM_FEATURE_DSP" in (out / "mf_conv.c").read_text() and (out / "mf_armv7em.h").is_file()
    cmake = (out / "CMakeLists.txt").read_text()
    assert "-mcpu=cortex-m7 -mthumb -mfpu=fpv5-sp-d16 -mfloat-abi=hard" in cmake
    assert "ORIGIN = 0x08000000, LENGTH = 1048576" in (out / "mf_board.ld").read_text()

    out = _compile(model, tmp_path / "m0", "--board", "Raspberry-Pi-Pico")
    mk = (out / "Makefile").read_text()
    assert "CPU        ?= cortex-m0plus" in mk and "FLOAT_ABI  ?= soft" in mk
    assert "__ARM_FEATURE_DSP" not in (out / "mf_conv.c").read_text() and not (out / "mf_armv7em.h").exists()
    assert "ORIGIN = 0x10000000" in (out / "mf_board.ld").read_text()

    out = _compile(model, tmp_path / "m4p", "--board", "STM32F412", "--kernels", "portable", "--float-abi", "soft")
    assert "__ARM_FEATURE_DSP" not in (out / "mf_conv.c").read_text()
    assert "FLOAT_ABI  ?= soft" in (out / "Makefile").read_text()


def test_kernel_and_abi_misuse_is_one_sentence(model, tmp_path, capsys):
    assert cli(["compile", str(model), "-o", str(tmp_path / "a"), "--board", "RP2040", "--kernels", "armv7em"]) == 2
    assert "DSP extension" in capsys.readouterr().err
    assert cli(["compile", str(model), "-o", str(tmp_path / "b"), "--board", "RP2040", "--float-abi", "hard"]) == 2
    assert "no FPU" in capsys.readouterr().err


def test_board_names_and_aliases():
    assert get_board("nucleo-h743zi").name == "STM32H743"
    assert get_board("Arduino Nano 33 BLE").name == "nRF52840"
    assert get_board("raspberry_pi_pico").name == "RP2040"
    assert get_board("STM32F412", float_abi="soft").arch_flags == ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft")


def test_host_build_of_a_board_project_runs_the_portable_fallback(model, tmp_path):
    """The DSP project's kernel files also build on the host, and with the caller's
    arena (MF_EXTERNAL_ARENA) give the same bytes."""
    out = _compile(model, tmp_path / "p", "--board", "STM32F746")
    c = compile_graph(build_demo_graph())
    xs = random_inputs(c.graph, 0)
    want = [y.tobytes() for y in run(c.graph, xs)]
    for cflags in ("-std=c99 -O2 -Wall -Wextra -Werror", "-std=c99 -O2 -Wall -Wextra -Werror -DMF_EXTERNAL_ARENA"):
        (out / "main_host").unlink(missing_ok=True)
        _make(out, "main_host", f"CFLAGS={cflags}")
        got = execute(out / "main_host", c.graph, xs, tmp_path)
        assert [y.tobytes() for y in got] == want, cflags


@needs_arm
def test_qemu_compiles_the_files_compile_writes(model, tmp_path):
    out = _compile(model, tmp_path / "user", "--board", "STM32F746")
    c = compile_graph(build_demo_graph())
    fw = build_firmware(c.project, get_board("STM32F746"), tmp_path / "fw", profile=False)
    user = {p.name: p.read_text() for p in out.iterdir() if p.suffix in (".c", ".h")}
    for name in ["model.c", "weights.c", "mf_conv.c", "mf_depthwise.c", "mf_armv7em.h"]:
        assert (fw.folder / name).read_text() == user[name], name
    assert fw.kernels == "armv7em" and "mf_conv.c" in fw.optimised


def _build_library(folder: Path, tool: str, board_abi: str) -> Path:
    if tool == "make":
        _make(folder, "lib")
        return folder / "libmodel.a"
    build = folder / "build-cmake"
    for cmd in (
        ["cmake", "-S", ".", "-B", str(build), "-DCMAKE_TOOLCHAIN_FILE=arm-none-eabi.cmake"],
        ["cmake", "--build", str(build)],
    ):
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert (build / "fw.elf").is_file()  # the bare-metal image of the board builds too
    return build / "libmodel.a"


@needs_arm
@pytest.mark.parametrize(
    "board, abi, tool",
    [
        pytest.param("STM32F746", "hard", "make", id="m7-hard-make"),
        pytest.param("STM32F746", "hard", "cmake", id="m7-hard-cmake", marks=needs_cmake),
        pytest.param("STM32F412", "soft", "make", id="m4-soft-make"),
        pytest.param("STM32F412", "soft", "cmake", id="m4-soft-cmake", marks=needs_cmake),
    ],
)
def test_library_links_into_a_firmware_and_runs_under_qemu(model, tmp_path, board, abi, tool):
    out = _compile(model, tmp_path / "p", "--board", board, "--float-abi", abi)
    lib = _build_library(out, tool, abi)
    c = compile_graph(build_demo_graph())
    b = get_board(board, float_abi=abi)
    fw = link_library(lib, out, b, tmp_path / "fw")
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(fw.elf)], capture_output=True, text=True).stdout
    assert ("Tag_ABI_VFP_args: VFP registers" in attrs) == (abi == "hard")
    for seed in (0, 1):
        xs = random_inputs(c.graph, seed)
        got = run_firmware(fw, output_specs(c.project), xs).outputs
        assert [y.tobytes() for y in got] == [y.tobytes() for y in run(c.graph, xs)]


@needs_arm
def test_make_firmware_links_for_every_board(tmp_path):
    """`make firmware` for each board in the registry: the image links into the board's
    memory map, and the arena can be moved into its own section."""
    project = compile_graph(build_demo_graph()).project
    from mcuforge.targets.host import write_project

    for key, board in BOARDS.items():
        folder = tmp_path / key
        write_project(for_board(project, board), folder)
        _make(folder, "firmware")
        sizes = elf.sizes(folder / "fw.elf")
        assert sizes.flash > project.flash_bytes and sizes.bss >= project.memory.arena_bytes, board.name
        assert elf.symbols(folder / "fw.elf")["mf_vectors"] == board.flash_origin, board.name
    folder = tmp_path / "stm32f746"
    _make(folder, "clean")
    _make(folder, "firmware", "ARM_DEFS=-DMF_ARENA_SECTION=.mf_arena")
    arena = elf.symbols(folder / "fw.elf")["mf_arena_storage"]
    assert get_board("STM32F746").ram_origin <= arena < get_board("STM32F746").ram_origin + get_board("STM32F746").sram
    assert (
        ".mf_arena"
        in subprocess.run(
            ["arm-none-eabi-objdump", "-h", "build-arm/model.o"], cwd=folder, capture_output=True, text=True
        ).stdout
    )


def test_unknown_board_names_the_known_ones():
    from mcuforge.errors import MCUForgeError

    with pytest.raises(MCUForgeError, match="STM32F746"):
        get_board("ESP32")
    assert replace(get_board("STM32H743"), sram=1).sram == 1
    assert np.all([b.qemu_machine is None for b in BOARDS.values() if not b.dsp])


def test_custom_boards_from_flags_and_toml(model, tmp_path, capsys):
    toml = tmp_path / "mine.toml"
    toml.write_text('[board]\nname = "Mine"\ncore = "cortex-m33"\nsram = 131072\nflash = 524288\nmhz = 110\n')
    out = _compile(model, tmp_path / "a", "--board", str(toml))
    mk = (out / "Makefile").read_text()
    assert "CPU        ?= cortex-m33" in mk and "FPU        ?= fpv5-sp-d16" in mk
    assert "__ARM_FEATURE_DSP" in (out / "mf_conv.c").read_text()
    out = _compile(model, tmp_path / "b", "--core", "cortex-m3", "--sram", "20480", "--flash", "65536", "--mhz", "72")
    assert (
        "CPU        ?= cortex-m3" in (out / "Makefile").read_text()
        and "FLOAT_ABI  ?= soft" in (out / "Makefile").read_text()
    )
    capsys.readouterr()
    for bad, message in (
        ('core = "cortex-m4"\nsram = 1\n', "needs flash, mhz"),
        ('core = "cortex-m9"\nsram = 1\nflash = 1\nmhz = 1\n', "unknown core"),
        ('core = "cortex-m4"\nsram = "big"\nflash = 1\nmhz = 1\n', "sram must be a whole number"),
        ("core = [", "not valid TOML"),
    ):
        toml.write_text(bad)
        assert cli(["compile", str(model), "-o", str(tmp_path / "c"), "--board", str(toml)]) == 2
        assert message in capsys.readouterr().err
    assert cli(["compile", str(model), "-o", str(tmp_path / "d"), "--core", "cortex-m4"]) == 2
    assert "needs --sram, --flash and --mhz" in capsys.readouterr().err


@needs_arm
def test_profile_gives_milliseconds_at_the_boards_clock():
    from mcuforge.targets.profile import format_profile, profile_model

    p = profile_model(compile_graph(build_demo_graph()), get_board("NUCLEO-L432KC"))
    assert p["mhz"] == 80 and p["estimated_ms"] == round(p["instructions_total"] / 80_000, 3)
    assert "ms at 80 MHz (assumes one instruction per cycle" in format_profile(p)
