"""Analytic resource estimate: LUT, FF, DSP, BRAM, CARRY per node, from the graph alone.

No synthesis: milliseconds for any model. The formulas count the registers and
adders each library entity instantiates, with coefficients fitted to Yosys
``synth_xilinx`` results on 13 layers (8 to 1024 weights, 4 to 16 bits, serial to
unrolled); ``tests/sim/test_estimate.py`` keeps them within a factor of two.
"""

from __future__ import annotations

import math

import numpy as np

from elasticai.creator.ir.graph import (
    Graph,
    LinearParams,
    Node,
    PiecewiseParams,
    PointwiseParams,
    ReduceParams,
    WindowParams,
)

__all__ = ["estimate", "estimate_node", "csd_digits"]

KEYS = ("lut", "ff", "dsp", "bram", "carry")

#: ROMs from this size on go to block RAM (``netlist_fixes.block_roms``' default).
_BLOCK_ROM_BITS = 8 * 1024
_BLOCK_ROM_DEPTH = 256
_BRAM_BITS = 18 * 1024


def csd_digits(w: int) -> int:
    """Non-zero digits of ``w`` in canonical signed-digit form (adders a constant
    multiplication by ``w`` needs, plus one).

    >>> [csd_digits(v) for v in (0, 1, 3, 7, -8, 0b1011)]
    [0, 1, 2, 2, 1, 3]
    """
    w, count = abs(int(w)), 0
    while w:
        if w & 1:
            count += 1
            w -= 2 - (w & 3)  # digit +1 if ...01, -1 if ...11
        w >>= 1
    return count


def _dsps_per_multiplier(a_bits: int, b_bits: int) -> int:
    """DSP48E1 slices for a signed ``a x b`` product (25 x 18 per slice); tiny ones use LUTs."""
    if min(a_bits, b_bits) <= 4:
        return 0
    big, small = max(a_bits, b_bits), min(a_bits, b_bits)
    return math.ceil(big / 25) * math.ceil(small / 18)


def _rom(bits: int, word_bits: int) -> tuple[int, int]:
    """``(luts, bram18)`` of a ROM: block RAM where the synthesis flow marks it so
    (``netlist_fixes.block_roms``: large and deep), else LUTs."""
    if bits >= _BLOCK_ROM_BITS and bits // word_bits >= _BLOCK_ROM_DEPTH:
        return 0, max(math.ceil(bits / _BRAM_BITS), math.ceil(word_bits / 36))
    return math.ceil(bits / 48), 0


