"""A sweep's rows as files: ``results.csv``, ``results.json``, ``front.png`` (the front of
accuracy against LUTs and against latency) and ``results.html`` (the chart and the table
on one self-contained page, as ``Report.to_html`` draws a design's).

The charts need matplotlib (``pip install 'elasticai.creator[report]'``); without it the
CSV and JSON files are written and a warning says the PNG and the page were skipped.
Files are written whole or not at all; nothing else in the folder is touched.
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elasticai.creator.explore.pareto import COSTS, front
from elasticai.creator.explore.point import ROW_KEYS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_results", "csv_text", "table", "front_figure"]

_COST_LABELS = {"lut": "LUT", "latency_cycles": "latency (cycles)"}


def write_results(rows: Sequence[Mapping[str, Any]], folder: str | os.PathLike[str]) -> list[Path]:
    """Write ``rows`` to ``folder`` (made where missing) as the module says; return the
    files written."""
    from elasticai.creator.file_generation.on_disk_path import OnDiskFile

    target = Path(folder)
    written = [target / "results.csv", target / "results.json"]
    OnDiskFile(written[0]).write(csv_text(rows))
    OnDiskFile(written[1]).write(json.dumps(list(rows), indent=1, default=str) + "\n")
    try:
        import matplotlib
    except ImportError:
        warnings.warn(
            f"front.png and results.html skipped in {target}: drawing them needs matplotlib "
            "(pip install 'elasticai.creator[report]'); results.csv and results.json written",
            stacklevel=2,
        )
        return written
    with matplotlib.rc_context(
        {"svg.fonttype": "path", "svg.hashsalt": "elasticai.creator", "font.size": 9}
    ):
        figure = front_figure(rows)
        png = io.BytesIO()
        figure.savefig(png, format="png", dpi=110)
        page = _page(rows, figure)
    tmp = target / f".front.png.{os.getpid()}.tmp"
    tmp.write_bytes(png.getvalue())
    os.replace(tmp, target / "front.png")
    OnDiskFile(target / "results.html").write(page)
    return [*written, target / "front.png", target / "results.html"]


def _names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row["point"]))
    return list(names)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, list | dict) else value


def csv_text(rows: Sequence[Mapping[str, Any]]) -> str:
    """One line per row: the point's parameters, then the figures (``ROW_KEYS``); empty
    cells for ``None``, lists as JSON."""
    names = _names(rows)
    keys = [k for k in ROW_KEYS if k != "point"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*names, *keys])
    for row in rows:
        point = row["point"]
        writer.writerow([_cell(point.get(n)) for n in names] + [_cell(row.get(k)) for k in keys])
    return out.getvalue()


#: The columns of ``table`` after the point's parameters: ``accuracy`` to ``exact``.
_TABLE = ROW_KEYS[ROW_KEYS.index("accuracy") : ROW_KEYS.index("pareto")]


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(_cell(value))


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as plain text: the parameters, the figures, ``*`` on the front, and the
    error of a failed point in place of its figures."""
    names = _names(rows)
    cells = [[_shown(row["point"].get(n)) for n in names] for row in rows]
    for row, line in zip(rows, cells, strict=True):
        if row.get("error") is None:
            line += [_shown(row.get(k)) for k in _TABLE]
    head = [*names, *_TABLE]
    widths = [
        max(len(line[i]) for line in [head, *cells] if i < len(line)) for i in range(len(head))
    ]

    def joined(line: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=False))

    text = [joined(head) + "  front"]
    for row, line in zip(rows, cells, strict=True):
        if row.get("error") is None:
            text.append(joined(line) + ("  *" if row.get("pareto") else ""))
        else:
            text.append(joined(line) + f"  failed: {row['error'].splitlines()[0]}")
    return "\n".join(text)


def _label(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def front_figure(rows: Sequence[Mapping[str, Any]]) -> Figure:
    """Accuracy against each of ``COSTS``: every successful point, the front's joined."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained")
    for ax, cost in zip(fig.subplots(1, 2), COSTS, strict=True):
        ok = [r for r in rows if r.get("error") is None]
        on = [r for r, f in zip(rows, front(rows, cost), strict=True) if f]
        ax.plot(
            [r[cost] for r in ok],
            [r["accuracy"] for r in ok],
            "o",
            color="#b8c2d1",
            markersize=5,
            label="point",
        )
        on.sort(key=lambda r: (r[cost], r["accuracy"]))
        xs, ys = [r[cost] for r in on], [r["accuracy"] for r in on]
        ax.plot(xs, ys, "o-", color="#2b5797", markersize=6, drawstyle="steps-post", label="front")
        for r in on:
            ax.annotate(
                _label(r["point"]),
                (r[cost], r["accuracy"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(5, 3),
            )
        values = [r[cost] for r in ok]
        if values and max(values) > 8 * max(1, min(values)):
            ax.set_xscale("log")
        ax.set_xlabel(_COST_LABELS[cost])
        ax.set_title(f"accuracy against {_COST_LABELS[cost].split()[0]}", fontsize=10)
        ax.margins(x=0.08, y=0.1)
        ax.set_ylabel("accuracy (evaluate)")
        ax.grid(color="#e6e9ef")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=8, frameon=False)
    return fig


def _html_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The rows as the text table shows their values; the front's highlighted."""
    from elasticai.creator.report import escape

    names = _names(rows)
    head = [*names, *_TABLE, "front", "resources", "seconds", "error"]
    cells = "".join(f'<th class="{"l" if h == "error" else ""}">{escape(h)}</th>' for h in head)
    body = []
    for r in rows:
        values = [r["point"].get(n) for n in names] + [r.get(k) for k in _TABLE]
        values += ["*" if r.get("pareto") else "", r.get("resources_from"), r.get("seconds")]
        tds = "".join(f"<td>{escape(_shown(v))}</td>" for v in values)
        tds += f'<td class="l">{escape(r.get("error") or "")}</td>'
        body.append(f'<tr class="{"this" if r.get("pareto") else ""}">{tds}</tr>')
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _page(rows: Sequence[Mapping[str, Any]], figure: Figure) -> str:
    from elasticai.creator.report import PAGE_STYLE, embedded_figure, escape

    table = _html_table(rows)
    failed = sum(r.get("error") is not None for r in rows)
    on = sum(bool(r.get("pareto")) for r in rows)
    caption = (
        f"{len(rows)} points, {on} on the front, {failed} failed. A point is on the front "
        "if no other is at least as accurate and as cheap (LUTs, or latency) and better "
        "in one; highlighted rows."
    )
    title = "Design-space exploration"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n"
        '<p class="sub">sweep by elasticai.creator.explore</p>\n'
        f"<h2>Front</h2>\n{embedded_figure(figure, 'front', caption)}\n"
        f"<h2>Points</h2>\n{table}\n</body>\n</html>\n"
    )
