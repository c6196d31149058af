"""The build files of a project compiled for a board: a Makefile and a CMakeLists.txt that
pass the board's -mcpu/-mfpu/-mfloat-abi, a CMake toolchain file for arm-none-eabi-gcc,
and for a bare-metal image (`make firmware`) a startup file, a linker script from the
board's memory map and a main that runs the model once at reset.

The flags the library is built with are the QEMU backend's (targets/qemu.py ARM_CFLAGS),
so a library built from these files executes the instructions `mcuforge profile` counts.
"""

from __future__ import annotations

from importlib import resources
from string import Template

from mcuforge.hw.boards import Board

BOARD_FILES = ("Makefile", "CMakeLists.txt", "arm-none-eabi.cmake", "mf_startup.c", "mf_board.ld", "mf_firmware.c")
# Compiler flags of the Cortex-M library, shared with the QEMU backend's firmware build.
ARM_CFLAGS = ("-O2", "-std=c99", "-Wall", "-Wextra", "-ffunction-sections", "-fdata-sections")
FIRMWARE_LDFLAGS = ("-nostartfiles", "-specs=nano.specs", "-Wl,--gc-sections")
STACK_BYTES = 2048  # the bare-metal image's stack reservation (see targets/qemu.py)


def _template(name: str) -> Template:
    return Template(resources.files("mcuforge.codegen").joinpath("board", name).read_text())


def _fields(board: Board, sources: list[str], arena_bytes: int) -> dict[str, str]:
    return {
        "board": board.describe(),
        "board_name": board.name,
        "cpu": board.core,
        "fpu": board.fpu or "",
        "float_abi": board.float_abi,
        "arch": " ".join(board.arch_flags),
        "sources": " ".join(["model.c", "weights.c", *sources]),
        "arm_cflags": " ".join(ARM_CFLAGS),
        "ldflags": " ".join(FIRMWARE_LDFLAGS),
        "flash_origin": f"{board.flash_origin:#010x}",
        "ram_origin": f"{board.ram_origin:#010x}",
        "flash_bytes": str(board.flash),
        "ram_bytes": str(board.sram),
        "stack_bytes": str(STACK_BYTES),
        "arena_bytes": str(arena_bytes),
    }


def board_files(board: Board, sources: list[str], arena_bytes: int) -> dict[str, str]:
    """File name -> text of the build files for `board`; `sources` are the kernel files."""
    fields = _fields(board, sources, arena_bytes)
    return {name: _template(name + ".in").substitute(fields) for name in BOARD_FILES}
