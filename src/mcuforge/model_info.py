"""`mcuforge inspect`: a model's boundary tensors, per-node table and totals."""

from __future__ import annotations

from typing import Any

from mcuforge.errors import MCUForgeError
from mcuforge.ir.graph import Graph, Tensor
from mcuforge.ir.stats import node_macs, node_weight_bytes, total_macs, total_weight_bytes


def _tensor_info(t: Tensor) -> dict[str, Any]:
    info: dict[str, Any] = {"name": t.name, "shape": list(t.shape), "dtype": t.dtype}
    if t.quant is not None:
        info["scale"] = float(t.quant.s) if not t.quant.per_channel else [float(s) for s in t.quant.scale]
        info["zero_point"] = t.quant.zp
    else:
        info["scale"] = None
        info["zero_point"] = None
    return info


def summary(g: Graph, engine: bool = False) -> dict[str, Any]:
    """The figures `inspect` prints, as a JSON-ready dict. With `engine`, of the graph the
    engine runs (after its passes: PAD folded, activations fused, boundary QUANTIZE moved
    out), numbered as report.json, `profile` and `--patch SPLIT:GRID` number it."""
    from mcuforge.engine import compile_graph

    name = g.name
    engine_index: dict[str, int] | None = None
    if engine:
        g = compile_graph(g).graph
    else:
        try:  # the engine's number for each operator of the file (None: folded into a neighbour)
            ran = compile_graph(g).graph
            engine_index = {node.outputs[0]: i for i, node in enumerate(ran.nodes)}
        except MCUForgeError:
            pass  # a model the engine refuses is still described; `compile` names the reason
    nodes = []
    for i, node in enumerate(g.nodes):
        nodes.append(
            {
                "index": i,
                "op": str(node.op),
                "name": node.name or node.outputs[0],
                "inputs": [
                    list(g.tensors[n].shape) for n in node.inputs if n is not None and not g.tensors[n].is_const
                ],
                "outputs": [list(g.tensors[n].shape) for n in node.outputs],
                "macs": node_macs(g, node),
                "weight_bytes": node_weight_bytes(g, node),
            }
        )
        if engine_index is not None:
            nodes[-1]["engine_index"] = engine_index.get(node.outputs[0])
    return {
        "model": name,
        "numbering": "engine" if engine else "file",
        "inputs": [_tensor_info(g.tensors[n]) for n in g.inputs],
        "outputs": [_tensor_info(g.tensors[n]) for n in g.outputs],
        "nodes": nodes,
        "macs": total_macs(g),
        "weight_bytes": total_weight_bytes(g),
        "state_bytes": g.state_bytes(),  # variable tensors: state kept from one run to the next
        "ops": g.op_counts(),
    }


def _shape(s: list[int]) -> str:
    return "x".join(str(d) for d in s) if s else "scalar"


def format_summary(info: dict[str, Any]) -> str:
    from mcuforge.report.report import short_name

    lines = [f"model {info['model']}"]
    if info.get("numbering") == "engine":
        lines[0] += " as the engine runs it (nodes numbered as in report.json, profile and --patch SPLIT:GRID)"
    for kind in ("inputs", "outputs"):
        for i, t in enumerate(info[kind]):
            q = "" if t["scale"] is None else f"  scale {t['scale']:.6g}  zero point {t['zero_point']}"
            lines.append(f"{kind[:-1]:6} {i}: {_shape(t['shape']):>14} {t['dtype']:8}{q}")
    lines.append("")
    mapped = any("engine_index" in n for n in info["nodes"])
    eng = f" {'engine':>6}" if mapped else ""
    lines.append(f"{'#':>4}{eng}  {'op':24} {'input':>16} {'output':>16} {'MACs':>12} {'weight B':>10}  name")
    for n in info["nodes"]:
        ins = ",".join(_shape(s) for s in n["inputs"]) or "-"
        outs = ",".join(_shape(s) for s in n["outputs"])
        e = (" " + f"{'-' if n.get('engine_index') is None else n['engine_index']:>6}") if mapped else ""
        lines.append(
            f"{n['index']:>4}{e}  {n['op']:24} {ins:>16} {outs:>16} {n['macs']:>12,} {n['weight_bytes']:>10,}  {short_name(n['name'] or '')}"
        )
    lines.append("")
    ops = ", ".join(f"{k} {v}" for k, v in sorted(info["ops"].items()))
    lines.append(f"total: {len(info['nodes'])} nodes, {info['macs']:,} MACs, {info['weight_bytes']:,} weight bytes")
    lines.append(f"ops: {ops}")
    if info.get("state_bytes"):
        lines.append(f"state: {info['state_bytes']:,} B of variable tensors kept from one run to the next (in the arena)")
    if mapped:
        lines.append(
            "engine: the node's number in report.json, profile and --patch SPLIT:GRID (inspect --engine lists them); "
            "-: folded into a neighbour (a PAD into its convolution, an activation fused, a boundary QUANTIZE or DEQUANTIZE moved out)"
        )
    return "\n".join(lines)
