"""IR graph -> VHDL files: one instance of a library entity per node, joined by streams.

The backend decides nothing: every width, shift and lane count comes settled
from the passes. Per-op lowering lives in the ``LOWER`` table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from elasticai.creator.arithmetic import signed_width
from elasticai.creator.ir.graph import (
    Graph,
    LinearParams,
    Node,
    Op,
    PiecewiseParams,
    PointwiseParams,
    ReduceParams,
    WindowParams,
)
from elasticai.creator.vhdl.syntax import (
    IEEE_CONTEXT,
    Architecture,
    Assign,
    Constant,
    DesignFile,
    Entity,
    Instance,
    Package,
    Port,
    Signal,
    slv_literal,
)

__all__ = ["Stream", "lower", "top_streams", "LIBRARY_FILES", "library_files"]

#: Hand-written library files every design uses, in analysis order.
LIBRARY_FILES = (
    "ec_pkg.vhd",
    "ec_linear.vhd",
    "ec_linear_unrolled.vhd",
    "ec_pointwise.vhd",
    "ec_window.vhd",
    "ec_reduce.vhd",
    "ec_piecewise.vhd",
)

#: Library files only designs with these operations use.
_OPTIONAL_FILES = {
    Op.WINDOW: "ec_window.vhd",
    Op.REDUCE: "ec_reduce.vhd",
    Op.PIECEWISE: "ec_piecewise.vhd",
}

_BITS_PER_LINE = 256


def library_files(graph: Graph) -> tuple[str, ...]:
    """The hand-written files ``graph``'s design needs, in analysis order."""
    unused = {f for op, f in _OPTIONAL_FILES.items() if all(n.op is not op for n in graph.nodes)}
    return tuple(f for f in LIBRARY_FILES if f not in unused)


@dataclass(frozen=True)
class Stream:
    """A stream of beats of ``lanes`` elements, ``width`` bits each, named by its prefix."""

    prefix: str
    lanes: int
    width: int

    @property
    def bits(self) -> int:
        return self.lanes * self.width

    def signal(self, part: str) -> str:
        return f"{self.prefix}_t{part}"

    def declarations(self) -> list[Signal]:
        return [Signal(self.signal("data"), _slv(self.bits))] + [
            Signal(self.signal(p), "std_logic") for p in ("valid", "ready", "last")
        ]


def _slv(bits: int) -> str:
    return f"std_logic_vector({bits - 1} downto 0)"


def _lanes_out(node: Node) -> int:
    p = node.params
    return p.p_out if isinstance(p, LinearParams) else p.lanes


def top_streams(graph: Graph) -> tuple[Stream, Stream]:
    """The design's input and output streams (port prefixes ``s_axis`` and ``m_axis``)."""
    out_lanes = _lanes_out(graph.nodes[-1]) if graph.nodes else graph.input_lanes
    return (
        Stream("s_axis", graph.input_lanes, graph.input_type.dtype.total_bits),
        Stream("m_axis", out_lanes, graph.output_type.dtype.total_bits),
    )


def _stream_ports(source: Stream, sink: Stream) -> list[tuple[str, str]]:
    """Port map of an entity reading ``source`` and writing ``sink``."""
    ports = [("clk", "clk"), ("rst", "rst")]
    for local, stream in (("s_axis", source), ("m_axis", sink)):
        ports += [(f"{local}_t{p}", stream.signal(p)) for p in ("data", "valid", "ready", "last")]
    return ports


def _instance(
    node: Node, entity: str, generics: Mapping[str, object], source: Stream, sink: Stream
) -> Instance:
    """``node`` as an instance of the library entity ``entity``, reading ``source``."""
    generic_map = [(k, str(v)) for k, v in generics.items()]
    return Instance(node.name, entity, generic_map, _stream_ports(source, sink))


def _vector_literal(values: np.ndarray, width: int) -> str:
    """Element ``k`` of ``values`` in bits ``k*width ..`` (element 0 lowest), in lines."""
    mask = (1 << width) - 1
    bits = "".join(format(int(v) & mask, f"0{width}b") for v in reversed(values.ravel().tolist()))
    chunks = [bits[i : i + _BITS_PER_LINE] for i in range(0, len(bits), _BITS_PER_LINE)]
    return " &\n    ".join(f'"{c}"' for c in chunks)


def _signed_generic(value: int) -> str:
    return slv_literal(value, signed_width(value, value))


