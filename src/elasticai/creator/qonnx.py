"""Import a QONNX graph (as Brevitas exports it) as a bit-exact ``Design``.

``from_qonnx(path_or_model, name)`` reads the graph with the ``onnx`` and ``qonnx``
packages (``pip install 'elasticai.creator[qonnx]'``), cleans it with qonnx's
transformations (shape inference, constant folding: ``qonnx.util.cleanup``'s list, the
node names kept) and maps it onto
the library's IR, node by node:

=========================  ==============================================================
QONNX                      IR
=========================  ==============================================================
``Quant``/``IntQuant``     scale ``2**-f``, ``bit_width`` n, zero point 0: the format
                           ``FixedType(n, f)`` (signed) or ``FixedType(n + 1, f)``
                           (unsigned), clamped to ``[min_int, max_int]`` of the Quant
                           (narrow range, unsigned); rounding ``ROUND``/``HALF_EVEN`` ->
                           ``half_even``, ``FLOOR`` -> ``floor``. On the graph input: the
                           design's input format; on an initializer: integer weights;
                           after a ``Gemm``/``Conv`` (and ``Relu``): the layer's output
                           format, rounding and clamp; elsewhere a ``pointwise`` requantize.
``BipolarQuant``           scale ``2**-f``: weights ``+-1`` of ``FixedType(2, f)``
                           (``max(2, f)`` bits), activations a ``pointwise`` sign
                           ``clamp(2 * x + 1, -1, 1)`` (not on the graph input)
``Gemm``/``MatMul``        ``linear`` (weights ``Quant``-ed initializers, per-channel
                           power-of-two scales aligned to the finest); a ``MatMul`` then
                           an ``Add`` of a ``Quant``-ed constant: its bias
``Conv``                   ``window`` + ``linear`` (groups, pads, strides, dilations)
``Relu``                   a clamp at 0 (fused into the layer before it)
``BatchNormalization``     (float, before a ``Quant``) folded into the layer before it:
                           per channel integers ``A``, ``B`` and a shift ``s`` with
                           ``round((x * A + B) / 2**s)`` equal to onnxruntime's float32
                           result rounded by the ``Quant`` for every accumulator value
                           ``x`` (``frontend/qonnx_norm.py``); refused, naming the
                           channel and an ``x``, where no such integers exist
``MaxPool``                ``window`` + ``reduce`` max
``AveragePool``,           ``window`` + exact ``reduce`` sum, read with ``log2(taps)`` more
``GlobalAveragePool``,     fractional bits (power-of-two kernels only: the exact mean)
``ReduceMean`` (spatial)
``Trunc``                  Brevitas' ``TruncAvgPool2d``/``TruncAdaptiveAvgPool2d``: on a
                           value on its input scale's grid, v2 the ``Quant`` to its output
                           scale and bit width, v1 (5 inputs) the integers divided by
                           ``2**(input - output bit width)`` at the same scale (a
                           ``pointwise`` requantize)
``Add``, ``Concat``        ``add`` (exact), ``concat`` (channels)
``Reshape``/``Flatten``    a map to a vector (no hardware)
``Transpose``              within a sample (``perm[0] = 0``): the stream's element order
                           (no hardware; a ``Flatten``/``Gemm`` after it reads that order)
=========================  ==============================================================

Every rounding the graph makes is made once, in the same place, in the same mode, so the
design computes exactly what qonnx's ``execute_onnx`` and Brevitas compute (their float32
arithmetic is exact on these grids while sums stay below 2**24 LSB). What cannot be
exact is refused, all of it in one ``QonnxImportError``: scales that are not powers of
two, non-zero zero points, rounding modes without an equal of ours, unsupported ops
(what only building finds, e.g. a batch norm without integer equal, is refused then).
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from elasticai.creator.design import Design
from elasticai.creator.frontend import check_design_name
from elasticai.creator.frontend.qonnx import (
    QUANT_OPS,
    SUPPORTED_OPS,
    QonnxImportError,
    build,
)
from elasticai.creator.ir.graph import Graph, ParallelismTarget
from elasticai.creator.passes import run_pipeline

__all__ = ["from_qonnx", "qonnx_to_graph", "QonnxImportError", "SUPPORTED_OPS"]

# --- reading ----------------------------------------------------------------------------


def _load(source: Any) -> Any:
    """The ``onnx.ModelProto`` of a path, bytes, a ``ModelProto`` or a qonnx ``ModelWrapper``."""
    import onnx

    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such ONNX file: {path!r}")
        with open(path, "rb") as f:
            data = f.read()
        what = repr(path)
    elif isinstance(source, bytes):
        data, what = source, "the bytes given"
    elif isinstance(source, onnx.ModelProto):
        return source
    elif hasattr(source, "model") and isinstance(source.model, onnx.ModelProto):
        return source.model
    else:
        raise TypeError(
            "from_qonnx takes a path, bytes, an onnx.ModelProto or a qonnx ModelWrapper, "
            f"not {type(source).__name__}"
        )
    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # protobuf raises DecodeError and others
        raise QonnxImportError(f"{what} is not an ONNX file ({error})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise QonnxImportError(f"{what} is not an ONNX file (it holds no graph with nodes)")
    return model


def _fix_shapes(model: Any) -> None:
    """A fixed batch of 1 where the batch dimension is symbolic; ``QonnxImportError``
    naming every other dimension that is not a fixed number."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    problems = []
    for value in [*inputs, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        for k, dim in enumerate(dims):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            if k == 0:
                dim.dim_value = 1  # the batch: the design takes one sample after the other
                continue
            shown = dim.dim_param or "unknown"
            problems.append(f"{value.name!r} dimension {k} is {shown!r}")
    if problems:
        raise QonnxImportError(
            "the graph has dynamic shapes: " + "; ".join(problems) + ". Export it with a "
            "fixed input shape (every dimension but the batch a number)"
        )
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise QonnxImportError(
            "a design has one input and one output; the graph has "
            f"{[i.name for i in inputs]} and {[o.name for o in model.graph.output]}"
        )


def _clean(model: Any) -> Any:
    """qonnx's ``cleanup_model`` without its renaming (messages name the nodes as the file
    does; nodes without a unique name get ``<op type>_<index>``): shape inference, constant
    folding (``Quant`` kept), unused tensors removed."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import (
        GiveUniqueParameterTensors,
        RemoveStaticGraphInputs,
        RemoveUnusedTensors,
    )
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.quant_constant_folding import FoldTransposeIntoQuantInit

    seen: set[str] = set()
    for k, node in enumerate(model.graph.node):
        if node.op_type in (*QUANT_OPS, "BipolarQuant", "Trunc"):
            node.domain = "qonnx.custom_op.general"
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{k}"
        seen.add(node.name)
    wrapper = ModelWrapper(model)
    for transformation in (
        InferShapes(),
        GiveUniqueParameterTensors(),
        FoldConstants(exclude_op_types=[*QUANT_OPS, "BipolarQuant", "Trunc"]),
        FoldTransposeIntoQuantInit(),
        RemoveUnusedTensors(),
        RemoveStaticGraphInputs(),
    ):
        wrapper = wrapper.transform(transformation)
    return wrapper


# --- the entry points -------------------------------------------------------------------


def qonnx_to_graph(source: Any, name: str = "qonnx_model") -> Graph:
    """The IR of a QONNX graph (before passes); see ``from_qonnx``."""
    try:
        import qonnx  # noqa: F401
    except ImportError as error:  # pragma: no cover - the optional extra
        raise ImportError(
            "importing QONNX needs the onnx and qonnx packages: "
            "pip install 'elasticai.creator[qonnx]'"
        ) from error
    check_design_name(name)
    model = _load(source)
    model = type(model).FromString(model.SerializeToString())  # never change the caller's
    _fix_shapes(model)
    wrapper = _clean(model)
    return build(wrapper, name)


def from_qonnx(
    source: Any,
    name: str = "qonnx_model",
    *,
    parallelism: str | None = None,
    target_ii: int | None = None,
    max_multipliers: int | None = None,
    pipeline_levels: int | None = None,
) -> Design:
    """The ``Design`` of a QONNX graph (a path, bytes, ``onnx.ModelProto`` or qonnx
    ``ModelWrapper``, e.g. from ``brevitas.export.export_qonnx``), computing exactly what
    the graph computes. Its input is the first ``Quant``'s format (``design.simulate(x)``
    rounds real inputs as that ``Quant`` does); the parallelism options are
    ``create_design``'s. Nothing is written; ``QonnxImportError`` lists everything that
    cannot be imported exactly."""
    if parallelism not in (None, "serial", "full"):
        raise ValueError(f"parallelism must be 'serial' or 'full', not {parallelism!r}")
    target = ParallelismTarget(target_ii, max_multipliers, parallelism == "full", pipeline_levels)
    graph = replace(qonnx_to_graph(source, name), parallelism=target)
    return Design(run_pipeline(graph))
