"""The generated testbench: file-driven source -> design -> sink, with random stalls.

Optional stress: ``RESET_CYCLE > 0`` pulses rst for ``RESET_LENGTH`` cycles at that
cycle (the source starts its file over, the sink writes a ``reset`` line);
``HOLD_CYCLES > 0`` makes the sink hold tready low for that long now and then.

Simulation only. The hand-written ``ec_stream_source`` and ``ec_stream_sink``
(``library/sim``) read and write the files; this module only wires them to
the design under test.
"""

from __future__ import annotations

from elasticai.creator.ir.graph import Graph
from elasticai.creator.vhdl.lower import top_streams
from elasticai.creator.vhdl.streams import Stream
from elasticai.creator.vhdl.syntax import (
    Architecture,
    DesignFile,
    Emittable,
    Entity,
    Generic,
    Instance,
    Raw,
    Signal,
)

SIM_LIBRARY_FILES = ("sim/ec_stream_source.vhd", "sim/ec_stream_sink.vhd")

#: Generics of the testbench entity, set on the GHDL command line.
TB_GENERICS = (
    Generic("IN_FILE", "string", '"input.txt"'),
    Generic("OUT_FILE", "string", '"output.txt"'),
    Generic("IN_LOG", "string", '"input_log.txt"'),
    Generic("SAMPLES", "natural", "1"),
    Generic("STALL_IN", "natural", "0"),
    Generic("STALL_OUT", "natural", "0"),
    Generic("SEED", "positive", "1"),
    Generic("MAX_CYCLES", "natural", "1000000"),
    Generic("RESET_CYCLE", "natural", "0"),
    Generic("HOLD_CYCLES", "natural", "0"),
)

#: Rising edges of clk that a mid-run reset (``RESET_CYCLE > 0``) holds rst high.
RESET_LENGTH = 3


def testbench_name(graph: Graph) -> str:
    return f"{graph.name}_tb"


def _wires(prefix: str, stream: Stream) -> list[tuple[str, str]]:
    return stream.ports(prefix)


def testbench(graph: Graph) -> dict[str, str]:
    """``{file name: text}`` of the testbench of ``graph``."""
    source, sink = top_streams(graph)
    ins, outs = (
        Stream.named("x", source.lanes, source.width),
        Stream.named("y", sink.lanes, sink.width),
    )
    name = testbench_name(graph)
    statements: list[Emittable] = [
        Raw(
            [
                "clk <= not clk after 5 ns;",
                "-- rst: high until 32 ns; with RESET_CYCLE > 0 high again at the rising edges",
                f"-- RESET_CYCLE .. RESET_CYCLE + {RESET_LENGTH - 1} (counted from 0 after the first reset)",
                "reset_gen : process",
                "begin",
                "  rst <= '1';",
                "  wait for 32 ns;",
                "  rst <= '0';",
                "  if RESET_CYCLE > 0 then",
                "    for k in 1 to RESET_CYCLE loop",
                "      wait until rising_edge(clk);",
                "    end loop;",
                "    rst <= '1';",
                f"    for k in 1 to {RESET_LENGTH} loop",
                "      wait until rising_edge(clk);",
                "    end loop;",
                "    rst <= '0';",
                "  end if;",
                "  wait;",
                "end process;",
            ]
        ),
        Instance(
            "source",
            "ec_stream_source",
            [
                ("WIDTH", str(ins.bits)),
                ("FILE_NAME", "IN_FILE"),
                ("SEED", "SEED"),
                ("STALL_PERCENT", "STALL_IN"),
                ("LOG_NAME", "IN_LOG"),
            ],
            [("clk", "clk"), ("rst", "rst"), *_wires("m_axis", ins), ("done", "open")],
        ),
        Instance(
            "dut",
            graph.name,
            port_map=[
                ("clk", "clk"),
                ("rst", "rst"),
                *_wires("s_axis", ins),
                *_wires("m_axis", outs),
            ],
        ),
        Instance(
            "sink",
            "ec_stream_sink",
            [
                ("WIDTH", str(outs.bits)),
                ("FILE_NAME", "OUT_FILE"),
                ("SEED", "SEED + 1"),
                ("STALL_PERCENT", "STALL_OUT"),
                ("EXPECTED_SAMPLES", "SAMPLES"),
                ("MAX_CYCLES", "MAX_CYCLES"),
                ("HOLD_CYCLES", "HOLD_CYCLES"),
            ],
            [("clk", "clk"), ("rst", "rst"), *_wires("s_axis", outs)],
        ),
    ]
    declarations = [
        Signal("clk", "std_logic", "'0'"),
        Signal("rst", "std_logic", "'1'"),
        *ins.declarations(),
        *outs.declarations(),
    ]
    text = DesignFile(
        [Entity(name, generics=TB_GENERICS), Architecture(name, declarations, statements, "sim")],
        header=[f"{name}: generated testbench (simulation only)."],
    ).text()
    return {f"sim/{name}.vhd": text}
