"""elasticai.creator: design, train and translate quantized networks into bit-exact VHDL.

``create_design(model, name, **options)`` translates any traceable ``nn.Module``,
``from_qonnx(path_or_model, name, **options)`` imports a QONNX graph (Brevitas' export),
``quantize(model, calibration_data, total_bits=8, ...)`` turns a float PyTorch model into
one of the library's fixed-point layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticai.creator.design import Design
    from elasticai.creator.from_float import QuantizedModel

__all__ = ["create_design", "from_qonnx", "quantize"]


def create_design(model: Any, name: str, **options: Any) -> Design:
    """Translate ``model`` (any ``torch.nn.Module`` whose ``forward`` torch.fx traces, in
    ``eval()``) into a ``Design`` whose top-level VHDL entity is ``name``. ``options``:
    ``input_shape`` (without batch), and one of ``parallelism="full"``, ``target_ii``,
    ``max_multipliers``."""
    from elasticai.creator.frontend import create_design as translate

    return translate(model, name, **options)


def from_qonnx(source: Any, name: str = "qonnx_model", **options: Any) -> Design:
    """The bit-exact ``Design`` of a QONNX graph (a path, bytes, ``onnx.ModelProto`` or
    qonnx ``ModelWrapper``), e.g. exported by ``brevitas.export.export_qonnx``; needs
    ``pip install 'elasticai.creator[qonnx]'``. See ``elasticai.creator.qonnx``."""
    from elasticai.creator.qonnx import from_qonnx as translate

    return translate(source, name, **options)


def quantize(
    model: Any,
    calibration_data: Any,
    total_bits: int = 8,
    *,
    weight_total_bits: int | None = None,
    bias_total_bits: int | None = None,
    percentile: float | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> QuantizedModel:
    """A float PyTorch ``model`` as the same graph of the library's fixed-point layers, with
    its weights and formats chosen from the ranges seen on ``calibration_data`` (a batch of
    inputs: ``(batch, features)``, ``(batch, channels, length)``, ...).

    Every ``torch.nn`` layer becomes the library's (``Linear``, ``Conv1d/2d``,
    ``BatchNorm1d/2d``, pooling, activations, ``LSTM``/``GRU``/``RNN``, ``Flatten``,
    ``Dropout``; ``torch.sigmoid``, ``F.silu``, ... become layers named after the call),
    ``a + b`` and ``torch.cat`` stay exact joins. What cannot be converted is listed in one
    ``UnsupportedModuleError`` before anything is built. The result is in ``eval()``; it
    trains (quantization-aware) with an ordinary loop and translates with
    ``create_design``; ``result.formats`` shows what each layer got.

    The rule: a layer's ``frac_bits`` is ``total_bits - 1 - I``, ``I`` the smallest integer
    with ``m < 2**I`` (the sign bit apart), within ``0 .. total_bits``; ``m`` is the largest
    ``|value|`` its input and output take on the data (the ``percentile`` of the ``|value|``
    where given, e.g. ``99.99``). A batch norm folded into the layer before it counts its
    output only; a recurrent layer's gates, activations and LSTM cell get formats of their
    own the same way. Weights and biases take ``m`` from their own values (with a batch
    norm folded in: the larger of the float and the folded ones; the bias at most as fine
    as the products), with ``weight_total_bits``/``bias_total_bits`` bits (default: the
    layer's). ``ReLU`` and max pooling keep the format of what they read. The model input
    is rounded by the first layer, or by a ``quantize`` of its own format (by the rule)
    where several layers or a join read it.

    ``overrides``: ``{"fc1": dict(total_bits=4), "block.conv2": dict(weight_total_bits=4,
    parallelism="full")}``, by the float model's module names (a call's layer: its name
    in the result), the layer's keyword arguments; formats not given follow the rule at
    the given widths.
    """
    from elasticai.creator.from_float import quantize as convert

    return convert(
        model,
        calibration_data,
        total_bits,
        weight_total_bits=weight_total_bits,
        bias_total_bits=bias_total_bits,
        percentile=percentile,
        overrides=overrides,
    )
