"""Building blocks of the analytic resource estimate, shared by the ops' ``estimate``.

The coefficients were fitted to Yosys ``synth_xilinx`` results (7-series) on 13 layers
(8 to 1024 weights, 4 to 16 bits, serial to unrolled).
"""

from __future__ import annotations

import math

from elasticai.creator.arithmetic import csd

__all__ = ["KEYS", "csd_digits", "dsps_per_multiplier", "rom", "nothing"]

KEYS = ("lut", "ff", "dsp", "bram", "carry")

#: ROMs from this size on go to block RAM (``netlist_fixes.block_roms``' default).
BLOCK_ROM_BITS = 8 * 1024
BLOCK_ROM_DEPTH = 256
BRAM_BITS = 18 * 1024


def nothing() -> dict[str, int]:
    """The estimate of something that costs nothing."""
    return dict.fromkeys(KEYS, 0)


def csd_digits(w: int) -> int:
    """Non-zero digits of ``w`` in canonical signed-digit form (adders a constant
    multiplication by ``w`` needs, plus one).

    >>> [csd_digits(v) for v in (0, 1, 3, 7, -8, 0b1011)]
    [0, 1, 2, 2, 1, 3]
    """
    return len(csd(w))


def dsps_per_multiplier(a_bits: int, b_bits: int) -> int:
    """DSP48E1 slices for a signed ``a x b`` product (25 x 18 per slice); tiny ones use LUTs."""
    if min(a_bits, b_bits) <= 4:
        return 0
    big, small = max(a_bits, b_bits), min(a_bits, b_bits)
    return math.ceil(big / 25) * math.ceil(small / 18)


def rom(bits: int, word_bits: int) -> tuple[int, int]:
    """``(luts, bram18)`` of a ROM or RAM: block RAM where the synthesis flow marks it so
    (``netlist_fixes.block_roms``: large and deep), else LUTs."""
    if bits >= BLOCK_ROM_BITS and bits // word_bits >= BLOCK_ROM_DEPTH:
        return 0, max(math.ceil(bits / BRAM_BITS), math.ceil(word_bits / 36))
    return math.ceil(bits / 48), 0