def _lower_linear(node: Node, source: Stream, sink: Stream) -> tuple[list[Constant], Instance]:
    p = node.params
    assert isinstance(p, LinearParams)
    out_features, in_features = p.weight.shape
    x_type, y_type = node.input_type.dtype, node.output_type.dtype
    b_width = p.b_type.total_bits if p.b_type is not None else 1
    biases = p.bias if p.bias is not None else np.zeros(1, dtype=np.int64)
    prefix = node.name.upper()
    constants = [
        Constant(
            f"{prefix}_WEIGHTS",
            _slv(p.weight.size * p.w_type.total_bits),
            _vector_literal(p.weight, p.w_type.total_bits),
        ),
        Constant(f"{prefix}_BIASES", _slv(biases.size * b_width), _vector_literal(biases, b_width)),
    ]
    low = y_type.min_int if p.low is None else p.low
    high = y_type.max_int if p.high is None else p.high
    generics: dict[str, object] = {
        "IN_FEATURES": in_features,
        "OUT_FEATURES": out_features,
        "X_WIDTH": x_type.total_bits,
        "W_WIDTH": p.w_type.total_bits,
        "B_WIDTH": b_width,
        "Y_WIDTH": y_type.total_bits,
        "ACC_WIDTH": p.acc_bits,
        "P_IN": p.p_in,
        "P_OUT": p.p_out,
        "HAS_BIAS": "true" if p.bias is not None else "false",
        "BIAS_SHIFT": p.bias_shift(x_type),
        "OUT_SHIFT": p.acc_frac_bits(x_type) - y_type.frac_bits,
        "ROUNDING": p.rounding.code,
        "OVERFLOW": p.overflow.code,
        "WEIGHTS": f"{prefix}_WEIGHTS",
        "BIASES": f"{prefix}_BIASES",
        "OUT_LO": _signed_generic(low),
        "OUT_HI": _signed_generic(high),
    }
    rows = node.input_type.size // in_features
    entity = "ec_linear"
    if rows > 1:
        generics["ROWS"] = rows
    if p.stages:
        generics.pop("ROWS", None)  # every beat is a row; tlast passes through
        entity = "ec_linear_unrolled"
        del generics["P_IN"], generics["P_OUT"]
        generics["STAGES"] = p.stages
    return constants, _instance(node, entity, generics, source, sink)


def _lower_pointwise(node: Node, source: Stream, sink: Stream) -> tuple[list[Constant], Instance]:
    p = node.params
    assert isinstance(p, PointwiseParams)
    generics = {
        "LANES": str(p.lanes),
        "X_WIDTH": str(node.input_type.dtype.total_bits),
        "Y_WIDTH": str(node.output_type.dtype.total_bits),
        "MUL": _signed_generic(p.mul),
        "ADD": _signed_generic(p.add),
        "SHIFT": str(p.shift),
        "ROUNDING": str(p.rounding.code),
        "OVERFLOW": str(p.overflow.code),
        "LO": _signed_generic(p.low),
        "HI": _signed_generic(p.high),
        "PAD_LANES": str(-node.output_type.size % p.lanes),
    }
    return [], _instance(node, "ec_pointwise", generics, source, sink)


def _lower_window(node: Node, source: Stream, sink: Stream) -> tuple[list[Constant], Instance]:
    p = node.params
    assert isinstance(p, WindowParams)
    width = node.input_type.dtype.total_bits
    generics = {
        "X_WIDTH": width,
        "CHANNELS": p.channels,
        "IN_H": p.in_size[0],
        "IN_W": p.in_size[1],
        "OUT_H": p.out_size[0],
        "OUT_W": p.out_size[1],
        "K_H": p.kernel[0],
        "K_W": p.kernel[1],
        "STRIDE_H": p.stride[0],
        "STRIDE_W": p.stride[1],
        "DIL_H": p.dilation[0],
        "DIL_W": p.dilation[1],
        "PAD_T": p.padding[0],
        "PAD_L": p.padding[1],
        "PAD_VALUE": slv_literal(p.pad_value, width),
        "IN_LANES": source.lanes,
        "OUT_LANES": p.lanes,
        "MEM_WORDS": p.memory_words(source.lanes),  # 0: double buffer, else a ring
    }
    return [], _instance(node, "ec_window", generics, source, sink)


