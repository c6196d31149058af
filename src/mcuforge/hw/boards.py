"""Board registry: the microcontrollers mcuforge plans for (SRAM and Flash in bytes)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from mcuforge.errors import MCUForgeError

KB = 1024


@dataclass(frozen=True)
class Board:
    name: str
    core: str  # cortex-m4, cortex-m7, cortex-m0plus
    sram: int
    flash: int
    mhz: int
    qemu_machine: str | None  # QEMU machine that emulates the core, None if none does


BOARDS: dict[str, Board] = {
    b.name.lower(): b
    for b in (
        Board("STM32F412", "cortex-m4", 256 * KB, 1024 * KB, 100, "mps2-an386"),
        Board("STM32F746", "cortex-m7", 320 * KB, 1024 * KB, 216, "mps2-an500"),
        Board("STM32F765", "cortex-m7", 512 * KB, 1024 * KB, 216, "mps2-an500"),
        Board("STM32H743", "cortex-m7", 512 * KB, 2048 * KB, 480, "mps2-an500"),
        Board("NUCLEO-L4R5ZI", "cortex-m4", 640 * KB, 2048 * KB, 120, "mps2-an386"),
        Board("nRF52840", "cortex-m4", 256 * KB, 1024 * KB, 64, "mps2-an386"),
        Board("RP2040", "cortex-m0plus", 264 * KB, 2048 * KB, 133, None),
        # tight boards for the search (ST datasheets: STM32L432KC, STM32G071RB)
        Board("STM32L432KC", "cortex-m4", 64 * KB, 256 * KB, 80, "mps2-an386"),
        Board("STM32G071RB", "cortex-m0plus", 36 * KB, 128 * KB, 64, None),
    )
}


def get_board(name: str, sram: int | None = None, flash: int | None = None) -> Board:
    """Look a board up by name (case-insensitive), with optional SRAM/Flash overrides."""
    board = BOARDS.get(name.lower())
    if board is None:
        known = ", ".join(b.name for b in BOARDS.values())
        raise MCUForgeError(f"unknown board {name!r}; known boards: {known}")
    if sram is not None:
        board = replace(board, sram=sram)
    if flash is not None:
        board = replace(board, flash=flash)
    return board
