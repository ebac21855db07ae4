"""Run a design's Verilog in Icarus Verilog under a testbench that mirrors the VHDL one.

``testbench(top, in_bits, out_bits)`` is the Verilog counterpart of
``vhdl.testbench.testbench`` with ``ec_stream_source`` and ``ec_stream_sink`` inside it,
and ``simulate`` compiles it with the design (``iverilog -g2012``) and runs it (``vvp``).
It reads and writes the files of ``sim.stream_files`` in the folder it runs in:

- ``input.txt``: the beats to send, ``<bits, MSB first> <tlast>`` per line. Before each
  beat the source idles 1..4 cycles with probability ``STALL_IN`` percent.
- ``output.txt``: one line per accepted output beat, ``<bits> <tlast> <cycle>``; the sink
  holds ``tready`` low with probability ``STALL_OUT`` percent each cycle, and stops the
  simulation after ``SAMPLES`` beats with ``tlast``.
- ``input_log.txt``: the cycle of every accepted input beat, one per line.

Cycles are the rising edges of ``clk`` with ``rst`` low, 0 for the first after a reset,
as in the VHDL testbench, so both simulators report the same cycles for the same stalls
(the random stalls themselves differ: ``$random`` here, ``math_real.uniform`` there).

The parameters are those of the VHDL testbench's generics: ``SAMPLES``, ``STALL_IN``,
``STALL_OUT``, ``SEED``, ``MAX_CYCLES`` (then ``$fatal``: a non-zero exit),
``RESET_CYCLE`` (> 0: ``rst`` high for ``RESET_LENGTH`` rising edges from that cycle on;
the source starts its file over and both logs get a ``reset`` line) and ``HOLD_CYCLES``
(> 0: ``tready`` low for that long after the first output beat and after one in ten of
the later ones). A ``tlast_error`` of the design, an unknown value on the output
stream, or a beat changed or withdrawn before it was taken is a ``$fatal`` too.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from elasticai.creator.sim.ghdl import find_tool, run_watched
from elasticai.creator.vhdl.testbench import RESET_LENGTH

__all__ = [
    "IcarusNotFoundError",
    "IcarusError",
    "PARAMETERS",
    "iverilog_path",
    "vvp_path",
    "testbench_name",
    "testbench",
    "simulate",
]

#: The testbench's parameters and their defaults (``simulate`` sets them with ``-P``).
PARAMETERS: dict[str, int] = {
    "SAMPLES": 1,
    "STALL_IN": 0,
    "STALL_OUT": 0,
    "SEED": 1,
    "MAX_CYCLES": 1000000,
    "RESET_CYCLE": 0,
    "HOLD_CYCLES": 0,
}

#: Lines of a failed tool's output that its error message shows (all are in ``output``).
_OUTPUT_TAIL = 40


class IcarusNotFoundError(RuntimeError):
    """Icarus Verilog is not installed or not where ELASTICAI_IVERILOG says."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "Icarus Verilog was not found. Install it (Debian/Ubuntu: `apt-get install "
            "iverilog`) or set the ELASTICAI_IVERILOG environment variable to the iverilog "
            "binary."
        )
        super().__init__(f"{message} {detail}".strip())


class IcarusError(RuntimeError):
    """``iverilog`` or ``vvp`` failed; carries the command and the tool's output."""

    def __init__(self, command: Sequence[str], output: str, returncode: int) -> None:
        self.command = list(command)
        self.output = output
        self.returncode = returncode
        tail = "\n".join(output.rstrip().splitlines()[-_OUTPUT_TAIL:])
        super().__init__(
            f"Icarus Verilog failed (exit {returncode}): {' '.join(self.command)}\n{tail}"
        )


def iverilog_path() -> str:
    """The iverilog binary: ELASTICAI_IVERILOG, else the one on PATH."""
    return find_tool("iverilog", "ELASTICAI_IVERILOG", IcarusNotFoundError)


def vvp_path(iverilog: str | None = None) -> str:
    """The vvp binary in the folder of ``iverilog`` (default: :func:`iverilog_path`)."""
    compiler = pathlib.Path(iverilog or iverilog_path())
    for folder in (compiler.parent, compiler.resolve().parent):
        candidate = folder / "vvp"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise IcarusNotFoundError(f"(no vvp next to {str(compiler)!r})")


def testbench_name(top: str) -> str:
    return f"{top}_tb"


