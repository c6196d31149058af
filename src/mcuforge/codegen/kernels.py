"""Which kernel files a project carries: the portable C, or for a core with the DSP
extension the ARMv7E-M kernels with the portable C as their fallback in the same file.

A kernel family (mf_conv, mf_fc, ...) that kernels/armv7em/ implements is written as one
file holding both: the compiler takes the ARMv7E-M one where __ARM_FEATURE_DSP is defined
(-mcpu=cortex-m4, cortex-m7, cortex-m33 with DSP, cortex-m55) and the portable one
everywhere else (the host runner, Cortex-M0+/M3), or everywhere when the build defines
MF_PORTABLE_KERNELS. So the files a user gets build on the host and, for the board, are
exactly the ones the QEMU backend measures."""

from __future__ import annotations

from importlib import resources

from mcuforge.errors import MCUForgeError
from mcuforge.hw.boards import Board

KERNEL_SETS = ("auto", "portable", "armv7em")
FAST_HEADER = "mf_armv7em.h"  # primitives the ARMv7E-M files share


def kernel_file(name: str) -> str:
    return resources.files("mcuforge.kernels").joinpath(name).read_text()


def _has(name: str) -> bool:
    return resources.files("mcuforge.kernels").joinpath(name).is_file()


def choose(board: Board | None, requested: str = "auto") -> str:
    """The kernel set for `board` (None: a board-less project, portable): auto picks
    armv7em on cores with the DSP extension."""
    if requested not in KERNEL_SETS:
        raise MCUForgeError(f"unknown kernel set {requested!r}; choose {', '.join(KERNEL_SETS)}")
    if board is None:
        if requested == "armv7em":
            raise MCUForgeError("the armv7em kernels are chosen for a board; name one with --board")
        return "portable"
    if requested == "armv7em" and not board.dsp:
        raise MCUForgeError(
            f"the armv7em kernels need the DSP extension, which {board.name}'s {board.core} lacks; use --kernels portable or auto"
        )
    if requested == "auto":
        return "armv7em" if board.dsp else "portable"
    return requested


def optimised(families: list[str], kernels: str) -> tuple[str, ...]:
    """Kernel files of `families` that carry an ARMv7E-M implementation under `kernels`."""
    if kernels == "portable":
        return ()
    return tuple(f"{fam}.c" for fam in families if _has(f"{kernels}/{fam}.c"))


def _dual(fam: str, fast: str, portable: str) -> str:
    return (
        f"/* mcuforge kernels: {fam}, two implementations of the same functions in one file.\n"
        " * Built for a core with the DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33 with DSP,\n"
        " * M55) this file is the ARMv7E-M kernel; anywhere else, or with -DMF_PORTABLE_KERNELS,\n"
        " * the portable C. Both give the same bytes. */\n"
        "#if defined(__ARM_FEATURE_DSP) && !defined(MF_PORTABLE_KERNELS)\n\n"
        f"{fast}\n"
        "#else /* portable C */\n\n"
        f"{portable}\n"
        "#endif\n"
    )


def kernel_files(families: list[str], kernels: str) -> dict[str, str]:
    """File name -> text of the kernels `families` need under set `kernels`."""
    files: dict[str, str] = {"mf_common.h": kernel_file("include/mf_common.h")}
    fast = set(optimised(families, kernels))
    for fam in families:
        files[f"{fam}.h"] = kernel_file(f"include/{fam}.h")
        portable = kernel_file(f"portable/{fam}.c")
        name = f"{fam}.c"
        files[name] = _dual(fam, kernel_file(f"{kernels}/{name}"), portable) if name in fast else portable
    if fast:
        files[FAST_HEADER] = kernel_file(f"{kernels}/{FAST_HEADER}")
    return files
