"""The VCD reader: handshakes of every stream, in the testbench's cycle numbers."""

from __future__ import annotations

import pytest

from elasticai.creator.sim.activity import handshakes, wave_options

HEADER = """$date today $end
$version GHDL v0 $end
$timescale 1 fs $end
$scope module tb $end
$var reg 1 ! clk $end
$var reg 1 " rst $end
$scope module dut $end
$var reg 1 # s_axis_tvalid $end
$var reg 1 $ s_axis_tready $end
$var reg 8 % s_axis_tdata[7:0] $end
$var reg 2 & x_fork_tvalid[1:0] $end
$var reg 2 ' x_fork_tready[1:0] $end
$var reg 1 ( lonely_tvalid $end
$scope module layer $end
$var reg 1 ) m_axis_tvalid $end
$var reg 1 * m_axis_tready $end
$comment xmem is not handled $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
"""


def vcd(*steps: str) -> str:
    """Time steps of 5 fs; the clock rises in every odd one (``steps`` give the others)."""
    lines = [HEADER]
    for k, changes in enumerate(steps):
        lines.append(f"#{10 * k}\n0! {changes}")
        lines.append(f"#{10 * k + 5}\n1!")
    return "\n".join(lines)


def test_a_beat_moves_where_valid_and_ready_were_high_before_the_rising_edge():
    text = vcd(
        "1\" 0# 1$ b0 & b0 ' 0) 1*",  # reset: nothing counts
        '0" 1#',  # cycle 0: s_axis moves
        "0$ 1)",  # cycle 1: s_axis waits, layer.m_axis moves
        "1$ 0# 0)",  # cycle 2: nothing
        "1#",  # cycle 3: s_axis moves
    )
    moved = handshakes(text, "tb.dut")
    assert moved["s_axis"] == [0, 3]
    assert moved["layer.m_axis"] == [1]


def test_cycles_count_from_zero_after_every_reset():
    text = vcd("1\" 1# 1$ b0 & b0 ' 0)", '0"', "", '1"', '0"', "")
    assert handshakes(text, "tb.dut")["s_axis"] == [0, 1, 0, 1]


def test_a_vector_pair_is_one_stream_per_bit_and_vcd_drops_leading_zeros():
    text = vcd("1\" 0# 0$ b11 ' b0 & 0) 0*", '0" b1 &', "b10 &", "b11 &")
    moved = handshakes(text, "tb.dut")
    assert moved["x_fork(0)"] == [0, 2]
    assert moved["x_fork(1)"] == [1, 2]


def test_unknown_values_move_nothing_and_a_valid_without_ready_is_no_stream():
    text = vcd("1\" x# 1$ b0 & b0 ' 0) 1*", '0"', "1#")
    moved = handshakes(text, "tb.dut")
    assert moved["s_axis"] == [1]
    assert "lonely" not in moved


def test_streams_are_named_relative_to_the_scope_and_clock_and_reset_come_from_above():
    text = vcd("1\" 0# 0$ b0 & b0 ' 1) 1*", '0"')
    assert handshakes(text, "tb.dut.layer") == {"m_axis": [0]}
    assert set(handshakes(text)) == {
        "dut.s_axis",
        "dut.x_fork(0)",
        "dut.x_fork(1)",
        "dut.layer.m_axis",
    }


def test_a_vcd_without_the_clock_is_refused_by_name():
    with pytest.raises(ValueError, match="no signal 'clock' in or above scope 'tb.dut'"):
        handshakes(vcd('1"'), "tb.dut", clock="clock")


def test_wave_options_dump_each_scope_without_what_is_below_it():
    assert wave_options(["/top_tb/dut", "/top_tb/dut/layer/"]) == (
        "$ version 1.1\n/top_tb/dut/*\n/top_tb/dut/layer/*\n"
    )
