"""TF-Lite Micro, the outside oracle: run a model with the tflite-micro package.

`run_tflm` runs in this process (fast; for tests on well-formed models).
`run_tflm_isolated` runs in a child process, so that a model TF-Lite Micro cannot
handle (or too small an arena) cannot crash the caller. `min_arena_bytes` finds
TF-Lite Micro's minimum arena by binary search, each try isolated.
"""

from __future__ import annotations

import faulthandler
import multiprocessing as mp
import os
from dataclasses import dataclass

import numpy as np

from mcuforge.errors import MCUForgeError


class OracleError(MCUForgeError):
    """TF-Lite Micro could not run the model."""


def _interpreter(model: bytes, arena_size: int | None, preserve: bool):
    from tflite_micro.python.tflite_micro import runtime

    config = (
        runtime.InterpreterConfig.kPreserveAllTensors if preserve else runtime.InterpreterConfig.kAllocationRecording
    )
    if arena_size is None:
        arena_size = max(len(model) * 10, 16 << 20)
    return runtime.Interpreter.from_bytes(model, arena_size=arena_size, intrepreter_config=config)


def run_tflm(model: bytes, inputs: list[np.ndarray], arena_size: int | None = None) -> list[np.ndarray]:
    """Outputs of TF-Lite Micro for the given inputs, in the model's output order."""
    interp = _interpreter(model, arena_size, preserve=False)
    for i, x in enumerate(inputs):
        interp.set_input(np.ascontiguousarray(x), i)
    interp.invoke()
    return [np.array(interp.get_output(i)) for i in range(num_outputs(model))]


def run_tflm_sequence(model: bytes, steps: list[list[np.ndarray]], arena_size: int | None = None) -> list[list[np.ndarray]]:
    """Outputs of TF-Lite Micro for several invocations of one interpreter, in order:
    variable tensors (SVDF, LSTM state) and ops' own state carry from one step to the next."""
    interp = _interpreter(model, arena_size, preserve=False)
    n = num_outputs(model)
    out = []
    for inputs in steps:
        for i, x in enumerate(inputs):
            interp.set_input(np.ascontiguousarray(x), i)
        interp.invoke()
        out.append([np.array(interp.get_output(i)) for i in range(n)])
    return out


def run_tflm_sequence_tensors(
    model: bytes, steps: list[list[np.ndarray]], tensor_indices: list[int]
) -> list[dict[int, np.ndarray]]:
    """Several invocations, as run_tflm_sequence, keeping every tensor: after each step the
    requested tensors by flatbuffer index (a variable tensor: its state after that step)."""
    interp = _interpreter(model, None, preserve=True)
    out = []
    for inputs in steps:
        for i, x in enumerate(inputs):
            interp.set_input(np.ascontiguousarray(x), i)
        interp.invoke()
        out.append({t: np.array(interp.GetTensor(t, 0)["tensor_data"]) for t in tensor_indices})
    return out


def num_outputs(model: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    return fb.Model.GetRootAs(model, 0).Subgraphs(0).OutputsLength()


def run_tflm_tensors(model: bytes, inputs: list[np.ndarray], tensor_indices: list[int]) -> dict[int, np.ndarray]:
    """Run once keeping every tensor, and return the requested tensors by flatbuffer index."""
    interp = _interpreter(model, None, preserve=True)
    for i, x in enumerate(inputs):
        interp.set_input(np.ascontiguousarray(x), i)
    interp.invoke()
    # GetTensor returns a dict: dtype, shape and tensor_data.
    return {t: np.array(interp.GetTensor(t, 0)["tensor_data"]) for t in tensor_indices}


def _quiet(log: str | None) -> None:
    """Send this process's C-level stdout and stderr (TF-Lite Micro's messages, such as
    "Failed to resize buffer" while the arena search probes too small arenas) to `log`
    (appended), or discard them."""
    fd = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _child(conn, model: bytes, inputs: list[np.ndarray], arena_size: int | None, log: str | None = None) -> None:
    faulthandler.disable()  # an abort here is an expected outcome, reported to the parent
    _quiet(log)
    try:
        conn.send(("ok", run_tflm(model, inputs, arena_size)))
    except Exception as e:  # noqa: BLE001 - anything TF-Lite Micro raises is reported to the parent
        conn.send(("error", str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__))
    finally:
        conn.close()


@dataclass(frozen=True)
class IsolatedResult:
    ok: bool
    outputs: list[np.ndarray]
    message: str = ""


def run_tflm_isolated(
    model: bytes,
    inputs: list[np.ndarray],
    arena_size: int | None = None,
    timeout: float = 120.0,
    log: str | None = None,
) -> IsolatedResult:
    """Run TF-Lite Micro in a child process; a crash or error there is reported, not raised.
    What it prints goes to the file `log` (appended), or nowhere."""
    ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, model, inputs, arena_size, log))
    proc.start()
    child.close()
    result = IsolatedResult(False, [], "TF-Lite Micro crashed")
    if parent.poll(timeout):
        try:
            status, payload = parent.recv()
        except EOFError:
            status, payload = "error", "TF-Lite Micro crashed"
        result = IsolatedResult(True, payload) if status == "ok" else IsolatedResult(False, [], payload)
    else:
        result = IsolatedResult(False, [], f"TF-Lite Micro did not finish in {timeout:.0f} s")
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return result


def min_arena_bytes(
    model: bytes, inputs: list[np.ndarray], hi: int | None = None, granularity: int = 16, log: str | None = None
) -> int:
    """TF-Lite Micro's smallest working arena, by binary search over arena_size.

    Each try runs in a child process because too small an arena can crash it; what the
    tries print goes to `log` (or nowhere). Raises OracleError when even `hi` bytes are
    not enough.
    """
    hi = hi or max(len(model) * 10, 16 << 20)
    if not run_tflm_isolated(model, inputs, hi, log=log).ok:
        raise OracleError(f"TF-Lite Micro cannot run this model even with a {hi}-byte arena")
    lo = 0  # known to fail (or untested)
    while hi - lo > granularity:
        mid = (lo + hi) // 2
        if run_tflm_isolated(model, inputs, mid, log=log).ok:
            hi = mid
        else:
            lo = mid
    return hi