def testbench(top: str, in_bits: int, out_bits: int) -> str:
    """The Verilog testbench of module ``top`` whose ``s_axis_tdata`` has ``in_bits``
    bits and ``m_axis_tdata`` ``out_bits`` (``lanes * width`` of ``top_streams``)."""
    name = testbench_name(top)
    parameters = "\n".join(f"  parameter integer {k} = {v};" for k, v in PARAMETERS.items())
    return _TESTBENCH.format(
        name=name,
        top=top,
        parameters=parameters,
        in_msb=in_bits - 1,
        out_msb=out_bits - 1,
        reset_length=RESET_LENGTH,
    )


_TESTBENCH = """\
// {name}: generated testbench of {top} for Icarus Verilog (simulation only).
`timescale 1ns / 1ps
module {name};
{parameters}
  localparam integer HOLD_PERCENT = 10;

  reg clk = 1'b0;
  reg rst = 1'b1;
  reg [{in_msb}:0] x_tdata = 0;
  reg x_tvalid = 1'b0;
  reg x_tlast = 1'b0;
  wire x_tready;
  wire [{out_msb}:0] y_tdata;
  wire y_tvalid;
  wire y_tlast;
  reg y_tready = 1'b0;
  wire tlast_error;
  integer cycle = 0;

  {top} dut (
    .clk(clk), .rst(rst),
    .s_axis_tdata(x_tdata), .s_axis_tvalid(x_tvalid),
    .s_axis_tready(x_tready), .s_axis_tlast(x_tlast),
    .m_axis_tdata(y_tdata), .m_axis_tvalid(y_tvalid),
    .m_axis_tready(y_tready), .m_axis_tlast(y_tlast),
    .tlast_error(tlast_error));

  always #5 clk = ~clk;

  // rising edges of clk with rst low, 0 for the first after a reset
  always @(posedge clk)
    cycle <= rst ? 0 : cycle + 1;

  // rst: high until 32 ns; with RESET_CYCLE > 0 high again for {reset_length} rising edges
  initial begin : reset_gen
    #32 rst = 1'b0;
    if (RESET_CYCLE > 0) begin
      repeat (RESET_CYCLE) @(posedge clk);
      rst <= 1'b1;
      repeat ({reset_length}) @(posedge clk);
      rst <= 1'b0;
    end
  end

  // the stimulus is well formed: a tlast_error is the design's fault
  always @(posedge clk)
    if (tlast_error === 1'b1)
      $fatal(1, "FAIL: the design set tlast_error on well-formed input");

  // source: the beats of input.txt, a line "<cycle>" per accepted beat in input_log.txt
  initial begin : source
    integer fin, flog, seed, idle, code, last;
    reg [{in_msb}:0] bits;
    reg restart;
    seed = SEED;
    flog = $fopen("input_log.txt", "w");
    forever begin : session
      x_tvalid <= 1'b0;
      x_tdata <= 0;
      x_tlast <= 1'b0;
      fin = $fopen("input.txt", "r");
      if (fin == 0) $fatal(1, "{name}: cannot open input.txt");
      @(posedge clk);
      while (rst) @(posedge clk);
      restart = 1'b0;
      begin : beats
        forever begin
          code = $fscanf(fin, " %b %d", bits, last);
          if (code != 2) disable beats;
          if ($unsigned($random(seed)) % 100 < STALL_IN) begin
            idle = 1 + $unsigned($random(seed)) % 4;
            x_tvalid <= 1'b0;
            begin : idling
              repeat (idle) begin
                @(posedge clk);
                if (rst) begin
                  restart = 1'b1;
                  disable idling;
                end
              end
            end
            if (restart) disable beats;
          end
          x_tdata <= bits;
          x_tlast <= last[0];
          x_tvalid <= 1'b1;
          begin : offer
            forever begin
              @(posedge clk);
              if (rst) begin
                restart = 1'b1;
                disable offer;
              end
              if (x_tready) disable offer;
            end
          end
          if (restart) disable beats;
          $fdisplay(flog, "%0d", cycle);
          x_tvalid <= 1'b0;
        end
      end
      $fclose(fin);
      if (!restart) begin
        x_tvalid <= 1'b0;
        x_tdata <= 0;
        x_tlast <= 1'b0;
        $fflush(flog);
        @(posedge clk);
        while (!rst) @(posedge clk);
      end
      $fdisplay(flog, "reset");
    end
  end

  // sink: a line "<bits> <tlast> <cycle>" per accepted beat in output.txt
  initial begin : sink
    integer fout, seed, hold_seed, hold, samples, accepted;
    reg ready, pending, in_reset, plast;
    reg [{out_msb}:0] pdata;
    fout = $fopen("output.txt", "w");
    seed = SEED + 1;
    hold_seed = SEED + 7919;
    hold = 0;
    samples = 0;
    accepted = 0;
    pending = 1'b0;
    in_reset = 1'b0;
    @(posedge clk);
    while (rst) @(posedge clk);
    forever begin
      if (hold > 0) begin
        ready = 1'b0;
        hold = hold - 1;
      end else
        ready = $unsigned($random(seed)) % 100 >= STALL_OUT;
      y_tready <= ready;
      @(posedge clk);
      if (rst) begin
        if (!in_reset) begin
          $fdisplay(fout, "reset");
          $fflush(fout);
        end
        in_reset = 1'b1;
        samples = 0;
        pending = 1'b0;
        hold = 0;
        accepted = 0;
      end else begin
        in_reset = 1'b0;
        if (y_tvalid !== 1'b0 && y_tvalid !== 1'b1)
          $fatal(1, "{name}: tvalid is %b", y_tvalid);
        if (pending && y_tvalid !== 1'b1)
          $fatal(1, "{name}: tvalid dropped before the handshake");
        if (pending && (y_tdata !== pdata || y_tlast !== plast))
          $fatal(1, "{name}: tdata/tlast changed while not accepted");
        pending = 1'b0;
        if (y_tvalid) begin
          if (^{{y_tdata, y_tlast}} === 1'bx)
            $fatal(1, "{name}: metavalue on tdata/tlast: %b %b", y_tdata, y_tlast);
          if (ready) begin
            $fdisplay(fout, "%b %b %0d", y_tdata, y_tlast, cycle);
            $fflush(fout);
            if (HOLD_CYCLES > 0)
              if (accepted == 0 || $unsigned($random(hold_seed)) % 100 < HOLD_PERCENT)
                hold = HOLD_CYCLES;
            accepted = accepted + 1;
            if (y_tlast) begin
              samples = samples + 1;
              if (samples >= SAMPLES) begin
                $fclose(fout);
                $finish;
              end
            end
          end else begin
            pending = 1'b1;
            pdata = y_tdata;
            plast = y_tlast;
          end
        end
        if (cycle >= MAX_CYCLES)
          $fatal(1, "FAIL: {name}: timeout after %0d cycles, %0d of %0d samples received",
                 MAX_CYCLES, samples, SAMPLES);
      end
    end
  end
endmodule
"""


