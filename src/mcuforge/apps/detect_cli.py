"""`mcuforge detect MODEL IMAGE`: run a YOLO-style detector on an image with the
reference executor, the generated C or QEMU, decode its heads into boxes (apps/yolo.py
and the same step in C), draw them and print them."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from mcuforge.errors import InputError

IMAGE_OUT = (".png", ".jpg", ".jpeg", ".bmp")


def config_path(model: str, given: str | None) -> Path:
    """--config, else MODEL's stem + .config.json beside it (TinyEngine ships them so)."""
    if given:
        return Path(given)
    beside = Path(model).with_suffix(".config.json")
    if not beside.is_file():
        raise InputError(
            f"no detection config for {model}: pass --config FILE (TinyEngine's detection_config.json layout) "
            f"or put it beside the model as {beside.name}"
        )
    return beside


def add_detect_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--score", type=float, default=0.3, help="keep boxes scoring at least this (default 0.3)")
    p.add_argument("--nms", type=float, default=0.45, help="NMS: drop a box overlapping a better one by more IoU (default 0.45)")
    p.add_argument("--max-boxes", type=int, default=20, help="at most this many boxes (default 20)")


def detection_graph(model: str, config: str | None, args: argparse.Namespace):
    """(the model as read, the int8 graph with the detection step as its one output)."""
    from mcuforge.apps.yolo import attach, load_config
    from mcuforge.frontend.tflite_read import load
    from mcuforge.passes import fold_io

    heads = load_config(config_path(model, config))
    g = load(model)
    h = fold_io(g).graph
    return g, attach(h, heads, args.score, args.nms, args.max_boxes, max(100, args.max_boxes))


def _image_input(d, path: str, input_range) -> tuple[np.ndarray, tuple[int, int], object]:
    """The model input for an image (resized to the input, pixel - 128 or --input-range), its
    original size and the decoded image."""
    from PIL import Image, UnidentifiedImageError

    from mcuforge.validate.prepare import model_inputs

    p = Path(path)
    if not p.is_file():
        raise InputError(f"image {path} does not exist")
    try:
        im = Image.open(p)
        im.load()
    except (OSError, UnidentifiedImageError):
        raise InputError(f"{path} is not an image Pillow can read (PNG, JPEG, BMP)") from None
    _, h, w, c = d.tensors[d.inputs[0]].shape
    if c not in (1, 3):
        raise InputError(f"the model's input has {c} channels; an image gives 1 or 3")
    rgb = im.convert("RGB")
    small = rgb.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
    pixels = np.asarray(small, np.uint8).reshape(h, w, c)
    return model_inputs(d, pixels[None], input_range), rgb.size, rgb


def run_detection(d, x: np.ndarray, backend: str, board_name: str | None = None) -> np.ndarray:
    """The (max_boxes, 6) box table of graph d on input x, from `backend`."""
    if backend == "ref":
        from mcuforge.ref.interpreter import run

        return run(d, [x])[0]
    from mcuforge.engine import compile_graph

    compiled = compile_graph(d)
    if backend == "c":
        from mcuforge.targets.host import run_c

        return run_c(compiled.graph, [x], project=compiled.project)[0]
    from mcuforge.targets.qemu import backend_board, run_qemu

    board = backend_board(backend, board_name)
    return run_qemu(compiled.project, board, [x])[0]


def _draw(image, boxes: list[dict], out: Path) -> None:
    from PIL import ImageDraw

    im = image.copy()
    draw = ImageDraw.Draw(im)
    width = max(1, round(min(im.size) / 100))
    for b in boxes:
        draw.rectangle([b["x0"], b["y0"], b["x1"], b["y1"]], outline=(255, 40, 40), width=width)
        draw.text((b["x0"] + 2, b["y0"] + 1), f"{b['label']}: {b['score']:.2f}", fill=(255, 255, 0))
    try:
        im.save(out)
    except OSError as e:
        raise InputError(f"cannot write {out}: {e.strerror or e}") from None


def _check_image_out(path: str, force: bool) -> Path:
    p = Path(path)
    if p.suffix.lower() not in IMAGE_OUT:
        raise InputError(f"-o {path} must end in .png, .jpg or .bmp")
    if p.exists() and not force:
        raise InputError(f"{path} already exists; pass --force to overwrite it")
    parent = p.resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InputError(f"cannot write {path}: its folder does not exist or is not writable")
    return p


def cmd_detect(args: argparse.Namespace) -> int:
    from mcuforge.apps.yolo import boxes_in_pixels
    from mcuforge.validate.cli import _input_range

    out = _check_image_out(args.output, args.force) if args.output else None
    _, d = detection_graph(args.model, args.config, args)
    x, size, image = _image_input(d, args.image, _input_range(args.input_range))
    rows = run_detection(d, x, args.backend, args.board)
    _, h, w, _ = d.tensors[d.inputs[0]].shape
    boxes = boxes_in_pixels(rows, (h, w), size)
    if out is not None:
        _draw(image, boxes, out)
    if args.json:
        print(json.dumps({"model": args.model, "image": args.image, "backend": args.backend,
                          "image_size": list(size), "boxes": boxes, "output": str(out) if out else None}, indent=2))  # fmt: skip
        return 0
    print(f"{len(boxes)} box(es) on {args.image} ({size[0]}x{size[1]}) from {args.backend}, score >= {args.score}:")
    for b in boxes:
        print(f"  label {b['label']}  score {b['score']:.4f}  ({b['x0']:.1f}, {b['y0']:.1f}) - ({b['x1']:.1f}, {b['y1']:.1f})")
    if out is not None:
        print(f"wrote {out}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("detect", help="boxes of a YOLO-style detector on an image (decode + NMS, also in C)")
    p.add_argument("model", help="an int8 .tflite detector with YOLO heads")
    p.add_argument("image", help="an image (PNG, JPEG, BMP), resized to the model's input")
    p.add_argument("--config", help="the heads' strides, anchors and classes (default: MODEL.config.json beside it)")
    p.add_argument(
        "--backend", choices=["ref", "c", "qemu-m7", "qemu-m4"], default="ref",
        help="ref: the NumPy reference (default); c: the generated C built here; qemu-m7/qemu-m4: Cortex-M firmware",
    )  # fmt: skip
    p.add_argument("--board", help="board the QEMU firmware is linked for")
    add_detect_args(p)
    p.add_argument("--input-range", metavar="LO,HI", help="the float range the network was trained on (default: pixel - 128)")
    p.add_argument("-o", "--output", metavar="OUT.png", help="draw the boxes on the image")
    p.add_argument("--force", action="store_true", help="overwrite OUT.png")
    p.add_argument("--json", action="store_true", help="print JSON (key boxes: x0, y0, x1, y1, score, label in image pixels)")
    p.set_defaults(func=cmd_detect)
