"""Operator coverage: every builtin operator TF-Lite Micro registers, and mcuforge's status
for each, so that coverage is a number anyone can check (`mcuforge ops`, README "Operators").

`TFLM_BUILTINS` is the list of builtin operators with an `Add...` method in TF-Lite Micro's
tensorflow/lite/micro/micro_mutable_op_resolver.h (tflite-micro commit 90b983c, August
2026), each with whether TF-Lite Micro's kernel computes on int8 tensors (or moves int8
data), and, for those mcuforge need not compile, why. A row's status is derived, never
stored: "supported" when the operator is a member of `mcuforge.ir.ops.Op` (so the table
and the count follow the operators as they land), else "planned" when TF-Lite Micro runs
it on int8 and it is in scope, else "not applicable". Custom operators that TF-Lite Micro
also registers (`TFLM_CUSTOM`: its signal library, detection post-processing, ...) are not
builtins and are not counted; those that are members of Op (TFLite_Detection_PostProcess)
are marked supported in that list and listed with mcuforge's own operators.

How each int8 fact was checked (`Entry.checked`):
- "run": tests/tflm_probe.py writes a one-operator model with int8 activations and runs it
  with the installed tflite-micro package (0.dev20261023 here); tests/test_coverage.py
  asserts TF-Lite Micro runs it exactly when `int8` says so, and that a refused model
  runs once made float32 (so only the int8 type was refused).
- "model": a trained model of ../shared/models that holds it with int8 inputs runs in
  TF-Lite Micro (tests/tflm_probe.py `REAL_MODELS`; the test skips where they are absent).
- "source": read from the kernel's type switch (tensorflow/lite/micro/kernels/*.cc), where
  a probe cannot tell: the logical kernels, for one, never check their input type and so
  "run" on int8 bytes they treat as bools.
- "oracle": mcuforge supports it and its tests compare it with TF-Lite Micro bit for bit.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from mcuforge.ir.ops import Op


class Status(StrEnum):
    SUPPORTED = "supported"
    PLANNED = "planned"
    NOT_APPLICABLE = "not applicable"


# Reasons an operator is not applicable (rows of the README table are grouped by them).
FLOAT_ONLY = "float only in TF-Lite Micro"
BOOL_ONLY = "bool tensors only"
SHAPE_ONLY = "int32/int64 shape arithmetic, no int8 data"
RECURRENT = "recurrent layer whose state tensors persist across invocations"
STATE = "state kept across invocations (resource variables); the generated C is stateless"
CONTROL = "control flow over subgraphs; mcuforge compiles a model's one subgraph"


@dataclass(frozen=True)
class Entry:
    int8: bool  # TF-Lite Micro's kernel computes on (or moves) int8 tensor data
    checked: str  # "run", "model", "source" or "oracle" (module docstring)
    reason: str | None = None  # why not applicable; None: in scope
    note: str = ""


def _ok(checked: str, note: str = "") -> Entry:
    return Entry(True, checked, None, note)


def _na(int8: bool, checked: str, reason: str, note: str = "") -> Entry:
    return Entry(int8, checked, reason, note)


_ORACLE = _ok("oracle")
TFLM_BUILTINS: dict[str, Entry] = {
    "ABS": _ok("run"),
    "ADD": _ORACLE,
    "ADD_N": _ok("run"),
    "ARG_MAX": _ok("run", "int8 in, int32 index out"),
    "ARG_MIN": _ok("run", "int8 in, int32 index out"),
    "ASSIGN_VARIABLE": _na(True, "source", STATE),
    "AVERAGE_POOL_2D": _ORACLE,
    "BATCH_MATMUL": _ok("run"),
    "BATCH_TO_SPACE_ND": _ok("run", "around a convolution it is already folded into a dilated convolution at import"),
    "BROADCAST_ARGS": _na(False, "source", SHAPE_ONLY),
    "BROADCAST_TO": _ok("run"),
    "CALL_ONCE": _na(False, "source", CONTROL, "initialises resource variables"),
    "CAST": _ok("run", "int8 to int16/int32/float/bool, values unchanged"),
    "CEIL": _na(False, "run", FLOAT_ONLY),
    "CONCATENATION": _ORACLE,
    "CONV_2D": _ORACLE,
    "COS": _na(False, "run", FLOAT_ONLY),
    "CUMSUM": _ok("run"),
    "DEPTHWISE_CONV_2D": _ORACLE,
    "DEPTH_TO_SPACE": _ok("run"),
    "DEQUANTIZE": _ORACLE,
    "DIV": _ok("run"),
    "DYNAMIC_UPDATE_SLICE": _ok("run"),
    "ELU": _ok("run"),
    "EMBEDDING_LOOKUP": _ok("run", "rows of an int8 table picked by int32 ids"),
    "EQUAL": _ok("run", "bool out"),
    "EXP": _na(False, "run", FLOAT_ONLY),
    "EXPAND_DIMS": _ORACLE,
    "FILL": _ok("run", "an int8 scalar broadcast to a shape"),
    "FLOOR": _na(False, "run", FLOAT_ONLY),
    "FLOOR_DIV": _na(False, "run", FLOAT_ONLY, "int32 ones in shape computations are folded at import"),
    "FLOOR_MOD": _na(False, "run", FLOAT_ONLY, "int32 ones in shape computations are folded at import"),
    "FULLY_CONNECTED": _ORACLE,
    "GATHER": _ok("run"),
    "GATHER_ND": _ok("run"),
    "GREATER": _ok("run", "bool out"),
    "GREATER_EQUAL": _ok("run", "bool out"),
    "HARD_SWISH": _ORACLE,
    "IF": _na(True, "source", CONTROL),
    "L2_NORMALIZATION": _ok("run"),
    "L2_POOL_2D": _na(False, "run", FLOAT_ONLY),
    "LEAKY_RELU": _ORACLE,
    "LESS": _ok("run", "bool out"),
    "LESS_EQUAL": _ok("run", "bool out"),
    "LOG": _na(False, "run", FLOAT_ONLY),
    "LOGICAL_AND": _na(False, "source", BOOL_ONLY),
    "LOGICAL_NOT": _na(False, "source", BOOL_ONLY),
    "LOGICAL_OR": _na(False, "source", BOOL_ONLY),
    "LOGISTIC": _ORACLE,
    "LOG_SOFTMAX": _ok("run"),
    "MAXIMUM": _ok("run"),
    "MAX_POOL_2D": _ORACLE,
    "MEAN": _ORACLE,
    "MINIMUM": _ok("run"),
    "MIRROR_PAD": _ok("run"),
    "MUL": _ORACLE,
    "NEG": _na(False, "run", FLOAT_ONLY, "its int8 case is a TODO in the kernel"),
    "NOT_EQUAL": _ok("run", "bool out"),
    "PACK": _ok("run"),
    "PAD": _ORACLE,
    "PADV2": _ORACLE,
    "PRELU": _ok("run"),
    "QUANTIZE": _ORACLE,
    "READ_VARIABLE": _na(True, "source", STATE),
    "REDUCE_ALL": _na(False, "source", BOOL_ONLY),
    "REDUCE_MAX": _ORACLE,
    "REDUCE_MIN": _ok("run"),
    "RELU": _ORACLE,
    "RELU6": _ORACLE,
    "RESHAPE": _ORACLE,
    "RESIZE_BILINEAR": _ok("run"),
    "RESIZE_NEAREST_NEIGHBOR": _ORACLE,
    "REVERSE_V2": _ok("run"),
    "ROUND": _na(False, "run", FLOAT_ONLY),
    "RSQRT": _ok("run"),
    "SELECT_V2": _ok("run", "bool condition"),
    "SHAPE": _na(False, "source", SHAPE_ONLY, "reads only its input's shape; folded at import"),
    "SIN": _na(False, "run", FLOAT_ONLY),
    "SLICE": _ok("run"),
    "SOFTMAX": _ORACLE,
    "SPACE_TO_BATCH_ND": _ok("run", "around a convolution it is already folded into a dilated convolution at import"),
    "SPACE_TO_DEPTH": _ok("run"),
    "SPLIT": _ok("run"),
    "SPLIT_V": _ok("run"),
    "SQRT": _na(False, "run", FLOAT_ONLY),
    "SQUARE": _na(False, "run", FLOAT_ONLY),
    "SQUARED_DIFFERENCE": _ok("run"),
    "SQUEEZE": _ORACLE,
    "STRIDED_SLICE": _ORACLE,
    "SUB": _ORACLE,
    "SUM": _ok("run"),
    # family svdf (begin)
    "SVDF": _ok("model", "int8 input; int16 or int8 time weights and state (streaming keyword spotting)"),
    # family svdf (end)
    "TANH": _ORACLE,
    "TRANSPOSE": _ORACLE,
    "TRANSPOSE_CONV": _ok("run"),
    # family lstm (begin)
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _ok(
        "model", "int8 (or int16) activations and hidden state, int16 cell state, kept between runs; standard LSTM only"
    ),
    # family lstm (end)
    "UNPACK": _ok("run"),
    "VAR_HANDLE": _na(False, "source", STATE, "outputs a resource handle"),
    "WHILE": _na(True, "source", CONTROL),
    "ZEROS_LIKE": _ok("run"),
}

# The custom codes the same header registers with AddCustom (what a .tflite names in
# custom_code): not builtins, not counted. The signal library's audio front end, detection
# post-processing, the streaming circular buffer, the Ethos-U NPU and compressed weights.
TFLM_CUSTOM = (
    "CIRCULAR_BUFFER", "TFLite_Detection_PostProcess", "ethos-u", "TFLM_DECODE", "SignalDelay", "SignalEnergy",
    "SignalFftAutoScale", "SignalFilterBank", "SignalFilterBankLog", "SignalFilterBankSpectralSubtraction",
    "SignalFilterBankSquareRoot", "SignalFramer", "SignalIrfft", "SignalOverlapAdd", "SignalPCAN", "SignalRfft",
    "SignalStacker", "SignalWindow",
)  # fmt: skip

# Members of Op that are not TF-Lite Micro builtins (a LiteRT-only builtin, an internal op, one
# of TFLM_CUSTOM's custom operators), name -> what it is. tests/test_coverage.py asserts every
# such member is here.
MCUFORGE_ONLY: dict[str, str] = {
    "TFLite_Detection_PostProcess": "TF-Lite Micro's custom operator for SSD detection post-processing (decode + "
    "NMS, float outputs); read with its DEQUANTIZE inputs folded in, apps/ssd.py",
    "MCUFORGE_YOLO_DETECT": "detection post-processing of YOLO heads (decode + NMS), added by compile --detect / detect",
    "TILE": "a TFLite builtin that TF-Lite Micro does not register (LiteRT runs it); TensorFlow's converter emits it "
    "for Keras UpSampling2D",
    # family signal (begin)
    **{op: f"TF-Lite Micro's signal-library custom operator ({what}), ref/signal.py" for op, what in (
        ("SignalWindow", "window weights, shifted and saturated"), ("SignalFftAutoScale", "normalise an int16 frame"),
        ("SignalRfft", "int16 KISS FFT real FFT"), ("SignalEnergy", "squared magnitudes"),
        ("SignalFilterBank", "mel filter bank, uint64 sums"), ("SignalFilterBankSquareRoot", "integer square root"),
        ("SignalFilterBankSpectralSubtraction", "noise estimate and subtraction"),
        ("SignalPCAN", "per-channel automatic gain control"), ("SignalFilterBankLog", "fixed-point log"),
        ("SignalFramer", "overlapping frames of a stream"), ("SignalStacker", "stack neighbouring frames"),
        ("SignalDelay", "delay a stream"), ("SignalOverlapAdd", "overlap-add frames into a stream"))},
    # family signal (end)
}


def extra_ops() -> list[tuple[str, str]]:
    """(name, note) of the members of Op outside TF-Lite Micro's builtins (not counted)."""
    return [(op.value, MCUFORGE_ONLY.get(op.value, "")) for op in Op if op.value not in TFLM_BUILTINS]


