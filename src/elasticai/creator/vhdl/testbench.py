"""The generated testbench: file-driven source -> design -> sink, with random stalls.

With ``EXPECTED_FILE`` set it is self-checking: the sink compares every output beat with
that file and ends with a ``PASS: ...`` note or a ``FAIL: ...`` failure (a non-zero exit
in any VHDL-2008 simulator); so does a ``tlast_error`` from the design. ``save_to(...,
testbench_inputs=x)`` writes ``sim/input.txt`` and ``sim/expected.txt`` and makes them the
generics' defaults (``testbench(graph, Stimulus(...))``).

Optional stress: ``RESET_CYCLE > 0`` pulses rst for ``RESET_LENGTH`` cycles at that
cycle (the source starts its file over, the sink writes a ``reset`` line);
``HOLD_CYCLES > 0`` makes the sink hold tready low for that long now and then.

Simulation only. The hand-written ``ec_stream_source`` and ``ec_stream_sink``
(``library/sim``) read and write the files; this module only wires them to
the design under test.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Stimulus:
    """Defaults of a self-checking testbench: ``samples`` samples in ``sim/input.txt``,
    their outputs in ``sim/expected.txt``, at most ``max_cycles`` cycles."""

    samples: int
    max_cycles: int
    stall_percent: int = 10


#: The files a self-checking testbench reads (relative to the simulator's folder).
INPUT_FILE, EXPECTED_FILE = "input.txt", "expected.txt"


def tb_generics(stimulus: Stimulus | None = None) -> tuple[Generic, ...]:
    """Generics of the testbench entity (the simulator's command line can set them)."""
    s = stimulus
    return (
        Generic("IN_FILE", "string", f'"{INPUT_FILE}"'),
        Generic("OUT_FILE", "string", '"output.txt"'),
        Generic("IN_LOG", "string", '"input_log.txt"'),
        Generic("EXPECTED_FILE", "string", f'"{EXPECTED_FILE}"' if s else '""'),
        Generic("SAMPLES", "natural", str(s.samples if s else 1)),
        Generic("STALL_IN", "natural", str(s.stall_percent if s else 0)),
        Generic("STALL_OUT", "natural", str(s.stall_percent if s else 0)),
        Generic("SEED", "positive", "1"),
        Generic("MAX_CYCLES", "natural", str(s.max_cycles if s else 1000000)),
        Generic("RESET_CYCLE", "natural", "0"),
        Generic("HOLD_CYCLES", "natural", "0"),
    )


#: Rising edges of clk that a mid-run reset (``RESET_CYCLE > 0``) holds rst high.
RESET_LENGTH = 3


def testbench_name(graph: Graph) -> str:
    return f"{graph.name}_tb"


def _wires(prefix: str, stream: Stream) -> list[tuple[str, str]]:
    return stream.ports(prefix)


def testbench(graph: Graph, stimulus: Stimulus | None = None) -> dict[str, str]:
    """``{file name: text}`` of the testbench of ``graph``; with ``stimulus`` its
    generics default to the self-checking run on the saved input and expected files."""
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
                "-- the stimulus is well formed: a tlast_error is the design's fault",
                "check_framing : process (clk)",
                "begin",
                "  if rising_edge(clk) then",
                "    assert tlast_error /= '1'",
                '      report "FAIL: the design set tlast_error on well-formed input"',
                "      severity failure;",
                "  end if;",
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
                ("tlast_error", "tlast_error"),
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
                ("EXPECTED_FILE", "EXPECTED_FILE"),
            ],
            [("clk", "clk"), ("rst", "rst"), *_wires("s_axis", outs)],
        ),
    ]
    declarations = [
        Signal("clk", "std_logic", "'0'"),
        Signal("rst", "std_logic", "'1'"),
        Signal("tlast_error", "std_logic"),
        *ins.declarations(),
        *outs.declarations(),
    ]
    text = DesignFile(
        [
            Entity(name, generics=tb_generics(stimulus)),
            Architecture(name, declarations, statements, "sim"),
        ],
        header=[f"{name}: generated testbench (simulation only)."],
    ).text()
    return {f"sim/{name}.vhd": text}


def ghdl_script(graph: Graph, compile_order: list[str]) -> str:
    """``sim/run_ghdl.sh``: analyses ``compile_order`` (paths relative to the design's
    folder) and runs the self-checking testbench in GHDL, from any working folder."""
    here = [f[len("sim/") :] if f.startswith("sim/") else f"../{f}" for f in compile_order]
    return "\n".join(
        [
            "#!/bin/sh",
            f"# Runs {testbench_name(graph)} on input.txt and checks it against expected.txt;",
            "# prints PASS or FAIL and exits non-zero on failure. Needs GHDL (VHDL-2008).",
            "set -e",
            'cd "$(dirname "$0")"',
            "mkdir -p work",
            "ghdl -a --std=08 --workdir=work \\",
            *(f"  {f} \\" for f in here[:-1]),
            f"  {here[-1]}",
            f"ghdl -e --std=08 --workdir=work {testbench_name(graph)}",
            f'ghdl -r --std=08 --workdir=work {testbench_name(graph)} --max-stack-alloc=0 "$@"',
            "",
        ]
    )
