"""A design's cost report, and the page that shows it (``Report.to_html``).

``Design.report`` returns a ``Report``: a ``dict`` of the design's figures (every use of
a dict works, ``json.dumps`` included) that also writes itself as one self-contained
HTML page: the figures, the interface, a table and a bar chart of the layers, a
timeline of one sample through the pipeline (predicted by the timing model, and as
GHDL measured it where the report was made with ``timeline=True``), and the design
space of the parallelism knob (``analysis.design_space``). The charts are drawn with
matplotlib (``pip install 'elasticai.creator[report]'``) as inline SVG, text as
paths: the page needs no network, no script and no font.
"""

from __future__ import annotations

import html
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from elasticai.creator.analysis.design_space import Point
    from elasticai.creator.design import Design
    from elasticai.creator.ir.graph import Graph

__all__ = ["Report", "measured_spans", "PAGE_STYLE", "escape", "embedded_figure"]

#: Resource keys of the charts and tables, with their labels and colours.
RESOURCES = {
    "lut": ("LUT", "#4c72b0"),
    "lutram": ("LUTRAM", "#64b5cd"),
    "ff": ("FF", "#55a868"),
    "dsp": ("DSP", "#c44e52"),
    "bram": ("BRAM18", "#8172b2"),
    "carry": ("CARRY4", "#ccb974"),
}
_LAYER_COLUMNS = (
    ("latency_cycles", "latency"),
    ("initiation_interval", "cycles / sample"),
    *((key, label) for key, (label, _) in RESOURCES.items()),
    ("fifo_bits", "FIFO bits"),
)
_PREDICTED, _MEASURED, _THIS = "#9db4d6", "#2b5797", "#d62728"


def _absorbed(report: Mapping[str, Any]) -> str:
    """ ", registers in 4 multipliers and 3 block RAMs": where the Fmax flow moved them."""
    moved = report.get("fmax_absorbed") or {}
    mults, rams = int(moved.get("mult_outputs", 0)), int(moved.get("ram_outputs", 0))
    parts = [
        f"{n} {kind}{'s' if n != 1 else ''}"
        for n, kind in ((mults, "multiplier"), (rams, "block RAM"))
        if n
    ]
    return f", registers in {' and '.join(parts)}" if parts else ""


def _seeds(report: Mapping[str, Any]) -> str:
    """ "median of 3 seeds, 139-156 MHz; " where several nextpnr seeds were placed."""
    by_seed = [float(v) for v in (report.get("fmax_mhz_by_seed") or {}).values()]
    if len(by_seed) < 2:
        return ""
    low, high = _number(min(by_seed)), _number(max(by_seed))
    return f"median of {len(by_seed)} seeds, {low}-{high} MHz; "


def measured_spans(
    graph: Graph, moved: Mapping[str, Sequence[int]]
) -> tuple[dict[str, tuple[int, int]], dict[str, list[int]]]:
    """What each node did for the first sample in a simulation, from the handshakes of
    its instance's ports (``sim.activity.handshakes`` of the testbench's ``dut``): the
    cycle it took its first input beat and the cycle its last output beat left, and
    when each of its output beats left; counted from the design's first input beat.

    Every node is one instance named after it (``vhdl.streams.instance``), reading at
    ports ``s_axis*`` and writing at ``m_axis``; a sample has as many output beats as the
    timing model gives it. A node whose beats are not all in ``moved`` is left out."""
    from elasticai.creator.analysis.timing import predict_timing
    from elasticai.creator.vhdl.lower import top_streams

    source, _ = top_streams(graph)
    first = moved.get(source.valid.removesuffix("_tvalid"), [])
    if not first:
        return {}, {}
    origin = first[0]
    timing = predict_timing(graph)
    spans: dict[str, tuple[int, int]] = {}
    beats: dict[str, list[int]] = {}
    for node in graph.nodes:
        scope = node.name.lower()
        taken = [c[0] for k, c in moved.items() if k.startswith(f"{scope}.s_axis") and c]
        out = moved.get(f"{scope}.m_axis", [])
        count = len(timing.arrivals[node.name])
        if not taken or len(out) < count:
            continue
        beats[node.name] = [int(c - origin) for c in out[:count]]
        spans[node.name] = (int(min(taken) - origin), beats[node.name][-1])
    return spans, beats


