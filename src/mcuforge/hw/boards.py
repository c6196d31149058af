"""Board registry: the microcontrollers mcuforge plans for (SRAM and Flash in bytes), with
the facts a build needs: the core (and whether it has the DSP extension), the FPU and
float ABI the vendor's firmware uses, the clock and where Flash and SRAM start."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from mcuforge.errors import MCUForgeError

KB = 1024
FLOAT_ABIS = ("hard", "softfp", "soft")


@dataclass(frozen=True)
class Core:
    """A Cortex-M core as gcc and QEMU know it."""

    name: str  # gcc's -mcpu
    dsp: bool  # DSP extension (SMLAD, SXTB16, ...): may run kernels/armv7em/
    fpu: str | None  # gcc's -mfpu of the usual parts with this core; None: no FPU
    qemu_machine: str | None  # QEMU machine that emulates the core, None if none does


CORES: dict[str, Core] = {
    c.name: c
    for c in (
        Core("cortex-m0plus", False, None, None),
        Core("cortex-m3", False, None, None),
        Core("cortex-m4", True, "fpv4-sp-d16", "mps2-an386"),
        Core("cortex-m7", True, "fpv5-d16", "mps2-an500"),
        Core("cortex-m33", True, "fpv5-sp-d16", None),
        Core("cortex-m55", True, "auto", None),
    )
}


@dataclass(frozen=True)
class Board:
    name: str
    core: str  # a key of CORES
    sram: int
    flash: int
    mhz: int
    fpu: str | None = ""  # "" means the core's usual FPU; None: none (soft float)
    float_abi: str = ""  # "" means hard with an FPU, soft without
    flash_origin: int = 0x0800_0000  # STM32's
    ram_origin: int = 0x2000_0000
    aliases: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        core = CORES.get(self.core)
        if core is None:
            raise MCUForgeError(f"unknown core {self.core!r} for board {self.name}; known cores: {', '.join(CORES)}")
        if self.fpu == "":
            object.__setattr__(self, "fpu", core.fpu)
        if self.float_abi == "":
            object.__setattr__(self, "float_abi", "hard" if self.fpu else "soft")
        if self.float_abi not in FLOAT_ABIS:
            raise MCUForgeError(f"unknown float ABI {self.float_abi!r}; choose {', '.join(FLOAT_ABIS)}")
        if self.fpu is None and self.float_abi != "soft":
            raise MCUForgeError(f"{self.name}'s {self.core} has no FPU, so its float ABI can only be soft")

    @property
    def cpu(self) -> Core:
        return CORES[self.core]

    @property
    def qemu_machine(self) -> str | None:
        return self.cpu.qemu_machine

    @property
    def dsp(self) -> bool:
        return self.cpu.dsp

    @property
    def arch_flags(self) -> tuple[str, ...]:
        """gcc's flags for this board's code: core, Thumb, FPU and float ABI."""
        fpu = () if self.fpu is None or self.float_abi == "soft" else (f"-mfpu={self.fpu}",)
        return (f"-mcpu={self.core}", "-mthumb", *fpu, f"-mfloat-abi={self.float_abi}")

    def describe(self) -> str:
        fp = "soft float" if self.float_abi == "soft" else f"{self.fpu}, {self.float_abi} float"
        return f"{self.name} ({self.core}, {fp}, {self.mhz} MHz)"


BOARD_LIST = (
    # ST datasheets; the FPU is the one each part has (F7x6: single precision, F7x5/H7: double)
    Board("STM32F412", "cortex-m4", 256 * KB, 1024 * KB, 100, aliases=("NUCLEO-F412ZG",)),
    Board(
        "STM32F746",
        "cortex-m7",
        320 * KB,
        1024 * KB,
        216,
        fpu="fpv5-sp-d16",
        aliases=("NUCLEO-F746ZG", "DISCO-F746NG", "STM32F746G-DISCO"),
    ),
    Board("STM32F765", "cortex-m7", 512 * KB, 1024 * KB, 216, aliases=("NUCLEO-F767ZI",)),
    Board("STM32H743", "cortex-m7", 512 * KB, 2048 * KB, 480, aliases=("NUCLEO-H743ZI", "NUCLEO-H743ZI2")),
    Board("NUCLEO-L4R5ZI", "cortex-m4", 640 * KB, 2048 * KB, 120, aliases=("STM32L4R5",)),
    # Nordic: Flash at 0, SRAM at 0x20000000
    Board(
        "nRF52840", "cortex-m4", 256 * KB, 1024 * KB, 64, flash_origin=0, aliases=("Arduino-Nano-33-BLE", "nRF52840-DK")
    ),
    # RP2040: XIP Flash at 0x10000000 (its boot stage 2 is the SDK's; `make firmware` does not make one)
    Board(
        "RP2040", "cortex-m0plus", 264 * KB, 2048 * KB, 133, flash_origin=0x1000_0000, aliases=("Raspberry-Pi-Pico",)
    ),
    Board("STM32F401RE", "cortex-m4", 96 * KB, 512 * KB, 84, aliases=("NUCLEO-F401RE",)),
    Board("nRF52832", "cortex-m4", 64 * KB, 512 * KB, 64, flash_origin=0, aliases=("nRF52-DK",)),
    # Microchip SAMD21G18: Flash at 0 (Arduino Zero, MKR boards)
    Board(
        "SAMD21G18",
        "cortex-m0plus",
        32 * KB,
        256 * KB,
        48,
        flash_origin=0,
        aliases=("Arduino-Zero", "Arduino-MKR-Zero"),
    ),
    Board("STM32F103C8", "cortex-m3", 20 * KB, 64 * KB, 72, aliases=("Blue-Pill",)),
    # tight boards for the search (ST datasheets: STM32L432KC, STM32G071RB)
    Board("STM32L432KC", "cortex-m4", 64 * KB, 256 * KB, 80, aliases=("NUCLEO-L432KC",)),
    Board("STM32G071RB", "cortex-m0plus", 36 * KB, 128 * KB, 64, aliases=("NUCLEO-G071RB",)),
)
BOARDS: dict[str, Board] = {b.name.lower(): b for b in BOARD_LIST}


def _key(name: str) -> str:
    return name.lower().replace(" ", "-").replace("_", "-")


ALIASES: dict[str, str] = {_key(a): b.name.lower() for b in BOARD_LIST for a in (b.name, *b.aliases)}


def get_board(name: str, sram: int | None = None, flash: int | None = None, float_abi: str | None = None) -> Board:
    """Look a board up by name or dev-board alias (case-insensitive), with optional SRAM,
    Flash and float-ABI overrides."""
    key = ALIASES.get(_key(name))
    if key is None:
        known = ", ".join(b.name for b in BOARDS.values())
        raise MCUForgeError(
            f"unknown board {name!r}; known boards: {known} (`mcuforge boards` lists their dev-board names)"
        )
    board = BOARDS[key]
    if sram is not None:
        board = replace(board, sram=sram)
    if flash is not None:
        board = replace(board, flash=flash)
    if float_abi is not None:
        board = replace(board, float_abi=float_abi)
    return board


BOARD_FIELDS = {
    "name": str,
    "core": str,
    "sram": int,
    "flash": int,
    "mhz": int,
    "fpu": str,
    "float_abi": str,
    "flash_origin": int,
    "ram_origin": int,
}


def board_from_toml(path: str | Path) -> Board:
    """A custom board from a TOML file: name, core, sram, flash (bytes), mhz, and
    optionally fpu ("none" for none), float_abi, flash_origin, ram_origin."""
    import tomllib

    p = Path(path)
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise MCUForgeError(f"board file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MCUForgeError(f"cannot read board file {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise MCUForgeError(f"board file {path} is not valid TOML: {e}") from None
    data = data.get("board", data)
    unknown = sorted(set(data) - set(BOARD_FIELDS))
    if unknown:
        raise MCUForgeError(
            f"board file {path}: unknown field(s) {', '.join(unknown)}; known: {', '.join(BOARD_FIELDS)}"
        )
    missing = [f for f in ("core", "sram", "flash", "mhz") if f not in data]
    if missing:
        raise MCUForgeError(f"board file {path} needs {', '.join(missing)}")
    for key, kind in BOARD_FIELDS.items():
        if key in data and not isinstance(data[key], kind) or (kind is int and isinstance(data.get(key), bool)):
            raise MCUForgeError(f"board file {path}: {key} must be {'a whole number' if kind is int else 'a string'}")
    if "fpu" in data and data["fpu"].lower() == "none":
        data["fpu"] = None
    data.setdefault("name", p.stem)
    return custom_board(**data)


def custom_board(core: str, sram: int, flash: int, mhz: int, name: str = "custom", **extra) -> Board:
    """A board given by its figures (`--core --sram --flash --mhz`)."""
    for what, v in (("sram", sram), ("flash", flash), ("mhz", mhz)):
        if v <= 0:
            raise MCUForgeError(f"the board's {what} must be positive, not {v}")
    return Board(name, core, sram, flash, mhz, **extra)
