"""The main job (`make demo`): train a small network on Fashion-MNIST, quantise it to
int8, compile it for a small board, and validate the int8 model on the reference
executor, the generated C on this machine and the Cortex-M4 firmware under QEMU, on all
10,000 test images.

    python -m mcuforge.demo OUTDIR

Each step is the `mcuforge` command a user would type (printed before it runs). The
training run folder is resumed when it exists, so a second `make demo` skips training.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ARCH = "mbv2-w0.35-r28"
BOARD = "STM32F412"  # Cortex-M4, 256 KB SRAM, 1 MB Flash
EPOCHS, QAT_EPOCHS = 4, 1


def main(argv: list[str] | None = None) -> int:
    from mcuforge.cli import main as cli

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "build/demo")
    out.mkdir(parents=True, exist_ok=True)
    run, project, result = out / "run", out / "c_project", out / "validate.json"
    started = time.monotonic()
    train = ["train", ARCH, "--data", "fashion-mnist", "-o", str(run), "--epochs", str(EPOCHS),
             "--qat-epochs", str(QAT_EPOCHS), "--board", BOARD]  # fmt: skip
    if (run / "config.json").is_file():
        train.append("--resume")
    steps = [
        train,
        ["compile", str(run / "model.tflite"), "--board", BOARD, "-o", str(project), "--force"],
    ]
    for args in steps:
        print(f"\n$ mcuforge {' '.join(args)}", flush=True)
        rc = cli(args)
        if rc != 0:
            return rc
    from mcuforge.errors import MCUForgeError
    from mcuforge.validate import validate
    from mcuforge.validate.report import format_result, plot_confusion

    backends = "ref,c,qemu-m4"
    print(f"\n$ mcuforge validate {run / 'model.tflite'} --data fashion-mnist --backend {backends} --board {BOARD} "
          f"--confusion {out / 'confusion.png'}", flush=True)  # fmt: skip
    try:
        v = validate(run / "model.tflite", "fashion-mnist", backends=backends, board=BOARD)
    except MCUForgeError as e:
        print(f"mcuforge: error: {e}", file=sys.stderr)
        return e.exit_code
    plot_confusion(v, out / "confusion.png")
    print(format_result(v))
    result.write_text(json.dumps(v.as_dict(), indent=1) + "\n")

    report = json.loads((run / "report.json").read_text())
    acc = report["accuracy"]
    deployed = acc["qat"] if report["deployed"] == "qat" else acc["ptq"]
    print(f"\n== {ARCH} on Fashion-MNIST, int8, for {BOARD}: {time.monotonic() - started:.0f} s")
    print(f"{'':40} {'accuracy':>9}  images")
    print(f"{'float (PyTorch), test split':40} {100 * acc['float']['test']:8.2f}%  {report['data']['test']:,}")
    label = f"int8 {report['deployed'].upper()} (reference executor), test split"
    print(f"{label:40} {100 * deployed['test']:8.2f}%  {report['data']['test']:,}")
    for backend in v.backends:
        print(f"{'int8 on ' + backend + ', test split':40} {100 * v.accuracy[backend]:8.2f}%  {v.samples:,}")
    print(f"ref, C and QEMU identical on every output byte: {'yes' if v.identical else 'NO'}")
    mem = report["memory"]
    fits = "fits" if mem.get("fits") else "does NOT fit"
    print(f"peak SRAM {mem['peak_sram_bytes']:,} B, Flash {mem['flash_bytes']:,} B of constants; {BOARD}: {fits}")
    print(f"report: {run / 'report.md'}; C project: {project}/; confusion matrix: {out / 'confusion.png'}")
    return 0 if v.identical else 1


if __name__ == "__main__":
    sys.exit(main())
