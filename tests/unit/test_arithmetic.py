"""The arithmetic spec against exact rational arithmetic (fractions)."""

import doctest
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elasticai.creator import arithmetic
from elasticai.creator.arithmetic import (
    FixedType,
    Overflow,
    Rounding,
    quantize_float,
    requantize,
    shift_round,
    signed_width,
)


def exact_round(value: Fraction, rounding: Rounding) -> int:
    floor = math.floor(value)
    rest = value - floor
    if rounding is Rounding.FLOOR:
        return floor
    if rounding is Rounding.HALF_UP:
        return floor + (rest >= Fraction(1, 2))
    if rest == Fraction(1, 2):
        return floor + (floor % 2)
    return floor + (rest > Fraction(1, 2))


def test_doctests():
    assert doctest.testmod(arithmetic).failed == 0


@given(st.integers(-(2**70), 2**70), st.integers(-8, 40), st.sampled_from(list(Rounding)))
def test_shift_round_is_exact_rounding_of_the_quotient(v, shift, rounding):
    assert shift_round(v, shift, rounding) == exact_round(
        Fraction(v, 1) / Fraction(2) ** shift, rounding
    )


@given(
    st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=20),
    st.integers(0, 30),
    st.sampled_from(list(Rounding)),
)
def test_shift_round_arrays_match_ints(values, shift, rounding):
    got = shift_round(np.array(values, dtype=np.int64), shift, rounding)
    assert got.tolist() == [shift_round(v, shift, rounding) for v in values]


formats = st.integers(2, 32).flatmap(lambda t: st.builds(FixedType, st.just(t), st.integers(0, t)))


@given(st.integers(-(2**40), 2**40), st.integers(0, 40), formats, st.sampled_from(list(Rounding)))
def test_requantize_saturates_and_wraps(v, frac, t, rounding):
    rounded = shift_round(v, frac - t.frac_bits, rounding)
    sat = requantize(v, frac, t, rounding, Overflow.SATURATE)
    wrapped = requantize(v, frac, t, rounding, Overflow.WRAP)
    assert sat == min(max(rounded, t.min_int), t.max_int)
    assert t.min_int <= wrapped <= t.max_int
    assert (wrapped - rounded) % (1 << t.total_bits) == 0


@given(st.floats(-1e6, 1e6, allow_nan=False), formats, st.sampled_from(list(Rounding)))
def test_quantize_float_rounds_the_exact_value(x, t, rounding):
    expected = exact_round(Fraction(x) * 2**t.frac_bits, rounding)
    assert int(quantize_float(x, t, rounding)) == min(max(expected, t.min_int), t.max_int)


def test_signed_width():
    assert [signed_width(-1, 0), signed_width(-129, 0), signed_width(0, 255)] == [1, 9, 9]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1, 0), "total_bits must be at least 2, not 1"),
        ((8, 9), "frac_bits must not exceed total_bits (8), not 9"),
        ((8, -1), "frac_bits must not be negative, not -1"),
    ],
)
def test_illegal_formats_are_refused_with_the_rule_and_value(args, message):
    with pytest.raises(ValueError) as error:
        FixedType(*args)
    assert str(error.value) == message


def test_quantize_float_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        quantize_float([0.0, float("nan")], FixedType(8, 4))