def status(name: str) -> Status:
    if name in set(Op):
        return Status.SUPPORTED
    e = TFLM_BUILTINS[name]
    return Status.PLANNED if e.int8 and e.reason is None else Status.NOT_APPLICABLE


def rows() -> list[tuple[str, str, str]]:
    """(name, status, note) for every TF-Lite Micro builtin, by name; a not-applicable
    row's note starts with its reason."""
    out = []
    for name in sorted(TFLM_BUILTINS):
        e, s = TFLM_BUILTINS[name], status(name)
        reason = [e.reason] if s is Status.NOT_APPLICABLE else []
        out.append((name, s.value, "; ".join(reason + ([e.note] if e.note else []))))
    return out


def counts() -> dict[str, int]:
    """supported: builtins that run int8 tensors in TF-Lite Micro and are members of Op;
    int8_total: builtins that run int8 tensors (every status); supported_builtins: every
    builtin that is a member of Op (also those TF-Lite Micro runs on bool or float only);
    builtins: all of them."""
    int8 = [n for n, e in TFLM_BUILTINS.items() if e.int8]
    by = {s: sum(status(n) is s for n in TFLM_BUILTINS) for s in Status}
    return {
        "supported": sum(status(n) is Status.SUPPORTED for n in int8),
        "int8_total": len(int8),
        "supported_builtins": by[Status.SUPPORTED],
        "planned": by[Status.PLANNED],
        "not_applicable": by[Status.NOT_APPLICABLE],
        "builtins": len(TFLM_BUILTINS),
    }