def _lower_reduce(node: Node, source: Stream, sink: Stream) -> tuple[list[Constant], Instance]:
    p = node.params
    assert isinstance(p, ReduceParams)
    generics = {
        "X_WIDTH": node.input_type.dtype.total_bits,
        "Y_WIDTH": node.output_type.dtype.total_bits,
        "CHANNELS": p.channels,
        "TAPS": p.taps,
        "LANES": p.lanes,
        "KIND": 0 if p.kind == "max" else 1,
    }
    return [], _instance(node, "ec_reduce", generics, source, sink)


def _lower_piecewise(node: Node, source: Stream, sink: Stream) -> tuple[list[Constant], Instance]:
    p = node.params
    assert isinstance(p, PiecewiseParams)
    x_width = node.input_type.dtype.total_bits
    widths = {
        key: signed_width(min(values), max(values))
        for key, values in (("B", p.bases), ("M", p.muls), ("A", p.adds))
    }
    prefix = node.name.upper()
    constants = [
        Constant(
            f"{prefix}_{name}",
            _slv(len(values) * width),
            _vector_literal(np.array(values, dtype=object), width),
        )
        for name, values, width in (
            ("BREAKS", p.breaks, x_width),
            ("BASES", p.bases, widths["B"]),
            ("MULS", p.muls, widths["M"]),
            ("ADDS", p.adds, widths["A"]),
        )
    ]
    generics = {
        "LANES": p.lanes,
        "X_WIDTH": x_width,
        "Y_WIDTH": node.output_type.dtype.total_bits,
        "SEGMENTS": len(p.breaks),
        "B_WIDTH": widths["B"],
        "M_WIDTH": widths["M"],
        "A_WIDTH": widths["A"],
        "BREAKS": f"{prefix}_BREAKS",
        "BASES": f"{prefix}_BASES",
        "MULS": f"{prefix}_MULS",
        "ADDS": f"{prefix}_ADDS",
        "SHIFT": p.shift,
        "ROUNDING": p.rounding.code,
        "OVERFLOW": p.overflow.code,
        "PAD_LANES": -node.output_type.size % p.lanes,
    }
    return constants, _instance(node, "ec_piecewise", generics, source, sink)


LOWER: dict[Op, Callable[[Node, Stream, Stream], tuple[list[Constant], Instance]]] = {
    Op.LINEAR: _lower_linear,
    Op.POINTWISE: _lower_pointwise,
    Op.WINDOW: _lower_window,
    Op.REDUCE: _lower_reduce,
    Op.PIECEWISE: _lower_piecewise,
}


def top_entity(graph: Graph) -> Entity:
    source, sink = top_streams(graph)
    ports = [Port("clk", "in", "std_logic"), Port("rst", "in", "std_logic")]
    for stream, into, out in ((source, "in", "out"), (sink, "out", "in")):
        ports += [
            Port(stream.signal("data"), into, _slv(stream.bits)),
            Port(stream.signal("valid"), into, "std_logic"),
            Port(stream.signal("ready"), out, "std_logic"),
            Port(stream.signal("last"), into, "std_logic"),
        ]
    return Entity(graph.name, ports=ports)


def lower(graph: Graph) -> dict[str, str]:
    """The generated files of ``graph``: ``{file name: VHDL text}``."""
    source, sink = top_streams(graph)
    package = f"{graph.name}_pkg"
    constants: list[Constant] = []
    signals: list[Signal] = []
    statements: list[Instance | Assign] = []
    current = source
    for i, node in enumerate(graph.nodes):
        last = i == len(graph.nodes) - 1
        width = node.output_type.dtype.total_bits
        nxt = sink if last else Stream(f"{node.name}_y", _lanes_out(node), width)
        if not last:
            signals += nxt.declarations()
        node_constants, instance = LOWER[node.op](node, current, nxt)
        constants += node_constants
        statements.append(instance)
        current = nxt
    if not graph.nodes:
        statements += [Assign(sink.signal(p), source.signal(p)) for p in ("data", "valid", "last")]
        statements.append(Assign(source.signal("ready"), sink.signal("ready")))
    header = [f"{graph.name}: generated by elasticai.creator; do not edit."]
    context = (*IEEE_CONTEXT, f"use work.{package}.all;")
    return {
        f"{package}.vhd": DesignFile([Package(package, constants)], header=header).text(),
        f"{graph.name}.vhd": DesignFile(
            [top_entity(graph), Architecture(graph.name, signals, statements)],
            context=context,
            header=header,
        ).text(),
    }