class Report(dict[str, Any]):
    """The cost report of a design (``Design.report`` describes the keys): a ``dict``
    that also writes itself as a page, ``to_html``. ``design`` is the design it
    describes (``None`` for a report read back from JSON: the page then leaves out
    what it needs the design for, the predicted timeline and the design space)."""

    def __init__(self, data: Mapping[str, Any] | None = None, *, design: Design | None = None):
        super().__init__(data or {})
        self.design = design

    def to_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as one self-contained HTML page to ``path``; return it."""
        try:
            import matplotlib
        except ImportError as error:
            raise ImportError(
                "Report.to_html draws its charts with matplotlib, which is not installed: "
                "pip install 'elasticai.creator[report]'"
            ) from error
        with matplotlib.rc_context(
            {"svg.fonttype": "path", "svg.hashsalt": "elasticai.creator", "font.size": 9}
        ):
            page = _page(self)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page, encoding="utf-8")
        return target


# --- the page --------------------------------------------------------------------------

PAGE_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c2430;
       margin: 0 auto; max-width: 1120px; padding: 24px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 18px; margin: 34px 0 10px; border-bottom: 1px solid #d8dde6; padding-bottom: 4px; }
p.note, .sub { color: #5b6573; font-size: 13px; margin: 6px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { border: 1px solid #d8dde6; border-radius: 6px; padding: 8px 12px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { font-size: 12px; color: #5b6573; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e6e9ef; text-align: right; }
th { background: #f3f5f8; font-weight: 600; }
td.l, th.l { text-align: left; }
tr.total td { font-weight: 600; border-top: 2px solid #c5ccd8; }
tr.this td { background: #fdecea; font-weight: 600; }
figure { margin: 8px 0; }
svg { max-width: 100%; height: auto; }
"""


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(value)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str] = ()) -> str:
    """An HTML table: columns of text left-aligned, of numbers right-aligned; ``classes``
    per row."""
    text = [any(isinstance(row[i], str) and row[i] for row in rows) for i in range(len(head))]
    text[0] = True
    cells = "".join(
        f'<th class="{"l" if text[i] else ""}">{escape(h)}</th>' for i, h in enumerate(head)
    )
    body = []
    for k, row in enumerate(rows):
        tds = "".join(
            f'<td class="l">{escape(v)}</td>' if text[i] else f"<td>{_number(v)}</td>"
            for i, v in enumerate(row)
        )
        cls = classes[k] if k < len(classes) else ""
        body.append(f'<tr class="{cls}">{tds}</tr>')
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _page(report: Report) -> str:
    name = report.design.name if report.design is not None else "design"
    sections = [
        f"<h1>{escape(name)}</h1>",
        '<p class="sub">cost report by elasticai.creator</p>',
        "<h2>Figures</h2>",
        _figures(report),
        "<h2>Interface</h2>",
        _interface(report),
        "<h2>Layers</h2>",
        _layers(report),
        "<h2>Resources per layer</h2>",
        embedded_figure(_resource_chart(report), "resources"),
        "<h2>One sample through the pipeline</h2>",
        _timeline(report),
        "<h2>Design space of the parallelism knob</h2>",
        _space(report),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(name)}: cost report</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


def _card(value: str, label: str) -> str:
    return f'<div class="card"><div class="v">{value}</div><div class="k">{label}</div></div>'


def _figures(report: Report) -> str:
    yosys = report.get("resources_from", "yosys") == "yosys"
    cards = [
        _card(
            _number(report.get(key)),
            f"{label}, measured in GHDL (predicted {_number(report.get('predicted_' + key))})",
        )
        for key, label in (
            ("latency_cycles", "latency (cycles)"),
            ("initiation_interval", "cycles / sample"),
        )
        if key in report
    ]
    if "fmax_mhz" in report:
        seconds = float(report.get("fmax_seconds", 0.0))
        cards.append(
            _card(
                f"{_number(float(report['fmax_mhz']))} MHz",
                f"Fmax, nextpnr-ecp5 on an ECP5-85k "
                f"({_seeds(report)}{_number(seconds)} s{_absorbed(report)})",
            )
        )
    cards += [
        _card(_number(report[k]), label) for k, (label, _) in RESOURCES.items() if k in report
    ]
    if yosys and "logic_depth" in report:
        cards.append(_card(_number(report["logic_depth"]), "logic depth (LUTs)"))
    if "fifo_bits" in report:
        cards.append(_card(_number(report["fifo_bits"]), "skip-path FIFO bits"))
    if yosys:
        seconds = float(report.get("synthesis_seconds", 0.0))
        origin = (
            "Resources from GHDL synth + Yosys synth_xilinx (7-series), "
            f"{_number(seconds)} s of synthesis."
        )
    else:
        origin = "Resources from the analytic estimate (no synthesis)."
    return f'<div class="cards">{"".join(cards)}</div><p class="note">{origin}</p>'