def _folded_linear(node: Node, p: LinearParams) -> dict[str, int]:
    """``ec_linear``: accumulators, products and operand registers sit in the DSP slices;
    LUTs go to control, requantization and output per lane, adder trees, small ROMs."""
    out_features, in_features = p.weight.shape
    x_bits, w_bits = node.input_type.dtype.total_bits, p.w_type.total_bits
    y_bits, acc = node.output_type.dtype.total_bits, p.acc_bits
    ni, no = math.ceil(in_features / p.p_in), math.ceil(out_features / p.p_out)
    mults = p.p_in * p.p_out
    per_mult = _dsps_per_multiplier(x_bits, w_bits)
    rom_luts, bram = _rom(p.steps(p.p_in, p.p_out) * mults * w_bits, mults * w_bits)
    counter_bits = (ni * no).bit_length() + 2 * (2 * ni).bit_length()
    tree = (p.p_in - 1) * p.p_out * (x_bits + w_bits)
    lut_mults = 0 if per_mult else mults * x_bits * w_bits // 2
    return {
        "lut": 70 + p.p_out * (y_bits + acc // 2) + tree + rom_luts + lut_mults,
        "ff": p.p_out * (y_bits + 4) + p.p_in * x_bits + 2 * counter_bits + 24 + tree // 2,
        "dsp": mults * per_mult,
        "bram": bram,
        "carry": math.ceil((p.p_out * acc + y_bits + 2 * counter_bits) / 4),
    }


def _unrolled_linear(node: Node, p: LinearParams) -> dict[str, int]:
    """``ec_linear_unrolled``: one adder (about 0.6 LUT per bit on a carry chain) per
    canonical signed digit beyond the first of each row."""
    out_features = p.weight.shape[0]
    x_bits, acc = node.input_type.dtype.total_bits, p.acc_bits
    y_bits = node.output_type.dtype.total_bits
    digits = np.vectorize(csd_digits, otypes=[np.int64])(p.weight) if p.weight.size else 0
    adders = int(np.sum(np.maximum(np.sum(digits, axis=1) - 1, 0)))
    adder_bits = adders * min(acc, x_bits + p.w_type.total_bits)
    return {
        "lut": adder_bits * 6 // 10 + out_features * (acc + y_bits),
        "ff": out_features * y_bits + 2 + (p.stages - 1) * out_features * acc * 3 // 2,
        "dsp": 0,
        "bram": 0,
        "carry": math.ceil(adder_bits / 4),
    }


def _pointwise(node: Node, p: PointwiseParams) -> dict[str, int]:
    """``ec_pointwise``: per lane a clamp and, where it scales, one adder per canonical
    signed digit of the constant beyond the first (plus one for the offset)."""
    x_bits, y_bits = node.input_type.dtype.total_bits, node.output_type.dtype.total_bits
    digits = csd_digits(p.mul)
    lowest_negative = p.mul != 0 and (p.mul >> ((p.mul & -p.mul).bit_length() - 1)) & 3 == 3
    adders = max(0, digits - 1) + (1 if p.add or lowest_negative else 0)
    adder_bits = adders * (x_bits + abs(p.mul).bit_length())
    return {
        "lut": p.lanes * (adder_bits // 2 + 2 * y_bits),  # adders are only as wide as their sums
        "ff": p.lanes * y_bits + 2,
        "dsp": 0,
        "bram": 0,
        "carry": p.lanes * math.ceil(adder_bits / 4),
    }


def _window(node: Node, p: WindowParams, in_lanes: int) -> dict[str, int]:
    """``ec_window``: per output lane a copy of the sample memory (the double buffer of two
    samples, or the ring of ``WindowParams.memory_words`` words, with the writer's
    counters), an address adder, four bound comparisons and an element multiplexer."""
    x_bits = node.input_type.dtype.total_bits
    copies = min(p.lanes, p.window)
    ring = p.memory_words(in_lanes)
    words = ring or 2 * math.ceil(node.input_type.size / in_lanes)
    ram_luts, bram = _rom(words * in_lanes * x_bits, in_lanes * x_bits)
    address = max(1, words.bit_length())
    return {
        "lut": 60 + copies * (ram_luts + 3 * address + x_bits * max(1, in_lanes // 2)),
        "ff": 40
        + (4 * address if ring else 0)
        + copies * (x_bits + address + 4)
        + p.lanes * x_bits,
        "dsp": 0,
        "bram": copies * bram,
        "carry": 4 + copies * math.ceil(3 * address / 4),
    }


def _reduce(node: Node, p: ReduceParams) -> dict[str, int]:
    """``ec_reduce``: a partial result per channel and one comparator or adder per lane."""
    y_bits = node.output_type.dtype.total_bits
    return {
        "lut": 20 + p.lanes * 2 * y_bits,
        "ff": 16 + (p.channels + p.lanes) * y_bits,
        "dsp": 0,
        "bram": 0,
        "carry": p.lanes * math.ceil(y_bits / 4),
    }


def _piecewise(node: Node, p: PiecewiseParams) -> dict[str, int]:
    """``ec_piecewise``: per lane a comparison per break, a multiplexer of the segment
    constants, one multiplier (a DSP slice from 5 bits on) and the rounding adder."""
    x_bits, y_bits = node.input_type.dtype.total_bits, node.output_type.dtype.total_bits
    m_bits = max(abs(v).bit_length() for v in p.muls) + 1
    segments = len(p.breaks)
    per_mult = _dsps_per_multiplier(x_bits + 1, m_bits)
    lut_mult = 0 if per_mult else x_bits * m_bits // 2
    sum_bits = x_bits + m_bits + 2
    return {
        "lut": p.lanes * (segments * x_bits // 3 + segments * 3 + sum_bits + lut_mult + y_bits),
        "ff": p.lanes * (x_bits + segments.bit_length() + sum_bits + y_bits) + 4,
        "dsp": p.lanes * per_mult,
        "bram": 0,
        "carry": p.lanes * math.ceil((segments * x_bits / 2 + 2 * sum_bits) / 4),
    }


def estimate_node(node: Node, in_lanes: int = 1) -> dict[str, int]:
    p = node.params
    if isinstance(p, LinearParams):
        return _unrolled_linear(node, p) if p.stages else _folded_linear(node, p)
    if isinstance(p, WindowParams):
        return _window(node, p, in_lanes)
    if isinstance(p, ReduceParams):
        return _reduce(node, p)
    if isinstance(p, PiecewiseParams):
        return _piecewise(node, p)
    return _pointwise(node, p)


def estimate(graph: Graph) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """``(total, per node)`` with the keys ``lut``, ``ff``, ``dsp``, ``bram``, ``carry``."""
    per_node, lanes = {}, max(1, graph.input_lanes)
    for node in graph.nodes:
        per_node[node.name] = estimate_node(node, lanes)
        p = node.params
        lanes = p.p_out if isinstance(p, LinearParams) else p.lanes
    total = {key: sum(v[key] for v in per_node.values()) for key in KEYS}
    return total, per_node
