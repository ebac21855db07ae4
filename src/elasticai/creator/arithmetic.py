"""Fixed-point number formats and exact integer arithmetic (no torch).

A value of format ``FixedType(total_bits, frac_bits)`` is stored as the
two's complement integer ``q`` of ``total_bits`` bits and means
``q / 2**frac_bits``.

Every function here works on Python ``int`` and on NumPy integer arrays
(``int64`` or ``object`` arrays of Python ints for widths beyond 62 bits),
and is the written definition that the PyTorch forward and the VHDL follow.

>>> t = FixedType(8, 4)
>>> (t.min_int, t.max_int)
(-128, 127)
>>> int(requantize(0b11000, 4, FixedType(8, 1), Rounding.HALF_EVEN))  # 1.5 -> 1.5
3
>>> int(shift_round(5, 1, Rounding.HALF_EVEN)), int(shift_round(7, 1, Rounding.HALF_EVEN))
(2, 4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "FixedType",
    "Rounding",
    "Overflow",
    "shift_round",
    "saturate",
    "clamp",
    "affine_clamp",
    "wrap",
    "overflow",
    "requantize",
    "quantize_float",
    "signed_width",
    "csd",
    "int_array",
]

#: ints, NumPy integer arrays or torch integer tensors (all support the operators used here).
IntLike = TypeVar("IntLike", bound=Any)

#: Widest intermediate value kept in ``int64``; wider ones use Python ints.
INT64_SAFE_BITS = 62


class Rounding(str, Enum):
    """How the bits shifted out when leaving a layer are rounded.

    ``FLOOR``       drop them (round towards minus infinity; cheapest hardware).
    ``HALF_UP``     round to nearest, ties towards plus infinity.
    ``HALF_EVEN``   round to nearest, ties to the even neighbour (unbiased; default).
    """

    FLOOR = "floor"
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"

    @property
    def code(self) -> int:
        """The number the VHDL library uses for this mode."""
        return list(Rounding).index(self)


class Overflow(str, Enum):
    """What happens to a value outside the target format.

    ``SATURATE``  clamp to the nearest representable value (default).
    ``WRAP``      keep the low ``total_bits`` bits (two's complement wrap-around).
    """

    SATURATE = "saturate"
    WRAP = "wrap"

    @property
    def code(self) -> int:
        """The number the VHDL library uses for this mode."""
        return list(Overflow).index(self)


@dataclass(frozen=True)
class FixedType:
    """A signed two's complement fixed-point format.

    >>> FixedType(16, 8).resolution
    0.00390625
    >>> FixedType(1, 0)
    Traceback (most recent call last):
    ...
    ValueError: total_bits must be at least 2, not 1
    """

    total_bits: int
    frac_bits: int
    signed: bool = True

    def __post_init__(self) -> None:
        for name in ("total_bits", "frac_bits"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"{name} must be an int, not {value!r}")
        if self.total_bits < 2:
            raise ValueError(f"total_bits must be at least 2, not {self.total_bits}")
        if self.frac_bits < 0:
            raise ValueError(f"frac_bits must not be negative, not {self.frac_bits}")
        if self.frac_bits > self.total_bits:
            raise ValueError(
                f"frac_bits must not exceed total_bits ({self.total_bits}), not {self.frac_bits}"
            )
        if not self.signed:
            raise ValueError("only signed fixed-point formats are supported, not signed=False")

    @property
    def min_int(self) -> int:
        return -(1 << (self.total_bits - 1))

    @property
    def max_int(self) -> int:
        return (1 << (self.total_bits - 1)) - 1

    @property
    def resolution(self) -> float:
        return 2.0**-self.frac_bits

    @property
    def min_value(self) -> float:
        return self.min_int * self.resolution

    @property
    def max_value(self) -> float:
        return self.max_int * self.resolution

    def __str__(self) -> str:
        return f"Q{self.total_bits}.{self.frac_bits}"


def csd(w: int) -> list[tuple[int, int]]:
    """Non-zero canonical signed digits of ``w`` as ``(shift, sign)``.

    >>> csd(7), csd(-6), csd(0)
    ([(0, -1), (3, 1)], [(1, 1), (3, -1)], [])
    """
    digits, k, w = [], 0, int(w)
    while w:
        if w & 1:
            d = 2 - (w & 3)  # +1 if ...01, -1 if ...11
            digits.append((k, d))
            w -= d
        w >>= 1
        k += 1
    return digits


def signed_width(low: int, high: int) -> int:
    """Fewest two's complement bits that hold every integer in ``[low, high]``.

    >>> signed_width(-128, 127), signed_width(0, 128), signed_width(0, 0)
    (8, 9, 1)
    """
    bits = 1
    while not (-(1 << (bits - 1)) <= low and high <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


def int_array(values: Any, bits: int = 0) -> np.ndarray:
    """``values`` as an integer array: ``int64`` when ``bits`` fit, else Python ints."""
    if bits > INT64_SAFE_BITS:
        return np.array(values, dtype=object)
    return np.asarray(values, dtype=np.int64)


def shift_round(v: IntLike, shift: int, rounding: Rounding) -> IntLike:
    """``v / 2**shift`` rounded to an integer; a negative ``shift`` multiplies.

    floor:      ``v >> shift``
    half_up:    ``(v + 2**(shift-1)) >> shift``
    half_even:  ``q = v >> shift``, ``r = v - q * 2**shift``;
                ``q + 1`` if ``r > 2**(shift-1)`` or (``r == 2**(shift-1)`` and ``q`` odd), else ``q``
    """
    rounding = Rounding(rounding)
    if shift <= 0:
        return v << -shift
    half = 1 << (shift - 1)
    if rounding is Rounding.FLOOR:
        return v >> shift
    if rounding is Rounding.HALF_UP:
        return (v + half) >> shift
    q = v >> shift
    r = v - (q << shift)
    up = (r > half) | ((r == half) & ((q & 1) == 1))
    if isinstance(up, (bool, np.bool_)):
        return q + int(up)
    return q + up


def saturate(v: IntLike, t: FixedType) -> IntLike:
    """``v`` clamped to ``[t.min_int, t.max_int]``."""
    return clamp(v, t.min_int, t.max_int)


def clamp(v: IntLike, low: int, high: int) -> IntLike:
    """``v`` limited to ``[low, high]`` (NumPy arrays, torch integer tensors, ints)."""
    if isinstance(v, np.ndarray):
        return np.minimum(np.maximum(v, low), high)  # type: ignore[return-value]
    if hasattr(v, "clamp"):
        return v.clamp(low, high)
    return min(max(v, low), high)


def wrap(v: IntLike, t: FixedType) -> IntLike:
    """The low ``t.total_bits`` bits of ``v``, read as two's complement."""
    span = 1 << t.total_bits
    return ((v - t.min_int) % span) + t.min_int


def overflow(v: IntLike, t: FixedType, mode: Overflow) -> IntLike:
    """``saturate`` or ``wrap`` ``v`` into ``t`` as ``mode`` says."""
    return saturate(v, t) if Overflow(mode) is Overflow.SATURATE else wrap(v, t)


def requantize(
    v: IntLike,
    frac_from: int,
    to: FixedType,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow_mode: Overflow = Overflow.SATURATE,
) -> IntLike:
    """Integer ``v`` with ``frac_from`` fractional bits, converted to format ``to``.

    ``overflow(shift_round(v, frac_from - to.frac_bits, rounding), to, overflow_mode)``
    """
    return overflow(shift_round(v, frac_from - to.frac_bits, rounding), to, overflow_mode)


def quantize_float(
    x: Any,
    t: FixedType,
    rounding: Rounding = Rounding.HALF_EVEN,
    overflow_mode: Overflow = Overflow.SATURATE,
) -> np.ndarray:
    """Real numbers ``x`` to integers of format ``t`` (the model's input quantization).

    ``x * 2**frac_bits`` is rounded as ``rounding`` says (floor, floor(v + 1/2),
    or ties-to-even) and then saturated or wrapped. NaN is refused.
    """
    v = np.asarray(x, dtype=np.float64) * math.ldexp(1.0, t.frac_bits)
    if np.isnan(v).any():
        raise ValueError("cannot quantize NaN")
    rounding = Rounding(rounding)
    if rounding is Rounding.FLOOR:
        r = np.floor(v)
    elif rounding is Rounding.HALF_UP:
        r = np.floor(v + 0.5)
    else:
        r = np.round(v)
    if Overflow(overflow_mode) is Overflow.SATURATE:
        r = np.clip(r, t.min_int, t.max_int)
        return r.astype(np.int64)
    if not np.isfinite(r).all():
        raise ValueError(f"cannot wrap infinite values into {t}")
    # fmod of floats is exact: the remainder of any (integer) value fits int64 afterwards
    return wrap(np.fmod(r, math.ldexp(1.0, t.total_bits)).astype(np.int64), t)


def affine_clamp(
    v: IntLike,
    mul: int,
    add: int,
    shift: int,
    rounding: Rounding,
    low: int,
    high: int,
    out: FixedType,
    overflow_mode: Overflow,
) -> IntLike:
    """The element-wise operation behind every activation and format conversion.

    ``overflow(clamp(shift_round(v * mul + add, shift, rounding), low, high), out, overflow_mode)``

    ReLU is ``mul=1, add=0, shift=0, low=0``; a format conversion is ``mul=1,
    add=0, shift=frac_in - frac_out`` with ``low, high`` the target range.
    """
    t = shift_round(v * mul + add, shift, rounding)
    return overflow(clamp(t, low, high), out, overflow_mode)
