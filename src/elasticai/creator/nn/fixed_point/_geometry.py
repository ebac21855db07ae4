"""Sizes of sliding windows: kernel, stride, dilation and padding as ``(height, width)``
pairs (1-D layers have height 1), and the ``WindowOp`` of a layer over a map."""

from __future__ import annotations

from typing import Any

import numpy as np

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.ir.types import TensorType
from elasticai.creator.ops import WindowOp

__all__ = [
    "pair",
    "pad_pair",
    "out_size",
    "spatial",
    "map_type",
    "window",
    "is_identity",
    "reads_in_order",
]


def pair(value: Any, dims: int) -> tuple[int, int]:
    """A 1-D size ``k`` as ``(1, k)``; a 2-D one as ``(h, w)``."""
    if dims == 1:
        v = value[0] if isinstance(value, tuple | list) else value
        return (1, int(v))
    if isinstance(value, tuple | list):
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def pad_pair(value: Any, dims: int) -> tuple[int, int]:
    """Padding: a 1-D ``p`` as ``(0, p)`` (no padding in the unit height)."""
    if dims == 1:
        return (0, pair(value, 1)[1])
    return pair(value, 2)


def out_size(
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int],
    total_padding: tuple[int, int],
) -> tuple[int, int]:
    return tuple(  # type: ignore[return-value]
        (size[d] + total_padding[d] - dilation[d] * (kernel[d] - 1) - 1) // stride[d] + 1
        for d in range(2)
    )


def spatial(in_type: TensorType, dims: int) -> tuple[int, int]:
    shape = in_type.shape
    return (1, shape[0]) if dims == 1 else (shape[0], shape[1])


def map_type(size: tuple[int, int], channels: int, dims: int, fxp: FixedType) -> TensorType:
    shape = (size[1], channels) if dims == 1 else (size[0], size[1], channels)
    return TensorType(shape, fxp)


def window(
    in_type: TensorType,
    dims: int,
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: tuple[int, int],
    total_padding: tuple[int, int],
    pad_value: int,
    where: str,
) -> WindowOp:
    size = spatial(in_type, dims)
    out = out_size(size, kernel, stride, dilation, padding, total_padding)
    if min(out) < 1:

        def show(sizes: tuple[int, int]) -> str:
            return "x".join(str(v) for v in sizes[2 - dims :])

        raise ValueError(
            f"{where}: a kernel of {show(kernel)} (dilation {show(dilation)}) does not fit "
            f"an input of {show(size)} with padding {show(padding)}"
        )
    return WindowOp(
        channels=in_type.shape[-1],
        in_size=size,
        out_size=out,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        pad_value=pad_value,
    )


def is_identity(w: WindowOp) -> bool:
    return (
        w.kernel == (1, 1)
        and w.stride == (1, 1)
        and w.padding == (0, 0)
        and w.in_size == w.out_size
    )


def reads_in_order(w: WindowOp) -> bool:
    """Whether the windows are the map itself, window after window: every element once,
    in stream order, no padding (e.g. a 1-D pooling whose stride is its kernel). A
    ``reduce`` then reads the map directly, without an ``ec_window``.

    >>> reads_in_order(WindowOp(8, (1, 64), (1, 32), (1, 2), stride=(1, 2)))
    True
    >>> reads_in_order(WindowOp(8, (1, 65), (1, 32), (1, 2), stride=(1, 2)))  # one left over
    False
    >>> reads_in_order(WindowOp(4, (8, 8), (4, 4), (2, 2), stride=(2, 2)))  # two rows a window
    False
    """
    size = w.in_size[0] * w.in_size[1] * w.channels
    return bool(np.array_equal(w.indices().ravel(), np.arange(size)))
