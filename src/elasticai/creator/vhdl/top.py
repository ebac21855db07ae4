"""The design's top entity: its AXI4-Stream ports as third-party IP expects them.

Inside, every layer keeps the exact widths of its formats. At the ports each element is
a two's complement number sign-extended to a whole number of bytes (``port_width``), so
that a driver writes ``int8``/``int16``/``int32`` arrays as they are and Vivado's
interface inference accepts the port; element 0 is in the low bits. ``ec_framer`` checks
the input's ``tlast`` (a sample that ends early or runs long sets the sticky
``tlast_error`` and the design realigns on the next sample). The ports carry Xilinx's
``X_INTERFACE_INFO`` attributes (other tools ignore them), and the file's header says
everything a user of the entity needs.
"""

from __future__ import annotations

import re

from elasticai.creator.ir.graph import Graph
from elasticai.creator.ir.op import beats
from elasticai.creator.vhdl.streams import Stream, slv
from elasticai.creator.vhdl.syntax import Assign, Emittable, Entity, Instance, Port, Signal

__all__ = [
    "port_width",
    "port_attributes",
    "without_port_attributes",
    "verilog_port_attributes",
    "top_streams",
    "inner_streams",
    "top_entity",
    "shell",
    "interface_doc",
]

#: Clock and reset of every design, and the status output.
ERROR_PORT = "tlast_error"


