"""The executors `validate` compares, each over a whole batch of images in one process
(or a few), never one process per image.

Every backend takes the inputs of the model as read (N images stacked on axis 0, the
input tensor's dtype) and returns its outputs stacked the same way, so that results can
be compared byte for byte:

    ref      the reference executor on the graph batched by rebatch (image by image when
             the graph cannot be batched), in chunks that bound memory, spread over
             forked processes (validate: one per core) with single-threaded BLAS
    tflm     TF-Lite Micro, one interpreter for every image
    c        the generated C built with gcc and a batch runner (validate/batch.py)
    qemu-m7, qemu-m4   the Cortex-M firmware under QEMU, one boot per batch (validate/batch.py)

The c and QEMU backends run the compiled model, whose boundary QUANTIZE / DEQUANTIZE
are folded out (passes/fold_io): `fold_inputs` and `unfold_outputs` apply them to the
whole batch with the reference kernels, as ref/boundary.py does for one image.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mcuforge.errors import InputError
from mcuforge.ir.graph import Graph, Node, Tensor
from mcuforge.passes.fold_io import FoldedIO
from mcuforge.validate.rebatch import batch_problem, rebatch

BACKENDS = ("ref", "c", "tflm", "qemu-m7", "qemu-m4")
# Memory of a batched reference pass per element of the graph's largest activation: the
# kernels' int64 / float64 temporaries (window taps, accumulators, requantisation) peak at
# about 88 B on MobileNetV2 blocks (measured: 210 MB for 256 images of 14x14x48).
REF_BYTES_PER_ELEMENT = 96
REF_CHUNK_BYTES = 256 << 20  # memory one reference process may use at once
REF_MAX_CHUNK = 256  # larger chunks run no faster (measured: 195 img/s at 256, 185 at 512)
REF_SPAN_UNBATCHED = 32  # images per task when a graph runs image by image


def check_backends(backends: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Backend names from "ref,c" or a sequence, checked and without repeats."""
    names = (
        [b.strip() for b in backends.split(",")] if isinstance(backends, str) else [str(b).strip() for b in backends]
    )
    names = [b for b in names if b]
    if not names:
        raise InputError(f"name at least one backend: {', '.join(BACKENDS)}")
    for b in names:
        if b not in BACKENDS:
            raise InputError(f"unknown backend {b!r}; choose from {', '.join(BACKENDS)} (comma-separated)")
    return tuple(dict.fromkeys(names))


