"""QONNX graph checks behind ``elasticai.creator.from_qonnx``: the ops it maps, each
``Quant``'s (and ``Trunc``'s, ``BipolarQuant``'s) constants, and one ``QonnxImportError``
listing every node that cannot be imported exactly, before anything is built."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from elasticai.creator.arithmetic import FixedType, Rounding, signed_width

__all__ = [
    "QonnxImportError",
    "SUPPORTED_OPS",
    "QUANT_OPS",
    "ROUNDING",
    "QuantSpec",
    "attr",
    "check",
]

QUANT_OPS = ("Quant", "IntQuant")

#: The ONNX ops the importer maps onto the IR.
SUPPORTED_OPS = (
    *QUANT_OPS,
    "Gemm",
    "MatMul",
    "Conv",
    "Relu",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "ReduceMean",
    "Add",
    "Concat",
    "Reshape",
    "Flatten",
    "Trunc",
    "Transpose",
    "BatchNormalization",
    "BipolarQuant",
)

#: QONNX rounding modes that equal one of ours (qonnx's ``HALF_UP`` rounds ties away from
#: zero, ours towards plus infinity: not the same).
ROUNDING = {"ROUND": Rounding.HALF_EVEN, "HALF_EVEN": Rounding.HALF_EVEN, "FLOOR": Rounding.FLOOR}


class QonnxImportError(ValueError):
    """A file or graph that cannot be imported exactly; the message names every cause."""


# --- checking: everything that cannot be exact, in one error ---------------------------


@dataclass(frozen=True)
class QuantSpec:
    """A ``Quant`` node's constants: ``y = clamp(round(x / 2**-frac), low, high) * 2**-frac``
    (``frac`` per channel for weights)."""

    frac: np.ndarray
    bits: int
    signed: bool
    narrow: bool
    rounding: Rounding
    in_frac: int | None = None  # a Trunc's input scale 2**-in_frac
    drop: int | None = None  # a Trunc v1's: its integers divided by 2**drop, no clamp

    @property
    def low(self) -> int:
        if not self.signed:
            return 0
        return -(1 << (self.bits - 1)) + int(self.narrow)

    @property
    def high(self) -> int:
        if self.signed:
            return (1 << (self.bits - 1)) - 1
        return (1 << self.bits) - 1 - int(self.narrow)

    def fixed_type(self, frac: int) -> FixedType:
        """The format holding ``[low, high]`` with ``frac`` fractional bits."""
        return FixedType(max(signed_width(self.low, self.high), frac, 2), frac)


def attr(node: Any, name: str, default: Any) -> Any:
    import onnx

    for a in node.attribute:
        if a.name == name:
            value = onnx.helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _frac_of(scale: Any, what: str, where: str, problems: list[str]) -> np.ndarray | None:
    """``-log2(scale)`` (per channel), or ``None`` after adding why it is not a power of two
    of at most 1 to ``problems``."""
    scale = np.asarray(scale, dtype=np.float64)
    exponent = np.log2(np.where(scale > 0, scale, 3.0))  # 3: not a power of two
    frac = -np.round(exponent)
    odd = scale[(scale <= 0) | (exponent != np.round(exponent))]
    if odd.size:
        problems.append(f"{where}: {what} {float(odd.ravel()[0])!r} is not a power of two")
        return None
    if (frac < 0).any():
        problems.append(f"{where}: {what} {float(scale.max())!r} is above 1 (a negative frac_bits)")
        return None
    return frac.astype(np.int64)


def _quant_of(
    node: Any, wrapper: Any, problems: list[str], scale_input: int = 1, bits_input: int = 3
) -> QuantSpec | None:
    """The constants of a ``Quant`` node (or of a ``Trunc``'s output: its output scale and
    bit width), or ``None`` after adding what is wrong to ``problems``."""
    where = f"{node.name} ({node.op_type})"
    scale, zero, bits = (
        wrapper.get_initializer(node.input[k]) for k in (scale_input, 2, bits_input)
    )
    bad = len(problems)
    if scale is None or zero is None or bits is None:
        problems.append(f"{where}: scale, zero point and bit width must be constants")
        return None
    what = "output scale" if node.op_type == "Trunc" else "scale"
    frac = _frac_of(scale, what, where, problems)
    if np.any(np.asarray(zero) != 0):
        problems.append(f"{where}: zero point {float(np.asarray(zero).ravel()[0])!r} is not 0")
    b = float(np.asarray(bits).ravel()[0])
    if b != int(b) or b < 2:
        problems.append(f"{where}: bit width {b!r} is not an integer of at least 2")
    mode = str(attr(node, "rounding_mode", "ROUND")).upper()
    if mode not in ROUNDING:
        problems.append(
            f"{where}: rounding_mode {mode!r} has no exact equal here (supported: "
            f"{', '.join(ROUNDING)})"
        )
    if len(problems) > bad or frac is None:
        return None
    return QuantSpec(
        frac,
        int(b),
        bool(attr(node, "signed", 1)),
        bool(attr(node, "narrow", 0)),
        ROUNDING[mode],
    )


def _trunc_of(node: Any, wrapper: Any, problems: list[str]) -> QuantSpec | None:
    """A ``Trunc`` (QONNX v2: ``x, scale, zeropt, input_bit_width, output_scale,
    output_bit_width``): ``y = clamp(round(x / scale) / 2**t) rounded`` with
    ``2**t = output_scale / scale``, times ``output_scale``. With ``x`` on the grid of
    ``scale`` (checked when building) that is the ``Quant`` of ``x`` to ``output_scale``
    and ``output_bit_width`` (clamping before or after rounding to integer bounds is the
    same): that ``Quant``, with ``in_frac`` the input scale's."""
    where = f"{node.name} ({node.op_type})"
    if len(node.input) == 5:
        return _trunc_v1(node, wrapper, problems)
    if len(node.input) != 6:
        problems.append(f"{where}: a Trunc has 5 (v1) or 6 (v2) inputs, not {len(node.input)}")
        return None
    bad = len(problems)
    scale = wrapper.get_initializer(node.input[1])
    in_frac = None if scale is None else _frac_of(scale, "scale", where, problems)
    q = _quant_of(node, wrapper, problems, scale_input=4, bits_input=5)
    if q is None or in_frac is None or len(problems) > bad:
        return None
    if q.frac.size != 1 or in_frac.size != 1:
        problems.append(f"{where}: per-channel scales are supported for weights only")
        return None
    return replace(q, in_frac=int(in_frac.ravel()[0]))


