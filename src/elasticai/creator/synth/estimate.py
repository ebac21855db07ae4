"""Analytic resource estimate: LUT, FF, DSP, BRAM, CARRY per node, from the graph alone.

No synthesis: milliseconds for any model. The formulas count the registers and
adders each library entity instantiates, and were calibrated against Yosys
``synth_xilinx`` (``tests/sim/test_estimate.py`` keeps them within the bounds the
README states).
"""

from __future__ import annotations

import math

import numpy as np

from elasticai.creator.ir.graph import Graph, LinearParams, Node, PointwiseParams

__all__ = ["estimate", "estimate_node", "csd_digits"]

KEYS = ("lut", "ff", "dsp", "bram", "carry")

#: Largest ROM (bits) kept in LUTs; Yosys maps larger ones to block RAM.
_LUT_ROM_MAX_BITS = 16 * 1024
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


def _folded_linear(node: Node, p: LinearParams) -> dict[str, int]:
    out_features, in_features = p.weight.shape
    x_bits, w_bits = node.input_type.dtype.total_bits, p.w_type.total_bits
    y_bits, acc = node.output_type.dtype.total_bits, p.acc_bits
    ni, no = math.ceil(in_features / p.p_in), math.ceil(out_features / p.p_out)
    mults = p.p_in * p.p_out
    per_mult = _dsps_per_multiplier(x_bits, w_bits)
    rom_bits = ni * no * mults * w_bits
    bram = math.ceil(rom_bits / _BRAM_BITS) if rom_bits > _LUT_ROM_MAX_BITS else 0
    rom_luts = 0 if bram else math.ceil(rom_bits / 40)
    counter_bits = (ni * no).bit_length() + 2 * max(1, (2 * ni).bit_length())
    lut_mults = 0 if per_mult else mults * x_bits * w_bits // 2
    tree = (p.p_in - 1) * p.p_out * (x_bits + w_bits)
    buffer = math.ceil(2 * ni / 64) * math.ceil(p.p_in * x_bits / 3) * 4  # RAM64M
    requant = p.p_out * (acc + 2 * y_bits)
    ff = (
        p.p_in * x_bits
        + mults * (w_bits + x_bits + w_bits)
        + p.p_out * (acc + y_bits)
        + 3 * counter_bits
        + 8
    )
    return {
        "lut": 30 + 2 * counter_bits + rom_luts + lut_mults + tree + buffer + requant,
        "ff": ff,
        "dsp": mults * per_mult,
        "bram": bram,
        "carry": math.ceil((p.p_out * acc + tree + 2 * counter_bits) / 4),
    }


def _unrolled_linear(node: Node, p: LinearParams) -> dict[str, int]:
    out_features, in_features = p.weight.shape
    x_bits, acc = node.input_type.dtype.total_bits, p.acc_bits
    y_bits = node.output_type.dtype.total_bits
    digits = np.vectorize(csd_digits, otypes=[np.int64])(p.weight) if p.weight.size else 0
    adders = int(np.sum(np.maximum(np.sum(digits, axis=1) - 1, 0)))
    adder_bits = adders * min(acc, x_bits + p.w_type.total_bits)
    return {
        "lut": adder_bits + out_features * (acc + 2 * y_bits),
        "ff": p.stages * out_features * acc // 2 + out_features * y_bits + in_features * 0 + 2,
        "dsp": 0,
        "bram": 0,
        "carry": math.ceil(adder_bits / 4),
    }


def _pointwise(node: Node, p: PointwiseParams) -> dict[str, int]:
    x_bits, y_bits = node.input_type.dtype.total_bits, node.output_type.dtype.total_bits
    mul_luts = (csd_digits(p.mul) - 1) * (x_bits + abs(p.mul).bit_length())
    per_lane = mul_luts + 2 * y_bits + (x_bits if p.shift else 0)
    return {
        "lut": p.lanes * per_lane,
        "ff": p.lanes * y_bits + 2,
        "dsp": 0,
        "bram": 0,
        "carry": math.ceil(p.lanes * (mul_luts + y_bits) / 4),
    }


def estimate_node(node: Node) -> dict[str, int]:
    p = node.params
    if isinstance(p, LinearParams):
        return _unrolled_linear(node, p) if p.stages else _folded_linear(node, p)
    return _pointwise(node, p)


def estimate(graph: Graph) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """``(total, per node)`` with the keys ``lut``, ``ff``, ``dsp``, ``bram``, ``carry``."""
    per_node = {node.name: estimate_node(node) for node in graph.nodes}
    total = {key: sum(v[key] for v in per_node.values()) for key in KEYS}
    return total, per_node
