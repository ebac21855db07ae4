"""elasticai.creator: design, train and translate quantized networks into bit-exact VHDL.

``create_design(model, name, **options)`` translates any traceable ``nn.Module``;
``from_qonnx(path_or_model, name, **options)`` imports a QONNX graph (Brevitas' export).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticai.creator.design import Design

__all__ = ["create_design", "from_qonnx"]


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
