"""The Verilog testbench, one text for Icarus Verilog and Verilator, mirroring the VHDL one.

``testbench(top, in_bits, out_bits)`` is the Verilog counterpart of
``vhdl.testbench.testbench`` with ``ec_stream_source`` and ``ec_stream_sink`` inside it.
It reads and writes the files of ``sim.stream_files`` in the folder it runs in:

- ``input.txt``: the beats to send, ``<bits, MSB first> <tlast>`` per line. Before each
  beat the source idles 1..4 cycles with probability ``STALL_IN`` percent.
- ``output.txt``: one line per accepted output beat, ``<bits> <tlast> <cycle>``; the sink
  holds ``tready`` low with probability ``STALL_OUT`` percent each cycle, and stops the
  simulation after ``SAMPLES`` beats with ``tlast``.
- ``input_log.txt``: the cycle of every accepted input beat, one per line.

Cycles are the rising edges of ``clk`` with ``rst`` low, 0 for the first after a reset,
as in the VHDL testbench, so every simulator reports the same cycles for the same stalls.
The stalls' random numbers come from a xorshift generator written in the testbench: the
same in every Verilog simulator for the same ``SEED`` (GHDL's ``math_real.uniform``
draws others).

The parameters are those of the VHDL testbench's generics (:data:`PARAMETERS`):
``SAMPLES``, ``STALL_IN``, ``STALL_OUT``, ``SEED``, ``MAX_CYCLES`` (then ``$fatal``: a
non-zero exit), ``RESET_CYCLE`` (> 0: ``rst`` high for ``RESET_LENGTH`` rising edges from
that cycle on; the source starts its file over and both logs get a ``reset`` line) and
``HOLD_CYCLES`` (> 0: ``tready`` low for that long after the first output beat and after
one in ten of the later ones). Each is a module parameter (``iverilog -P``) that a plusarg
``+NAME=value`` on the simulation's command line overrides, so that one compiled model
serves every run. A ``tlast_error`` of the design, an unknown value on the output stream
(in a four-state simulator), or a beat changed or withdrawn before it was taken is a
``$fatal`` too.

Every process of the testbench is an ``always @(posedge clk)`` block (no waits inside
processes): Verilator runs it without its timing scheduler, and with the clock as a port
that its C++ harness (``sim.verilator``) toggles; elsewhere the testbench makes the clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from elasticai.creator.vhdl.testbench import RESET_LENGTH

__all__ = ["PARAMETERS", "check_parameters", "testbench", "testbench_name"]

#: The testbench's parameters and their defaults.
PARAMETERS: dict[str, int] = {
    "SAMPLES": 1,
    "STALL_IN": 0,
    "STALL_OUT": 0,
    "SEED": 1,
    "MAX_CYCLES": 1000000,
    "RESET_CYCLE": 0,
    "HOLD_CYCLES": 0,
}


def check_parameters(parameters: Mapping[str, int]) -> None:
    """Raise ValueError naming the parameters that the testbench does not have."""
    unknown = sorted(set(parameters) - set(PARAMETERS))
    if unknown:
        raise ValueError(
            f"unknown testbench parameters {unknown}; the testbench has {sorted(PARAMETERS)}"
        )


def testbench_name(top: str) -> str:
    return f"{top}_tb"


def testbench(top: str, in_bits: int, out_bits: int) -> str:
    """The Verilog testbench of module ``top`` whose ``s_axis_tdata`` has ``in_bits``
    bits and ``m_axis_tdata`` ``out_bits`` (``lanes * width`` of ``top_streams``)."""
    name = testbench_name(top)
    parameters = "\n".join(f"  parameter integer {k} = {v};" for k, v in PARAMETERS.items())
    settings = "\n".join(
        f'    if (!$value$plusargs("{k}=%d", {k.lower()})) {k.lower()} = {k};' for k in PARAMETERS
    )
    return _TESTBENCH.format(
        name=name,
        top=top,
        parameters=parameters,
        settings=settings,
        in_msb=in_bits - 1,
        out_msb=out_bits - 1,
        reset_length=RESET_LENGTH,
    )


_TESTBENCH = """\
// {name}: generated testbench of {top} for Icarus Verilog and Verilator (simulation only).
`timescale 1ns / 1ps
`ifdef VERILATOR
module {name} (input wire clk);
`else
module {name};
  reg clk = 1'b0;
  always #5 clk = ~clk;
`endif
{parameters}
  localparam integer HOLD_PERCENT = 10;

  // the parameters, or +NAME=value on the simulation's command line
  integer samples, stall_in, stall_out, seed, max_cycles, reset_cycle, hold_cycles;
  reg [31:0] in_random, out_random, hold_random;
  integer fin, flog, fout;
  initial begin
{settings}
    in_random = seeded(seed, 0);
    out_random = seeded(seed, 1);
    hold_random = seeded(seed, 7919);
    flog = $fopen("input_log.txt", "w");
    fout = $fopen("output.txt", "w");
  end

  // xorshift32: the stalls' random numbers, the same in every Verilog simulator
  function [31:0] xorshift(input [31:0] s);
    reg [31:0] x;
    begin
      x = s ^ (s << 13);
      x = x ^ (x >> 17);
      xorshift = x ^ (x << 5);
    end
  endfunction

  function [31:0] seeded(input [31:0] s, input [31:0] stream);
    begin
      seeded = xorshift(xorshift((s * 32'h9E3779B9) ^ stream) | 32'd1);
    end
  endfunction

  wire rst;
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
  integer tick = 0;

  {top} dut (
    .clk(clk), .rst(rst),
    .s_axis_tdata(x_tdata), .s_axis_tvalid(x_tvalid),
    .s_axis_tready(x_tready), .s_axis_tlast(x_tlast),
    .m_axis_tdata(y_tdata), .m_axis_tvalid(y_tvalid),
    .m_axis_tready(y_tready), .m_axis_tlast(y_tlast),
    .tlast_error(tlast_error));

  // rst: high for the first 3 rising edges; with RESET_CYCLE > 0 high again for
  // {reset_length} rising edges from cycle RESET_CYCLE on
  always @(posedge clk)
    tick <= tick + 1;
  assign rst = tick < 3
    || (reset_cycle > 0 && tick >= 3 + reset_cycle && tick < 3 + reset_cycle + {reset_length});

  // rising edges of clk with rst low, 0 for the first after a reset
  always @(posedge clk)
    cycle <= rst ? 0 : cycle + 1;

  // the stimulus is well formed: a tlast_error is the design's fault
  always @(posedge clk)
    if (tlast_error === 1'b1)
      $fatal(1, "FAIL: the design set tlast_error on well-formed input");

  // source: the beats of input.txt, a line "<cycle>" per accepted beat in input_log.txt
  localparam integer WAITING = 0, IDLING = 1, OFFERING = 2, DONE = 3;
  integer source = WAITING;
  integer code, last, idle;
  reg [{in_msb}:0] bits;

  task offer;
    begin
      x_tdata <= bits;
      x_tlast <= last[0];
      x_tvalid <= 1'b1;
      source = OFFERING;
    end
  endtask

  // the next beat of the file: offered now, or after 1..4 idle cycles, or the end
  task next_beat;
    begin
      code = $fscanf(fin, " %b %d", bits, last);
      x_tvalid <= 1'b0;
      if (code != 2) begin
        x_tdata <= 0;
        x_tlast <= 1'b0;
        $fflush(flog);
        source = DONE;
      end else begin
        in_random = xorshift(in_random);
        if ((in_random >> 7) % 100 < stall_in) begin
          in_random = xorshift(in_random);
          idle = 1 + (in_random >> 7) % 4;
          source = IDLING;
        end else
          offer;
      end
    end
  endtask

  always @(posedge clk)
    if (rst) begin
      if (source != WAITING) begin  // a reset mid-run: the file starts over
        $fclose(fin);
        $fdisplay(flog, "reset");
        x_tvalid <= 1'b0;
        x_tdata <= 0;
        x_tlast <= 1'b0;
        source = WAITING;
      end
    end else
      case (source)
        WAITING: begin
          fin = $fopen("input.txt", "r");
          if (fin == 0) $fatal(1, "{name}: cannot open input.txt");
          next_beat;
        end
        IDLING: begin
          idle = idle - 1;
          if (idle == 0) offer;
        end
        OFFERING:
          if (x_tready) begin
            $fdisplay(flog, "%0d", cycle);
            next_beat;
          end
        default: ;
      endcase

  // sink: a line "<bits> <tlast> <cycle>" per accepted beat in output.txt
  integer hold = 0, received = 0, accepted = 0;
  reg started = 1'b0, pending = 1'b0, in_reset = 1'b0, plast = 1'b0;
  reg [{out_msb}:0] pdata = 0;

  // tready for the next rising edge
  task draw_ready;
    if (hold > 0) begin
      y_tready <= 1'b0;
      hold = hold - 1;
    end else begin
      out_random = xorshift(out_random);
      y_tready <= (out_random >> 7) % 100 >= stall_out;
    end
  endtask

  always @(posedge clk)
    if (!started) begin
      if (!rst) begin
        started = 1'b1;
        draw_ready;
      end
    end else begin
      if (rst) begin
        if (!in_reset) begin
          $fdisplay(fout, "reset");
          $fflush(fout);
        end
        in_reset = 1'b1;
        received = 0;
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
          if (y_tready) begin
            $fdisplay(fout, "%b %b %0d", y_tdata, y_tlast, cycle);
            if (hold_cycles > 0 && accepted == 0)
              hold = hold_cycles;
            else if (hold_cycles > 0) begin
              hold_random = xorshift(hold_random);
              if ((hold_random >> 7) % 100 < HOLD_PERCENT)
                hold = hold_cycles;
            end
            accepted = accepted + 1;
            if (y_tlast) begin
              $fflush(fout);
              received = received + 1;
              if (received >= samples) begin
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
        if (cycle >= max_cycles)
          $fatal(1, "FAIL: {name}: timeout after %0d cycles, %0d of %0d samples received",
                 max_cycles, received, samples);
      end
      draw_ready;
    end
endmodule
"""