@contextlib.contextmanager
def progress_bar(total: int, desc: str, enabled: bool) -> Iterator:
    """A tqdm bar on stderr (a do-nothing stand-in when disabled)."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="img", file=sys.stderr, leave=False, dynamic_ncols=True) as bar:
        yield bar


class _NoBar:
    n = 0

    def update(self, k: int = 1) -> None:
        self.n += k

    def set_postfix_str(self, s: str) -> None:
        pass


def _stack_one(g: Graph, x: np.ndarray) -> tuple[Tensor, Tensor]:
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise ValueError("batched backends run graphs with one input and one output")
    t_in, t_out = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    if x.dtype != np.dtype(t_in.dtype) or x.shape[1:] != t_in.shape[1:]:
        raise ValueError(f"inputs of shape {x.shape} {x.dtype} do not stack {t_in.shape} {t_in.dtype}")
    return t_in, t_out


def ref_chunk(g: Graph) -> int:
    """Images per batched reference pass: REF_CHUNK_BYTES over the largest activation."""
    largest = max((t.size for t in g.activations()), default=1)
    return int(max(1, min(REF_MAX_CHUNK, REF_CHUNK_BYTES // (largest * REF_BYTES_PER_ELEMENT))))


# What forked reference workers read: set just before the pool forks, cleared after.
_SHARED: dict = {}
# OpenBLAS's thread-count setters under the names its builds export (NumPy's wheels
# prefix and suffix them).
BLAS_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
                "scipy_openblas_set_num_threads", "MKL_Set_Num_Threads")  # fmt: skip


def single_thread_blas() -> None:
    """Make the BLAS loaded in this process use one thread (a forked reference worker:
    with one worker per core, BLAS threads only contend; measured on 2 cores, 10,000
    images: 24 s with threaded BLAS, 11 s without). Results do not depend on it: the
    kernels' float64 sums are exact in any order. Does nothing where no setter is found,
    and never raises (a pool whose initializer fails restarts it forever)."""
    import ctypes
    import re

    try:
        libs = sorted(set(re.findall(r"\S*(?:openblas|mkl_rt)\S*\.so\S*", Path("/proc/self/maps").read_text())))
        for lib in libs:
            handle = ctypes.CDLL(lib)
            setter = next((getattr(handle, n) for n in BLAS_SETTERS if hasattr(handle, n)), None)
            if setter is not None:
                setter(1)
    except Exception:  # noqa: BLE001 - only a speed-up: any failure leaves BLAS as it was
        return


def _ref_span(span: tuple[int, int]) -> tuple[int, np.ndarray]:
    """Outputs of images start .. start + k: one batched pass, or image by image."""
    from mcuforge.ref.interpreter import run

    start, k = span
    g, x, batched = _SHARED["g"], _SHARED["x"], _SHARED["batched"]
    if not batched:
        return start, np.stack([run(g, [x[i : i + 1]])[0][0] for i in range(start, start + k)])
    graphs = _SHARED.setdefault("graphs", {})
    if k not in graphs:
        graphs[k] = rebatch(g, k)
    return start, run(graphs[k], [x[start : start + k]])[0]


def run_ref(
    g: Graph, x: np.ndarray, progress: bool = False, chunk: int | None = None, desc: str = "ref", workers: int = 1
) -> np.ndarray:
    """The reference executor on N inputs stacked on axis 0 (a one-input, one-output
    graph): the graph batched `chunk` images at a time when it can be, else image by
    image; spans of the batch run in `workers` forked processes. Returns the N outputs
    stacked on axis 0. A stateful graph (variable tensors) runs image after image in one
    Session, its state carried as TF-Lite Micro's one interpreter and the C batch runners
    carry it."""
    _, t_out = _stack_one(g, x)
    n = x.shape[0]
    out = np.empty((n, *t_out.shape[1:]), dtype=t_out.dtype)
    if g.variables():
        from mcuforge.ref.interpreter import Session

        session = Session(g)
        with progress_bar(n, desc, progress) as bar:
            for i in range(n):
                out[i] = session.run([x[i : i + 1]])[0][0]
                bar.update(1)
        return out
    batched = batch_problem(g) is None
    step = (chunk or ref_chunk(g)) if batched else REF_SPAN_UNBATCHED
    spans = [(start, min(step, n - start)) for start in range(0, n, step)]
    workers = min(workers, len(spans)) if "fork" in mp.get_all_start_methods() else 1
    _SHARED.update(g=g, x=x, batched=batched, graphs={})
    try:
        with progress_bar(n, desc, progress) as bar:
            if workers > 1:
                with mp.get_context("fork").Pool(workers, initializer=single_thread_blas) as pool:
                    for start, y in pool.imap_unordered(_ref_span, spans):
                        out[start : start + len(y)] = y
                        bar.update(len(y))
            else:
                for span in spans:
                    start, y = _ref_span(span)
                    out[start : start + len(y)] = y
                    bar.update(len(y))
    finally:
        _SHARED.clear()
    return out


def run_tflm(model: bytes, x: np.ndarray, out_shape: tuple[int, ...], progress: bool = False) -> np.ndarray:
    """TF-Lite Micro on N inputs: one interpreter, invoked once per image."""
    from mcuforge.oracle.tflm import _interpreter

    interp = _interpreter(model, None, preserve=False)
    n = x.shape[0]
    out = None
    with progress_bar(n, "tflm", progress) as bar:
        for i in range(n):
            interp.set_input(np.ascontiguousarray(x[i : i + 1]), 0)
            interp.invoke()
            y = np.asarray(interp.get_output(0))
            if out is None:
                out = np.empty((n, *out_shape[1:]), dtype=y.dtype)
            out[i] = y.reshape(out_shape[1:])
            bar.update(1)
    assert out is not None
    return out


def _boundary(g: Graph, node: Node, x: np.ndarray) -> np.ndarray:
    """One boundary QUANTIZE / DEQUANTIZE node of `g` applied to N stacked arrays (a
    graph of that node alone, batched, with the reference kernel)."""
    from mcuforge.ref.interpreter import KERNELS

    h = Graph(name="boundary")
    for name in (node.inputs[0], node.outputs[0]):
        t = g.tensors[name]
        h.add_tensor(Tensor(t.name, (x.shape[0], *t.shape[1:]), t.dtype, t.quant))
    return np.asarray(KERNELS[node.op](h, node, [x])[0])


def fold_inputs(io: FoldedIO, x: np.ndarray) -> np.ndarray:
    """Inputs of the model as read -> inputs of the compiled (folded) model."""
    return _boundary(io.original, io.input_nodes[0], x) if 0 in io.input_nodes else x


def unfold_outputs(io: FoldedIO, y: np.ndarray) -> np.ndarray:
    """Outputs of the compiled (folded) model -> outputs of the model as read."""
    return _boundary(io.original, io.output_nodes[0], y) if 0 in io.output_nodes else y