def port_width(bits: int) -> int:
    """Bits an element of ``bits`` bits takes at the ports: a whole number of bytes.

    >>> [port_width(b) for b in (2, 8, 9, 17, 33)]
    [8, 8, 16, 24, 40]
    """
    return -(-bits // 8) * 8


def top_streams(graph: Graph) -> tuple[Stream, Stream]:
    """The design's input and output ports (prefixes ``s_axis`` and ``m_axis``), their
    elements sign-extended to whole bytes."""
    return (
        Stream.named("s_axis", graph.input_lanes, port_width(graph.input_type.dtype.total_bits)),
        Stream.named("m_axis", graph.output_lanes, port_width(graph.output_type.dtype.total_bits)),
    )


def inner_streams(graph: Graph) -> tuple[Stream, Stream]:
    """The streams of the design's input and output inside, of the exact widths."""
    return (
        Stream.named("x_in", graph.input_lanes, graph.input_type.dtype.total_bits),
        Stream.named("y_out", graph.output_lanes, graph.output_type.dtype.total_bits),
    )


def port_attributes() -> dict[str, dict[str, str]]:
    """Xilinx's interface attributes of the top's ports (``{port: {attribute: value}}``):
    Vivado's "Add Module" infers the AXI4-Stream interfaces, the clock and the
    active-high reset from them."""
    attributes = {
        "clk": {
            "X_INTERFACE_INFO": "xilinx.com:signal:clock:1.0 clk CLK",
            "X_INTERFACE_PARAMETER": "ASSOCIATED_BUSIF s_axis:m_axis, ASSOCIATED_RESET rst",
        },
        "rst": {
            "X_INTERFACE_INFO": "xilinx.com:signal:reset:1.0 rst RST",
            "X_INTERFACE_PARAMETER": "POLARITY ACTIVE_HIGH",
        },
    }
    for prefix in ("s_axis", "m_axis"):
        for part in ("data", "valid", "ready", "last"):
            attributes[f"{prefix}_t{part}"] = {
                "X_INTERFACE_INFO": f"xilinx.com:interface:axis:1.0 {prefix} T{part.upper()}"
            }
    return attributes


def _attributes() -> list[str]:
    """The attribute specifications, where VHDL puts those of ports: the entity."""
    lines = [
        "attribute X_INTERFACE_INFO : string;",
        "attribute X_INTERFACE_PARAMETER : string;",
    ]
    for port, attributes in port_attributes().items():
        for name, value in attributes.items():
            lines.append(f'attribute {name} of {port} : signal is "{value}";')
    return lines


def without_port_attributes(vhdl: str) -> str:
    """``vhdl`` without the lines of :func:`_attributes`: GHDL 2.0's ``--synth`` fails an
    internal assertion (synth-vhdl_decls.adb:224) on attribute specifications in an
    entity; synthesis reads the files without them (``verilog_port_attributes`` gives
    them back to the Verilog)."""
    return "".join(
        line
        for line in vhdl.splitlines(keepends=True)
        if not line.lstrip().startswith("attribute X_INTERFACE_")
    )


def verilog_port_attributes(verilog: str, top: str) -> str:
    """``verilog`` with Xilinx's interface attributes on the ports of module ``top``
    (``(* X_INTERFACE_INFO = "..." *) input clk``), as Vivado reads them from Verilog."""
    lines = verilog.split("\n")
    start = lines.index(f"module {top}")
    attributes = port_attributes()
    for k in range(start + 1, len(lines)):
        match = re.match(r"(\s*\(?)(input|output)(\s.*?)(\w+)([,)];?)$", lines[k])
        if match and match.group(4) in attributes:
            given = ", ".join(f'{a} = "{v}"' for a, v in attributes[match.group(4)].items())
            head, rest = match.group(1), lines[k][len(match.group(1)) :]
            lines[k] = f"{head}(* {given} *) {rest}"
        if lines[k].endswith(");"):
            break
    return "\n".join(lines)


def top_entity(graph: Graph) -> Entity:
    source, sink = top_streams(graph)
    ports = [Port("clk", "in", "std_logic"), Port("rst", "in", "std_logic")]
    zero, zeros = "'0'", "(others => '0')"
    ports += [
        Port(source.data, "in", slv(source.bits)),
        Port(source.valid, "in", "std_logic"),
        Port(source.ready, "out", "std_logic", zero),
        Port(source.last, "in", "std_logic"),
        Port(sink.data, "out", slv(sink.bits), zeros),
        Port(sink.valid, "out", "std_logic", zero),
        Port(sink.ready, "in", "std_logic"),
        Port(sink.last, "out", "std_logic", zero),
        Port(ERROR_PORT, "out", "std_logic", zero),
    ]
    return Entity(graph.name, ports=ports, declarations=_attributes())


def shell(graph: Graph) -> tuple[list[Signal], list[Emittable]]:
    """The logic between the ports and the inner streams: ``ec_framer`` on the input, the
    elements cut to their widths, the outputs sign-extended to whole bytes."""
    ports_in, ports_out = top_streams(graph)
    inner_in, inner_out = inner_streams(graph)
    framed = Stream.named("x_framed", ports_in.lanes, ports_in.width)
    signals = framed.declarations() + inner_in.declarations() + inner_out.declarations()
    beats_in = beats(graph.input_type.size, max(1, graph.input_lanes))
    ports = [("clk", "clk"), ("rst", "rst"), *ports_in.ports("s_axis"), *framed.ports("m_axis")]
    ports.append((ERROR_PORT, ERROR_PORT))
    generics = [("WIDTH", str(framed.bits)), ("BEATS", str(beats_in))]
    statements: list[Emittable] = [Instance("framer", "ec_framer", generics, ports)]
    for k in range(inner_in.lanes):  # the low bits of each element
        low, width = k * framed.width, inner_in.width
        statements.append(
            Assign(
                f"{inner_in.data}({k * width + width - 1} downto {k * width})",
                f"{framed.data}({low + width - 1} downto {low})",
            )
        )
    statements += [
        Assign(inner_in.valid, framed.valid),
        Assign(framed.ready, inner_in.ready),
        Assign(inner_in.last, framed.last),
    ]
    for k in range(inner_out.lanes):  # each element sign-extended to its bytes
        width, wide = inner_out.width, ports_out.width
        statements.append(
            Assign(
                f"{ports_out.data}({k * wide + wide - 1} downto {k * wide})",
                f"std_logic_vector(resize(signed({inner_out.data}"
                f"({k * width + width - 1} downto {k * width})), {wide}))",
            )
        )
    statements += [
        Assign(ports_out.valid, f"{inner_out.valid} and not rst"),  # low during reset
        Assign(inner_out.ready, ports_out.ready),
        Assign(ports_out.last, inner_out.last),
    ]
    return signals, statements


def interface_doc(graph: Graph, latency: int, interval: int) -> list[str]:
    """The header of the top file: what a user of the entity needs to know."""
    ports_in, ports_out = top_streams(graph)
    fmt_in, fmt_out = graph.input_type.dtype, graph.output_type.dtype
    beats_in = beats(graph.input_type.size, max(1, graph.input_lanes))
    beats_out = beats(graph.output_type.size, max(1, graph.output_lanes))

    def layout(shape: tuple[int, ...], torch_shape: tuple[int, ...]) -> str:
        if len(shape) > 1:
            return (
                f"a map of {torch_shape or shape} (channels first in the model), streamed "
                f"channels last: position by position, each position's channels in order"
            )
        return f"a vector of {shape[0]} elements in order"

    return [
        f"{graph.name}: generated by elasticai.creator; do not edit.",
        "",
        "Interface (AXI4-Stream, one sample after another):",
        "  clk: rising edge; rst: synchronous, active high. While rst is high, m_axis_tvalid",
        "    and s_axis_tready are low; after it the design is empty and takes a new sample.",
        f"  s_axis: {ports_in.lanes} element(s) of {fmt_in} ({fmt_in.total_bits}-bit two's "
        f"complement, value = integer / 2**{fmt_in.frac_bits}) per beat,",
        f"    each sign-extended to {ports_in.width} bits (element 0 in bits "
        f"{ports_in.width - 1}..0); {beats_in} beat(s) a sample, tlast on the last;",
        f"    a sample is {layout(graph.input_type.shape, graph.input.torch_shape)}.",
        f"  m_axis: {ports_out.lanes} element(s) of {fmt_out} per beat, each sign-extended to "
        f"{ports_out.width} bits; {beats_out} beat(s) a sample,",
        f"    tlast on the last; a sample is "
        f"{layout(graph.output_type.shape, graph.output.torch_shape)}.",
        "  The last beat of a sample may hold fewer elements than lanes: the rest are zero.",
        f"  {ERROR_PORT}: set (until rst) when an input sample ended early (its missing beats are",
        "    taken as zeros) or ran long (the beats up to its tlast are dropped); the design",
        "    realigns on the next sample either way.",
        f"  Latency {latency} cycles (first input beat to last output beat, no stalls); a new",
        f"  sample every {interval} cycles.",
    ]