def _interface(report: Report) -> str:
    rows = []
    for end in ("input", "output"):
        info = report.get(end)
        if not isinstance(info, Mapping):
            continue
        rows.append(
            (
                end,
                str(info.get("format", "")),
                " x ".join(map(str, info.get("shape", []))),
                " x ".join(map(str, info.get("stream_shape", []))),
                info.get("lanes", ""),
                info.get("beats", ""),
            )
        )
    if not rows:
        return '<p class="note">The report has no interface data.</p>'
    head = ("stream", "format", "shape (model)", "shape (stream)", "elements / beat", "beats")
    return _table(head, rows) + (
        '<p class="note">Q<i>t</i>.<i>f</i>: <i>t</i>-bit two\'s complement, value = '
        "integer / 2<sup><i>f</i></sup>. A map streams channels last.</p>"
    )


def _layers(report: Report) -> str:
    layers: Mapping[str, Mapping[str, Any]] = report.get("layers", {})
    head = ["layer", "kind", "source", *(label for _, label in _LAYER_COLUMNS)]
    rows = [
        (name, str(layer.get("kind", "")), str(layer.get("source", "")))
        + tuple(layer.get(key, "") for key, _ in _LAYER_COLUMNS)
        for name, layer in layers.items()
    ]
    rows.append(
        ("total", "", "", report.get("latency_cycles", ""), report.get("initiation_interval", ""))
        + tuple(report.get(key, "") for key, _ in _LAYER_COLUMNS[2:])
    )
    return _table(head, rows, [""] * len(layers) + ["total"]) + (
        '<p class="note">latency: first input beat to last output beat of the layer alone '
        "(timing model); cycles / sample: its share of the initiation interval.</p>"
    )


# --- charts ----------------------------------------------------------------------------


def _svg(fig: Figure, prefix: str) -> str:
    """``fig`` as an ``<svg>`` element for inline use: no XML prolog, no metadata, no
    namespace URLs (HTML gives inline SVG its namespace), ids made unique with ``prefix``."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = re.sub(r"url\(#", f"url(#{prefix}-", text)
    return re.sub(r'href="#', f'href="#{prefix}-', text)


def embedded_figure(fig: Figure | None, prefix: str, caption: str = "") -> str:
    """A chart and its caption; ``prefix`` keeps its ids apart from the other charts'."""
    if fig is None:
        return f'<p class="note">{caption}</p>'
    svg = _svg(fig, prefix)
    note = f'<p class="note">{caption}</p>' if caption else ""
    return f"<figure>{svg}</figure>{note}"


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _resource_chart(report: Report) -> Figure | None:
    layers: Mapping[str, Mapping[str, Any]] = report.get("layers", {})
    if not layers:
        return None
    keys = [k for k in RESOURCES if k in ("lut", "ff") or any(v.get(k) for v in layers.values())]
    from matplotlib.ticker import MaxNLocator

    names = list(layers)
    fig = _new_figure(10.5, 0.9 + 0.32 * len(names))
    axes = fig.subplots(1, len(keys), sharey=True, squeeze=False)[0]
    for ax, key in zip(axes, keys, strict=True):
        label, colour = RESOURCES[key]
        values = [int(layers[n].get(key, 0) or 0) for n in names]
        bars = ax.barh(range(len(names)), values, color=colour, height=0.7)
        ax.bar_label(bars, padding=2, fontsize=7)
        ax.set_title(label)
        ax.set_xlim(0, max(values + [1]) * 1.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    return fig


def _timeline(report: Report) -> str:
    data = report.get("timeline")
    if data is None and report.design is not None:
        from elasticai.creator.analysis.timing import busy_spans

        data = {"predicted": busy_spans(report.design.graph)}
    if not data:
        return '<p class="note">No timeline: the report was read without its design.</p>'
    measured = data.get("measured", {})
    if measured:
        caption = (
            "Each layer from its first input beat to its last output beat of the first "
            "sample, no stalls: predicted by the timing model (light) and measured in GHDL "
            "from the handshakes of its streams (dark; ticks: its output beats). Where maps "
            "stream, the model leaves out the backpressure of a busy layer on the one before "
            "it: there a layer may take longer than predicted."
        )
    else:
        caption = (
            "Each layer from its first input beat to its last output beat of the first "
            "sample, no stalls, as the timing model predicts it. Design.report(timeline=True) "
            "(or elasticai-creator report --html) adds what GHDL measures."
        )
    return embedded_figure(_timeline_chart(data), "timeline", caption)


def _timeline_chart(data: Mapping[str, Any]) -> Figure:
    predicted: Mapping[str, Sequence[int]] = data.get("predicted", {})
    measured: Mapping[str, Sequence[int]] = data.get("measured", {})
    ticks: Mapping[str, Sequence[int]] = data.get("output_beats", {})
    names = list(dict.fromkeys([*predicted, *measured]))
    fig = _new_figure(10.5, 1.1 + 0.42 * len(names))
    ax = fig.subplots()
    half = 0.36 if measured else 0.6
    for row, name in enumerate(names):
        if name in predicted:
            start, end = predicted[name]
            offset = -half / 2 if measured else 0.0
            ax.broken_barh(
                [(start, end - start + 1)],
                (row + offset - half / 2, half),
                facecolors=_PREDICTED,
                edgecolors="#5f7fb0",
                linewidth=0.6,
            )
        if name in measured:
            start, end = measured[name]
            ax.broken_barh(
                [(start, end - start + 1)], (row, half), facecolors=_MEASURED, edgecolors="none"
            )
            beats = [c + 0.5 for c in ticks.get(name, [])]
            ax.plot(beats, [row + half / 2] * len(beats), "|", color="white", ms=6, mew=0.8)
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("cycles from the sample's first input beat")
    ax.grid(axis="x", color="#e6e9ef")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=_PREDICTED, edgecolor="#5f7fb0", label="predicted")]
    if measured:
        handles.append(Patch(facecolor=_MEASURED, label="measured (GHDL)"))
    fig.legend(handles=handles, loc="outside upper right", ncols=2, fontsize=8, frameon=False)
    return fig


