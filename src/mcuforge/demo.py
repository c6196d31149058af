"""The main job (`make demo`): `mcuforge search --preset quick` on Fashion-MNIST for a
tight board. TinyNAS finds the most accurate int8 network that fits the board's SRAM
and Flash (stage 1, a supernet, evolution on the engine's exact memory), fine-tunes,
quantises and exports it, trains the two baselines it must beat (MobileNetV2 scaled to
the same budget, random search over the same space), and validates all three on the
10,000 test images with the reference executor, the generated C and the board's
Cortex-M firmware under QEMU.

    python -m mcuforge.demo OUTDIR

The command is printed before it runs; the run folder is resumed when it exists, so a
second `make demo` (or one after an interruption) continues where the first stopped.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

BOARD = "STM32L432KC"  # Cortex-M4, 64 KB SRAM, 256 KB Flash


def main(argv: list[str] | None = None) -> int:
    from mcuforge.cli import main as cli

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "build/demo")
    run = out / "search"
    args = ["search", "--data", "fashion-mnist", "--board", BOARD, "--preset", "quick", "-o", str(run)]
    if (run / "config.json").is_file():
        args.append("--resume")
    print(f"$ mcuforge {' '.join(args)}", flush=True)
    started = time.monotonic()
    rc = cli(args)
    if rc == 0:
        print(
            f"\ndemo: {time.monotonic() - started:.0f} s this call; report: {run / 'report.md'} and {run / 'report.html'}"
        )
    return rc


if __name__ == "__main__":
    sys.exit(main())
