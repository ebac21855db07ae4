"""A float ``BatchNormalization`` between an exact integer sum and a ``Quant``, as integers.

qonnx executes ``BatchNormalization`` with onnxruntime in ``float32``::

    mul = scale * (1 / sqrt(var + eps))        # per channel, each step rounded to float32
    add = bias - mean * mul
    y = x * mul + add                          # two roundings, no fused multiply-add

and the ``Quant`` after it (a ``Relu`` between them is a clamp at 0) rounds
``y * 2**f`` and clamps it to ``[low, high]``. For the integer ``x`` of a known range
(the accumulator of the layer before, with ``x_frac`` fractional bits) ``fold`` finds per
channel integers ``A``, ``B`` and one shift ``s`` with

    clamp(shift_round(x * A + B, s), low, high) == that float32 result   for every x,

so the layer's own output rounding computes it. Both sides are monotone in ``x`` (every
float32 step is), so they are equal everywhere when they are equal at both ends of the
range and on both sides of every step of the float result (found by bisection); ranges of
at most ``CHECKED`` values are in addition compared value by value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elasticai.creator.arithmetic import Rounding, shift_round

__all__ = ["Norm", "Rounded", "NoIntegerMap", "fold", "CHECKED", "MAX_SHIFT"]

#: Ranges up to this many values per channel are also compared value by value.
CHECKED = 1 << 20

#: The largest shift ``s`` tried.
MAX_SHIFT = 40


@dataclass(frozen=True)
class Norm:
    """A batch norm's ``float32`` constants per channel, as onnxruntime computes them."""

    mul: np.ndarray
    add: np.ndarray

    @classmethod
    def of(
        cls, scale: np.ndarray, bias: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float
    ) -> Norm:
        f32 = np.float32
        scale, bias, mean, var = (np.asarray(a, f32).ravel() for a in (scale, bias, mean, var))
        inv = f32(1) / np.sqrt(var + f32(eps))
        mul = (inv * scale).astype(f32)
        return cls(mul, (bias - mean * mul).astype(f32))


@dataclass(frozen=True)
class Rounded:
    """The ``Quant`` after the batch norm: ``clamp(round(y * 2**frac), low, high)``."""

    frac: int
    rounding: Rounding
    low: int
    high: int

    def reference(self, x: np.ndarray, x_frac: int, mul: np.float32, add: np.float32) -> np.ndarray:
        """qonnx's result for integers ``x`` (``x * 2**-x_frac`` in ``float32``)."""
        real = (np.asarray(x, dtype=np.float64) * 2.0**-x_frac).astype(np.float32)
        y = (real * mul).astype(np.float32) + add
        t = y * np.float32(2.0**self.frac)
        r = np.round(t) if self.rounding is Rounding.HALF_EVEN else np.floor(t)
        return np.clip(r, self.low, self.high).astype(np.int64)

    def integer(self, x: np.ndarray, a: int, b: int, s: int) -> np.ndarray:
        v = shift_round(np.asarray(x, dtype=object) * a + b, s, self.rounding)
        return np.clip(v, self.low, self.high).astype(np.int64)


class NoIntegerMap(ValueError):
    """No ``A``, ``B``, ``s`` for a channel: the message names it and the first ``x``."""


def fold(
    norm: Norm, lows: list[int], highs: list[int], x_frac: int, out: Rounded, min_shift: int
) -> tuple[list[int], list[int], int]:
    """``A``, ``B`` per channel and the shift ``s >= min_shift`` (the smallest that serves
    every channel); ``NoIntegerMap`` naming every channel without them."""
    found, missing = [], []
    for c, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
        try:
            found.append(_channel(norm.mul[c], norm.add[c], lo, hi, x_frac, out, min_shift, c))
        except NoIntegerMap as error:
            missing.append(str(error))
    if missing:
        raise NoIntegerMap("; ".join(missing))
    s = max(k for _, _, k in found)
    return [a << (s - k) for a, _, k in found], [b << (s - k) for _, b, k in found], s


