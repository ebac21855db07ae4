"""IR graph -> VHDL files: one instance of a library entity per node, wired by value name.

The backend decides nothing: every width, shift and lane count comes settled from the
passes, and each op lowers itself (``OpDef.lower``). This module only gives every value
a stream, splits a stream with an ``ec_fork`` where several nodes (or the design's
output) read it, and writes the top entity and its constant package.
"""

from __future__ import annotations

from elasticai.creator.ir.graph import Graph
from elasticai.creator.ops import OPS
from elasticai.creator.vhdl.streams import Stream, slv
from elasticai.creator.vhdl.syntax import (
    IEEE_CONTEXT,
    Architecture,
    Assign,
    Constant,
    DesignFile,
    Emittable,
    Instance,
    Package,
    Signal,
)
from elasticai.creator.vhdl.top import inner_streams, interface_doc, shell, top_entity, top_streams

__all__ = ["Stream", "lower", "top_streams", "LIBRARY_FILES", "library_files", "FORK_FILE"]

#: The fork that splits a stream read by several nodes.
FORK_FILE = "ec_fork.vhd"

#: What every design's top uses: the input's framer.
SHELL_FILES = ("ec_framer.vhd",)

#: Every hand-written library file, in analysis order (the package first).
LIBRARY_FILES: tuple[str, ...] = tuple(
    dict.fromkeys(
        ("ec_pkg.vhd", *SHELL_FILES, FORK_FILE, *(f for op in OPS.values() for f in op.entities))
    )
)


def library_files(graph: Graph) -> tuple[str, ...]:
    """The hand-written files ``graph``'s design needs, in analysis order."""
    used = {"ec_pkg.vhd", *SHELL_FILES, *(f for node in graph.nodes for f in node.op.entities)}
    if any(len(readers) > 1 for readers in graph.consumers().values()):
        used.add(FORK_FILE)
    return tuple(f for f in LIBRARY_FILES if f in used)


def _fork(value: str, stream: Stream, outputs: int) -> tuple[list[Signal], Instance, list[Stream]]:
    """An ``ec_fork`` for ``outputs`` readers of ``stream``: its signals, its instance and
    each reader's stream (the shared data and last, a valid and a ready of its own)."""
    valid, ready = f"{value}_fork_tvalid", f"{value}_fork_tready"
    signals = [Signal(valid, slv(outputs)), Signal(ready, slv(outputs))]
    ports = [("clk", "clk"), ("rst", "rst"), *stream.ports("s_axis")]
    ports += [
        ("m_axis_tdata", "open"),
        ("m_axis_tvalid", valid),
        ("m_axis_tready", ready),
        ("m_axis_tlast", "open"),
    ]
    generics = [("WIDTH", str(stream.bits)), ("OUTPUTS", str(outputs))]
    fork = Instance(f"{value}_fork", "ec_fork", generics, ports)
    readers = [
        Stream(
            stream.lanes, stream.width, stream.data, f"{valid}({k})", f"{ready}({k})", stream.last
        )
        for k in range(outputs)
    ]
    return signals, fork, readers


def _connect(target: Stream, source: Stream) -> list[Assign]:
    """``target`` (the design's output ports) driven by ``source``."""
    return [
        Assign(target.data, source.data),
        Assign(target.valid, source.valid),
        Assign(source.ready, target.ready),
        Assign(target.last, source.last),
    ]


def lower(graph: Graph) -> dict[str, str]:
    """The generated files of ``graph``: ``{file name: VHDL text}``."""
    from elasticai.creator.analysis.timing import predict_timing

    source, sink = inner_streams(graph)
    package = f"{graph.name}_pkg"
    readers = graph.consumers()
    constants: list[Constant] = []
    signals: list[Signal] = []
    statements: list[Emittable] = []
    inbound: dict[tuple[str, int], Stream] = {}  # what each reader reads

    def distribute(value: str, stream: Stream) -> None:
        """Hand ``value``'s stream to its readers, through a fork where there are several."""
        wanted = readers[value]
        streams = [stream]
        if len(wanted) > 1:
            fork_signals, fork, streams = _fork(value, stream, len(wanted))
            signals.extend(fork_signals)
            statements.append(fork)
        for reader, branch in zip(wanted, streams, strict=True):
            if reader[0]:
                inbound[reader] = branch
            elif branch is not sink:
                statements.extend(_connect(sink, branch))

    distribute(graph.input.name, source)
    for node in graph.nodes:
        if readers[node.name] == [("", 0)]:
            out = sink  # only the design's output reads it
        else:
            out = Stream.named(f"{node.name}_y", node.op.lanes, node.output_type.dtype.total_bits)
            signals += out.declarations()
        sources = [inbound[(node.name, k)] for k in range(len(node.inputs))]
        node_constants, instances = node.op.lower(node, sources, out)
        constants += node_constants
        statements.extend(instances)
        distribute(node.name, out)
    shell_signals, shell_statements = shell(graph)
    timing = predict_timing(graph)
    header = interface_doc(graph, timing.latency_cycles, timing.initiation_interval)
    context = (*IEEE_CONTEXT, f"use work.{package}.all;")
    architecture = Architecture(
        graph.name, shell_signals + signals, [*shell_statements, *statements]
    )
    return {
        f"{package}.vhd": DesignFile([Package(package, constants)], header=header[:1]).text(),
        f"{graph.name}.vhd": DesignFile(
            [top_entity(graph), architecture], context=context, header=header
        ).text(),
    }