def _run(
    command: Sequence[str], workdir: pathlib.Path, watch: Callable[[], None] | None = None
) -> str:
    """Run ``command`` in ``workdir``; ``watch`` is called about twice a second while it
    runs. Raises :class:`IcarusError` on a non-zero exit."""
    returncode, output = run_watched(command, workdir, watch)
    if returncode != 0:
        raise IcarusError(command, output, returncode)
    return output


def simulate(
    sources: Iterable[str | os.PathLike[str]],
    top: str,
    workdir: str | os.PathLike[str],
    parameters: Mapping[str, int] | None = None,
    watch: Callable[[], None] | None = None,
) -> str:
    """Compile ``sources`` (``iverilog -g2012``, the testbench first: its ``timescale``
    holds for the files after it) with ``parameters`` (names of :data:`PARAMETERS`) on
    module ``top`` and run it (``vvp``) in ``workdir``; returns vvp's output. ``watch`` is
    called about twice a second while the simulation runs."""
    unknown = sorted(set(parameters or {}) - set(PARAMETERS))
    if unknown:
        raise ValueError(
            f"unknown testbench parameters {unknown}; the testbench has {sorted(PARAMETERS)}"
        )
    iverilog = iverilog_path()
    vvp = vvp_path(iverilog)
    path = pathlib.Path(workdir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    compiled = path / f"{top}.vvp"
    settings = [f"-P{top}.{k}={int(v)}" for k, v in (parameters or {}).items()]
    files = [str(pathlib.Path(s).resolve()) for s in sources]
    _run([iverilog, "-g2012", "-s", top, "-o", str(compiled), *settings, *files], path)
    return _run([vvp, "-n", str(compiled)], path, watch)
