"""The types values carry through the IR: a shape and a number format per tensor."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from elasticai.creator.arithmetic import FixedType

__all__ = ["TensorType", "frozen_array", "sum_type", "common_type"]


@dataclass(frozen=True)
class TensorType:
    """Shape (without batch) and number format of a value.

    A map is ``(*spatial, channels)``: it streams channels last.
    """

    shape: tuple[int, ...]
    dtype: FixedType

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def channels(self) -> int:
        """Elements per position (the last dimension)."""
        return self.shape[-1]

    @property
    def positions(self) -> int:
        return self.size // self.shape[-1]


def frozen_array(values: object) -> np.ndarray:
    """An ``int64`` (or Python-int ``object``) array that cannot be written to."""
    array = np.array(values)
    if array.dtype != object:
        array = array.astype(np.int64)
    array.flags.writeable = False
    return array


def common_type(a: FixedType, b: FixedType) -> FixedType:
    """The smallest format holding every value of ``a`` and of ``b`` exactly: the finer
    fraction and the wider integer part.

    >>> str(common_type(FixedType(8, 4), FixedType(6, 1)))
    'Q9.4'
    """
    frac = max(a.frac_bits, b.frac_bits)
    return FixedType(max(a.total_bits - a.frac_bits, b.total_bits - b.frac_bits) + frac, frac)


def sum_type(a: FixedType, b: FixedType) -> FixedType:
    """The format of ``a + b`` or ``a - b`` for every value of ``a`` and ``b``, exactly: the
    common format with one more integer bit.

    >>> str(sum_type(FixedType(8, 4), FixedType(8, 4)))
    'Q9.4'
    """
    common = common_type(a, b)
    return FixedType(common.total_bits + 1, common.frac_bits)
