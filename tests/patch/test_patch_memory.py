"""Memory plans of patched programs: verified, inside the arena, and safe when run in
a byte arena at the planned offsets (the source/sink overlap and the views included)."""

from __future__ import annotations

import pytest
from arena import arena_run
from nets import mobilenet_like, nchw_input, windows_zoo

from mcuforge.engine import compile_graph
from mcuforge.frontend.tflite_read import load
from mcuforge.patch.codegen import program_scratch
from mcuforge.patch.memory import program_requests
from mcuforge.patch.plan import PatchPlan
from mcuforge.patch.program import build_program, is_copy, resolve
from mcuforge.plan import plan, verify
from mcuforge.ref.boundary import to_model_inputs
from mcuforge.ref.interpreter import random_inputs, run, run_all


def _check(g, spec, seed: int = 0):
    c = compile_graph(g, patch=spec)
    xs = to_model_inputs(c.io, random_inputs(g, seed))
    want = run(c.graph, xs)
    got = arena_run(c.project, xs)
    for a, b in zip(want, got):
        assert a.tobytes() == b.tobytes()
    mem = c.project.memory
    for name, off in mem.tensor_offsets.items():
        assert 0 <= off and off + c.project.graph.tensors[name].nbytes <= mem.arena_bytes
    assert mem.lower_bound <= mem.arena_bytes
    return c


@pytest.mark.parametrize(
    "make,plans",
    [
        (mobilenet_like, [(4, (2, 2)), (4, (4, 1)), (2, (3, 3)), (6, (6, 1)), (3, (1, 4))]),
        (windows_zoo, [(12, (2, 2)), (12, (5, 1)), (8, (3, 3)), (5, (2, 1))]),
        (nchw_input, [(3, (2, 2)), (3, (4, 1)), (0, (2, 3)), (1, (3, 1))]),
    ],
)
def test_writer_nets_in_the_arena(make, plans):
    for split, grid in plans:
        _check(make(), PatchPlan(split, grid))


@pytest.mark.parametrize("grid", [(6, 1), (3, 2), (2, 3)])
def test_source_sink_overlap_is_safe_and_tight(grid):
    """Patches store their cells over input rows no later patch reads, so the sink may
    start D bytes below the source: exact at D, a source byte clobbered at D - 1."""
    g = mobilenet_like()
    spec = PatchPlan(4, grid)
    c = compile_graph(g, patch=spec)
    h = c.graph
    prog = build_program(h, spec)
    requests, overlaps, buffer_of, *_ = program_requests(prog, program_scratch(prog))
    x, y = buffer_of[prog.stage.source], buffer_of[prog.stage.sink]
    (ov,) = [o for o in overlaps if (o.out, o.inp) == (y, x)]
    sink = h.tensors[y]
    assert 0 < ov.min_distance < sink.nbytes  # shares bytes, but not all
    p = plan(requests, overlaps)
    verify(requests, overlaps, p)
    others = [o for o in overlaps if o is not ov]
    assert plan(requests, others).arena_bytes >= p.arena_bytes  # the allowance never costs
    xs = to_model_inputs(c.io, random_inputs(g, 0))
    want = run_all(h, xs)[y]
    got = arena_run(c.project, xs, _relocate(c.project, prog, x, y, ov.min_distance), capture=(y, prog.loop.stop - 1))
    assert got[-1].tobytes() == want.tobytes()
    # Byte by byte: at D no byte of the source is read after the sink overwrote it; at
    # D - 1 one is (the distance is tight).
    assert not _clobbers(prog, x, y, ov.min_distance)
    assert _clobbers(prog, x, y, ov.min_distance - 1)


def _clobbers(prog, x, y, d) -> bool:
    """Whether, with y placed d bytes below x, some byte of x is read after y's write
    landed on it (a step's writes counted before its reads: the conservative order)."""
    g = prog.graph
    hit: set[int] = set()

    def span(name, box=None):
        t = g.tensors[name]
        root, off = resolve(prog.views, name)
        if box is None:
            return root, [range(off, off + t.nbytes)]
        _, _, w, c = t.shape
        return root, [range(off + ((r * w) + box[2]) * c, off + ((r * w) + box[3]) * c) for r in range(box[0], box[1])]

    for node in g.nodes:
        copy = is_copy(node)
        root, ranges = span(node.outputs[0], node.attrs.dst_box if copy else None)
        if root == y:
            hit.update(b - d for r in ranges for b in r)
        for name in node.inputs:
            if name is None or g.tensors[name].is_const:
                continue
            root, ranges = span(name, node.attrs.src_box if copy else None)
            if root == x and any(b in hit for r in ranges for b in r):
                return True
    return False


def _relocate(project, prog, x, y, d):
    """Offsets with y exactly d bytes below x and every other buffer far above both."""
    g, old = project.graph, project.memory.tensor_offsets
    base = g.tensors[y].nbytes + 64
    high = base + g.tensors[x].nbytes + 64
    out = {}
    for name in old:
        root, off = resolve(prog.views, name)
        start = {x: base, y: base - d}.get(root, high + old[root] if root in old else None)
        out[name] = start + off
    return out


@pytest.mark.parametrize(
    "model", ["tinyengine_mcunet_vww1", "mlperf_ic_resnet8_int8", "tinyengine_person_detection_yolo"]
)
def test_real_models_in_the_arena(models_dir, model):
    g = load(models_dir / f"{model}.tflite")
    c = _check(g, "auto")
    assert c.patch.plan is not None