def _trunc_v1(node: Any, wrapper: Any, problems: list[str]) -> QuantSpec | None:
    """A ``Trunc`` v1 (``x, scale, zeropt, input_bit_width, output_bit_width``):
    ``round(x / scale) / 2**(input_bit_width - output_bit_width)`` rounded, times ``scale``
    (the scale kept, no clamp)."""
    where = f"{node.name} ({node.op_type})"
    bad = len(problems)
    q = _quant_of(node, wrapper, problems, scale_input=1, bits_input=4)
    wide = wrapper.get_initializer(node.input[3])
    if q is None or wide is None or len(problems) > bad:
        if wide is None and len(problems) == bad:
            problems.append(f"{where}: the input bit width must be a constant")
        return None
    drop = float(np.asarray(wide).ravel()[0]) - q.bits
    if drop != int(drop) or drop < 0:
        problems.append(f"{where}: input bit width minus output bit width is {drop!r}")
        return None
    if q.frac.size != 1:
        problems.append(f"{where}: per-channel scales are supported for weights only")
        return None
    return replace(q, in_frac=int(q.frac.ravel()[0]), drop=int(drop))


def check(wrapper: Any) -> dict[str, QuantSpec]:
    """Every ``Quant`` node's constants by node name; ``QonnxImportError`` listing every node
    that cannot be imported exactly."""
    nodes = list(wrapper.graph.node)
    if not any(n.op_type in (*QUANT_OPS, "BipolarQuant", "Trunc") for n in nodes):
        raise QonnxImportError(
            "the graph has no quantization nodes (Quant): it is a float model. Quantize it "
            "first: elasticai.creator.quantize turns a float PyTorch model into a fixed-point "
            "one, or export a Brevitas model with power-of-two scales"
        )
    problems: list[str] = []
    quants = {}
    for node in nodes:
        if node.op_type == "BipolarQuant":
            scale = wrapper.get_initializer(node.input[1])
            if scale is None:
                problems.append(f"{node.name} (BipolarQuant): the scale must be a constant")
            else:
                frac = _frac_of(scale, "scale", f"{node.name} (BipolarQuant)", problems)
                if frac is not None and frac.size != 1:
                    problems.append(f"{node.name} (BipolarQuant): a per-channel scale")
                elif frac is not None:
                    quants[node.name] = QuantSpec(frac, 2, True, False, Rounding.FLOOR)
        elif node.op_type in (*QUANT_OPS, "Trunc"):
            reader = _trunc_of if node.op_type == "Trunc" else _quant_of
            q = reader(node, wrapper, problems)
            if q is not None:
                quants[node.name] = q
        elif node.op_type == "Transpose":
            perm = list(attr(node, "perm", []))
            if not perm or perm[0] != 0:
                shown = perm or "reversed (the default)"
                problems.append(
                    f"{node.name} (Transpose): perm {shown} moves the batch dimension; only "
                    "a layout change within a sample (perm[0] = 0) is supported"
                )
        elif node.op_type not in SUPPORTED_OPS:
            problems.append(f"{node.name} ({node.op_type}): not supported")
    if problems:
        raise QonnxImportError("the graph cannot be imported exactly:\n  " + "\n  ".join(problems))
    return quants
