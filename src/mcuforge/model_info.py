"""`mcuforge inspect`: a model's boundary tensors, per-node table and totals."""

from __future__ import annotations

from typing import Any

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


def summary(g: Graph) -> dict[str, Any]:
    """The figures `inspect` prints, as a JSON-ready dict."""
    nodes = []
    for i, node in enumerate(g.nodes):
        nodes.append(
            {
                "index": i,
                "op": str(node.op),
                "name": node.name,
                "inputs": [list(g.tensors[n].shape) for n in node.inputs if n is not None and not g.tensors[n].is_const],
                "outputs": [list(g.tensors[n].shape) for n in node.outputs],
                "macs": node_macs(g, node),
                "weight_bytes": node_weight_bytes(g, node),
            }
        )
    return {
        "model": g.name,
        "inputs": [_tensor_info(g.tensors[n]) for n in g.inputs],
        "outputs": [_tensor_info(g.tensors[n]) for n in g.outputs],
        "nodes": nodes,
        "macs": total_macs(g),
        "weight_bytes": total_weight_bytes(g),
        "ops": g.op_counts(),
    }


def _shape(s: list[int]) -> str:
    return "x".join(str(d) for d in s) if s else "scalar"


def format_summary(info: dict[str, Any]) -> str:
    lines = [f"model {info['model']}"]
    for kind in ("inputs", "outputs"):
        for i, t in enumerate(info[kind]):
            q = "" if t["scale"] is None else f"  scale {t['scale']:.6g}  zero point {t['zero_point']}"
            lines.append(f"{kind[:-1]:6} {i}: {_shape(t['shape']):>14} {t['dtype']:8}{q}")
    lines.append("")
    lines.append(f"{'#':>4}  {'op':24} {'input':>16} {'output':>16} {'MACs':>12} {'weight B':>10}")
    for n in info["nodes"]:
        ins = ",".join(_shape(s) for s in n["inputs"]) or "-"
        outs = ",".join(_shape(s) for s in n["outputs"])
        lines.append(f"{n['index']:>4}  {n['op']:24} {ins:>16} {outs:>16} {n['macs']:>12,} {n['weight_bytes']:>10,}")
    lines.append("")
    ops = ", ".join(f"{k} {v}" for k, v in sorted(info["ops"].items()))
    lines.append(f"total: {len(info['nodes'])} nodes, {info['macs']:,} MACs, {info['weight_bytes']:,} weight bytes")
    lines.append(f"ops: {ops}")
    return "\n".join(lines)
