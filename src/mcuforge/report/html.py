"""A report.md as one self-contained HTML page (report.html): headings, paragraphs,
tables, and the charts it links inlined as PNG data."""

from __future__ import annotations

import base64
import html
from pathlib import Path


def report_html(md: str, folder: Path, title: str) -> str:
    """report.md as a self-contained page (images inlined)."""
    body = []
    for line in md.splitlines():
        if line.startswith("!["):
            name = line[line.index("(") + 1 : -1]
            data = base64.b64encode((folder / name).read_bytes()).decode()
            body.append(f'<p><img alt="{html.escape(name)}" src="data:image/png;base64,{data}"></p>')
        elif line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("|---"):
            continue
        elif line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    out, in_table = [], False
    for b in body:
        if b.startswith("<tr>") and not in_table:
            out.append("<table>")
            in_table = True
        elif not b.startswith("<tr>") and in_table:
            out.append("</table>")
            in_table = False
        out.append(b)
    if in_table:
        out.append("</table>")
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto}td{border:1px solid #ccc;padding:2px 8px}table{border-collapse:collapse}"
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{style}</style></head><body>{''.join(out)}</body></html>\n"
