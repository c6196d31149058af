"""`mcuforge train`: the command line of train/run.py."""

from __future__ import annotations

import argparse
import json
from typing import Any

# flag -> TrainConfig field; every default is None so that a resumed run can tell which
# settings were given again (and must then equal the stored ones).
SETTINGS: dict[str, tuple[type, str]] = {
    "epochs": (int, "float training epochs (default 15)"),
    "batch_size": (int, "images per step (default 64)"),
    "lr": (float, "peak learning rate (default 0.1 for SGD, 0.002 for AdamW, per 128 images of batch: 0.05 and 0.001 at the default 64)"),
    "wd": (float, "weight decay on convolution and linear weights (default 2e-4 SGD, 0.05 AdamW)"),
    "warmup_epochs": (float, "linear warm-up before the cosine schedule (default 1)"),
    "label_smoothing": (float, "label smoothing (default 0.1)"),
    "ema": (float, "weight EMA decay per step, e.g. 0.999 (default off)"),
    "resolution": (int, "input resolution (default: the architecture's)"),
    "channels": (int, "input channels, 1 or 3 (default: the data's)"),
    "crop_padding": (int, "random-crop augmentation: pixels of padding per side (default max(1, resolution // 28); 0 = off)"),
    "calib": (int, "PTQ calibration images from the training split (default 1000)"),
    "qat_epochs": (int, "quantisation-aware training epochs after PTQ (default 0)"),
    "qat_lr": (float, "QAT learning rate (default the float one / 100)"),
    "seed": (int, "seed of weights, batches and augmentation (default 0)"),
    "split_seed": (int, "seed of the train/val/test split (default 0); validate uses the model's"),
    "val_size": (int, "validation images cut from the training part (default: 5000 for fashion-mnist, else 10%%)"),
    "sram": (int, "SRAM budget in bytes for the report (overrides the board's)"),
    "flash": (int, "Flash budget in bytes for the report (overrides the board's)"),
    "checkpoint_every_s": (float, "seconds between mid-epoch checkpoints (default 60)"),
    "init": (str, "start from these weights (a .pt state dict for this network, e.g. a subnet of a supernet)"),
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a network on your data, quantise it to int8 (PTQ, QAT) and report accuracy and memory")
    p.add_argument("arch", nargs="?", help="architecture: a JSON file (mcuforge or MCUNet format), a zoo name, or mbv2-wW-rR (e.g. mbv2-w0.35-r28)")
    p.add_argument("--data", help="data spec: fashion-mnist, folder:PATH or npz:PATH")
    p.add_argument("-o", "--output", required=True, metavar="RUN", help="run folder (config, checkpoints, model.tflite, report)")
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default=None, help="optimizer (default sgd, Nesterov momentum 0.9)")
    p.add_argument("--observer", choices=["minmax", "percentile", "mse"], default=None, help="PTQ activation ranges (default minmax)")
    p.add_argument("--hflip", action="store_true", default=None, help="random horizontal flips (off by default)")
    p.add_argument("--board", help="board whose SRAM and Flash the report checks (see `mcuforge boards`)")
    for name, (kind, text) in SETTINGS.items():
        flag = "--checkpoint-every" if name == "checkpoint_every_s" else f"--{name.replace('_', '-')}"
        p.add_argument(flag, dest=name, type=kind, default=None, help=text)
    p.add_argument("--threads", type=int, help="PyTorch threads (default: every core)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto", help="training device (default auto: CUDA when present)")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN (after an interruption, even kill -9)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from mcuforge.errors import InputError
    from mcuforge.train.run import train

    if args.threads is not None and args.threads < 1:
        raise InputError(f"--threads must be at least 1, not {args.threads}")
    settings = {name: getattr(args, name) for name in SETTINGS}
    settings.update(optimizer=args.optimizer, observer=args.observer, hflip=args.hflip, board=args.board)
    report = train(args.arch, args.data, args.output, resume=args.resume, threads=args.threads, device=args.device,
                   progress=not args.json, **settings)  # fmt: skip
    if args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "history"}, indent=2))
    else:
        print(summary(report))
    return 0


def _pct(v: float | None) -> str:
    return "    -" if v is None else f"{100 * v:6.2f}%"


def summary(r: dict[str, Any]) -> str:
    acc, mem = r["accuracy"], r["memory"]
    rows = [("float (PyTorch)", acc["float"]), ("PTQ int8 (reference executor)", acc["ptq"])]
    if acc.get("qat"):
        q = acc["qat"]
        rows += [("QAT fake-quantised (PyTorch)", {"val": q["val_fake"], "test": q["test_fake"]}), ("QAT int8 (reference executor)", q)]
    lines = [f"{r['arch']['name']} on {r['data']['spec']}: {r['arch']['macs']:,} MACs, {r['arch']['params']:,} parameters",
             f"{'model':32} {'val':>8} {'test':>8}"]  # fmt: skip
    lines += [f"{name:32} {_pct(a['val'])} {_pct(a['test'])}" for name, a in rows]
    fit = ""
    if mem.get("board"):
        fit = f"; {mem['board']}: {'fits' if mem['fits'] else 'does NOT fit'}"
    lines.append(f"peak SRAM {mem['peak_sram_bytes']:,} B, Flash {mem['flash_bytes']:,} B{fit}")
    lines.append(f"wrote {r['model']} ({r['deployed'].upper()}) and {r['run']}/report.md")
    return "\n".join(lines)