def _space(report: Report) -> str:
    if report.design is None:
        return '<p class="note">No design space: the report was read without its design.</p>'
    from elasticai.creator.analysis.design_space import design_space

    ii = int(report.get("predicted_initiation_interval", 0)) or None
    points = design_space(report.design.graph, include=[ii] if ii else [])
    own = report.get("estimate", {})
    caption = (
        "Each point: the design planned for that target initiation interval "
        "(create_design(..., target_ii=N); from parallelism='full' to serial), its cost "
        "from the analytic estimate. The star is this design (its estimate); lanes fixed "
        "per layer in the model are planned freely here."
    )
    rows = [
        (
            p.target,
            p.initiation_interval,
            p.latency_cycles,
            p.multipliers,
            *(p.resources.get(k, 0) for k in ("lut", "ff", "dsp", "bram")),
        )
        for p in points
    ]
    classes = ["this" if p.initiation_interval == ii else "" for p in points]
    head = ("target", "cycles / sample", "latency", "multipliers", "LUT", "FF", "DSP", "BRAM18")
    chart = _space_chart(points, ii, own, report)
    return embedded_figure(chart, "space", caption) + _table(head, rows, classes)


def _space_chart(
    points: Sequence[Point], ii: int | None, own: Mapping[str, int], report: Report
) -> Figure:
    fig = _new_figure(10.5, 3.6)
    axes = fig.subplots(1, 2)
    xs = [p.initiation_interval for p in points]
    for ax, key in zip(axes, ("lut", "dsp"), strict=True):
        label, colour = RESOURCES[key]
        ys = [p.resources.get(key, 0) for p in points]
        ax.plot(xs, ys, "o-", color=colour, markersize=4, linewidth=1.2, label="analytic estimate")
        if ii is not None and key in own:
            ax.plot([ii], [own[key]], "*", color=_THIS, markersize=14, label="this design")
            if report.get("resources_from") == "yosys" and key in report:
                ax.plot(
                    [ii], [report[key]], "D", mfc="none", color=_THIS, label="this design (Yosys)"
                )
        _scales(ax, xs, ys)
        ax.set_xlabel("initiation interval (cycles / sample)")
        ax.set_ylabel(label)
        ax.grid(color="#e6e9ef")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(fontsize=8, frameon=False)
    return fig


def _scales(ax: Axes, xs: Sequence[int], ys: Sequence[int]) -> None:
    """Log scales where the values span decades (symmetric-log from 0 where zero is among
    them), ticks as plain numbers."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    plain = FuncFormatter(lambda v, _: f"{v:g}")
    if max(xs) > 4 * max(1, min(xs)):
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(plain)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if max(ys, default=0) > 20 * max(1, min(ys, default=0)):
        if min(ys) > 0:
            ax.set_yscale("log")
        else:
            ax.set_yscale("symlog", linthresh=1)
            ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(plain)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