def _channel(
    mul: np.float32,
    add: np.float32,
    lo: int,
    hi: int,
    x_frac: int,
    out: Rounded,
    min_shift: int,
    c: int,
) -> tuple[int, int, int]:
    points = _steps(lo, hi, lambda x: out.reference(x, x_frac, mul, add), bool(mul < 0))
    ref = out.reference(points, x_frac, mul, add)
    xs = [int(p) for p in points]
    for s in range(min_shift, MAX_SHIFT + 1):
        a0 = round(float(mul) * 2.0 ** (out.frac - x_frac + s))
        b0 = round(float(add) * 2.0 ** (out.frac + s))
        for a in (a0, a0 - 1, a0 + 1, a0 - 2, a0 + 2):
            b = _offset(xs, ref, a, b0, s, out)
            if b is None:
                continue
            # equal on the steps; ranges of at most CHECKED values also value by value
            # (larger ones are equal by monotony, see the module docstring)
            if hi - lo + 1 > CHECKED or (
                _first_difference(lo, hi, a, b, s, x_frac, mul, add, out) is None
            ):
                return a, b, s
    a = round(float(mul) * 2.0 ** (out.frac - x_frac + MAX_SHIFT))
    b = round(float(add) * 2.0 ** (out.frac + MAX_SHIFT))
    differs = np.flatnonzero(out.integer(points, a, b, MAX_SHIFT) != ref)
    if differs.size:
        x = xs[int(differs[0])]
    else:
        first = _first_difference(
            lo, min(hi, lo + CHECKED - 1), a, b, MAX_SHIFT, x_frac, mul, add, out
        )
        x = lo if first is None else first
    want = int(out.reference(np.array([x]), x_frac, mul, add)[0])
    got = int(out.integer(np.array([x]), a, b, MAX_SHIFT)[0])
    raise NoIntegerMap(
        f"channel {c}: no integers A, B, s <= {MAX_SHIFT} give round((x * A + B) / 2**s) equal "
        f"to the float32 batch norm for every accumulator value x in [{lo}, {hi}]; at x = {x} "
        f"it rounds to {want}, the nearest map to {got}"
    )


def _steps(lo: int, hi: int, f: object, falling: bool) -> np.ndarray:
    """Both ends and the values on both sides of every step of the monotone ``f`` on
    ``[lo, hi]`` (vectorized bisection, one search per level)."""
    sign = -1 if falling else 1

    def h(x: np.ndarray) -> np.ndarray:
        return sign * f(x)  # type: ignore[operator]

    ends = np.array([lo, hi], dtype=np.int64)
    first, last = (int(v) for v in h(ends))
    levels = np.arange(first + 1, last + 1, dtype=np.int64)
    left = np.full(levels.size, lo, dtype=np.int64)
    right = np.full(levels.size, hi, dtype=np.int64)
    while (left < right).any():
        mid = (left + right) // 2
        ok = h(mid) >= levels
        right = np.where(ok, mid, right)
        left = np.where(ok, left, mid + 1)
    return np.unique(np.clip(np.concatenate([ends, left, left - 1]), lo, hi))


def _offset(xs: list[int], ref: np.ndarray, a: int, b0: int, s: int, out: Rounded) -> int | None:
    """The ``B`` nearest ``b0`` with ``clamp(shift_round(x * a + B, s)) == ref`` at every
    ``x`` of ``xs``, or ``None``."""
    low_b, high_b = None, None
    for x, r in zip(xs, (int(v) for v in ref), strict=True):
        below, above = _bounds(r, s, out.rounding)
        if r > out.low:
            low_b = below - x * a if low_b is None else max(low_b, below - x * a)
        if r < out.high:
            high_b = above - x * a if high_b is None else min(high_b, above - x * a)
    if low_b is not None and high_b is not None and low_b > high_b:
        return None
    b = b0
    if low_b is not None:
        b = max(b, low_b)
    if high_b is not None:
        b = min(b, high_b)
    return b


def _bounds(r: int, s: int, rounding: Rounding) -> tuple[int, int]:
    """The integers ``v`` with ``shift_round(v, s) == r``: ``[below, above]``."""
    if s == 0:
        return r, r
    if rounding is Rounding.FLOOR:
        return r << s, (r << s) + (1 << s) - 1
    half, odd = 1 << (s - 1), r & 1
    return (r << s) - half + odd, (r << s) + half - odd


def _first_difference(
    lo: int,
    hi: int,
    a: int,
    b: int,
    s: int,
    x_frac: int,
    mul: np.float32,
    add: np.float32,
    out: Rounded,
) -> int | None:
    for start in range(lo, hi + 1, CHECKED):
        x = np.arange(start, min(hi, start + CHECKED - 1) + 1, dtype=np.int64)
        if max(abs(lo), abs(hi)) * abs(a) + abs(b) < 1 << 62:
            v = shift_round(x * a + b, s, out.rounding)
            got = np.clip(v, out.low, out.high)
        else:
            got = out.integer(x, a, b, s)
        bad = np.flatnonzero(got != out.reference(x, x_frac, mul, add))
        if bad.size:
            return int(x[bad[0]])
    return None