def summary_line() -> str:
    c = counts()
    return f"{c['supported']} of {c['int8_total']} TF-Lite Micro builtin operators that run int8 tensors are supported"


README_BEGIN = "<!-- operator table: begin -->"
README_END = "<!-- operator table: end -->"
FIX_COMMAND = "PYTHONPATH=src python -m mcuforge.coverage --write-readme README.md"


def readme_block() -> str:
    """The README's table (between the markers, exclusive): one row per status, and per
    reason and int8-ness among the not-applicable ones, naming the operators."""
    groups: dict[tuple[int, bool, str], list[str]] = {}
    for name, s, _ in rows():
        e = TFLM_BUILTINS[name]
        label = s if s != Status.NOT_APPLICABLE else f"not applicable: {e.reason}"
        groups.setdefault((list(Status).index(Status(s)), not e.int8, label), []).append(name)
    lines = [
        f"{summary_line()} (`mcuforge ops` lists each with its note; generated by `{FIX_COMMAND}`).",
        "",
        "| status | int8 in TF-Lite Micro | count | operators |",
        "|---|---|---:|---|",
    ]
    for (_, no_int8, label), names in sorted(groups.items()):
        lines.append(f"| {label} | {'no' if no_int8 else 'yes'} | {len(names)} | {', '.join(names)} |")
    custom = [f"{n} (supported)" if n in set(Op) else n for n in TFLM_CUSTOM]
    lines += ["", f"Custom operators TF-Lite Micro also registers (not counted): {', '.join(custom)}."]
    if extra_ops():
        lines.append(f"Also supported, not TF-Lite Micro builtins: {', '.join(n for n, _ in extra_ops())}.")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """`text` with what lies between the README markers replaced by `block`."""
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"the README lacks the markers {README_BEGIN} and {README_END}")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_BEGIN}\n{block}\n{README_END}{tail}"


def readme_table_of(text: str) -> str:
    """What lies between the README markers now (stripped)."""
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"the README lacks the markers {README_BEGIN} and {README_END}")
    return text.split(README_BEGIN, 1)[1].split(README_END, 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m mcuforge.coverage", description="print the README's operator table, or rewrite it in place"
    )
    p.add_argument("--write-readme", metavar="README", help="rewrite the operator table between its markers")
    args = p.parse_args(argv)
    if args.write_readme is None:
        print(readme_block())
        return 0
    path = Path(args.write_readme)
    try:
        text = path.read_text()
        new = replace_block(text, readme_block())
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if new != text:
        path.write_text(new)
    print(f"{path}: {summary_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
