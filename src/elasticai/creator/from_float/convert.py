"""``quantize``: a float PyTorch model -> the same graph of the library's layers.

The float model is traced with torch.fx; every node is looked up first (``checks``,
``layers``), and whatever cannot be converted is reported in one error before anything
is built.
The float model then runs on the calibration data (``ranges.calibrate``), each layer's
formats follow from the ranges seen (``ranges.frac_bits_for``) and the overrides, and
the new graph calls the library's layers where the float one called PyTorch's.
"""

from __future__ import annotations

import contextlib
import copy
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, cast

import torch
import torch.fx

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.from_float.checks import (
    BATCH_NORMS,
    READ_INPUT,
    Layer,
    check_bits,
    check_data,
    check_overrides,
    plan,
    trace,
)
from elasticai.creator.from_float.ranges import RECURRENT, Range, calibrate, frac_bits_for
from elasticai.creator.frontend.torch_fx import position
from elasticai.creator.nn.fixed_point.batchnorm import fold, link_batch_norm
from elasticai.creator.nn.fixed_point.elementwise import quantize as quantize_tensor

__all__ = ["quantize", "QuantizedModel"]

#: Layers a batch norm after them is folded into.
_FOLDS_INTO = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)


class QuantizedModel(torch.fx.GraphModule):
    """What ``quantize`` returns: the float model's graph calling the library's layers
    (at the float model's module names; calls such as ``torch.sigmoid`` became layers
    named after them). It trains (quantization-aware) with an ordinary loop and
    translates with ``create_design``. ``formats`` holds the keyword arguments each
    layer got, ``input_format`` the format the model input is rounded to by a
    ``quantize`` of its own (where several layers or a join read it; else ``None``: the
    first layer rounds it), ``input_shape`` the shape of one sample of the calibration data,
    which ``create_design`` takes unless given another."""

    formats: dict[str, dict[str, Any]]
    input_format: FixedType | None
    input_shape: tuple[int, ...] | None

    def __init__(
        self,
        root: Any,
        graph: torch.fx.Graph,
        formats: dict[str, dict[str, Any]] | None = None,
        input_format: FixedType | None = None,
        input_shape: tuple[int, ...] | None = None,
        class_name: str = "QuantizedModel",
    ) -> None:
        super().__init__(root, graph, class_name)
        self.formats = dict(formats or {})
        self.input_format = input_format
        self.input_shape = input_shape

    def __deepcopy__(self, memo: dict[int, Any]) -> QuantizedModel:
        copied = cast(QuantizedModel, super().__deepcopy__(memo))
        copied.formats = copy.deepcopy(self.formats, memo)
        copied.input_format = self.input_format
        copied.input_shape = self.input_shape
        return copied

    def create_design(self, name: str, **options: Any) -> Any:
        """``elasticai.creator.create_design(self, name, **options)``, with the calibration
        data's sample shape as ``input_shape`` unless ``options`` give one."""
        from elasticai.creator.frontend import create_design

        if self.input_shape is not None:
            options.setdefault("input_shape", self.input_shape)
        return create_design(self, name, **options)


def quantize(
    model: torch.nn.Module,
    calibration_data: Any,
    total_bits: int = 8,
    *,
    weight_total_bits: int | None = None,
    bias_total_bits: int | None = None,
    percentile: float | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> QuantizedModel:
    """See ``elasticai.creator.quantize``."""
    check_bits(total_bits, weight_total_bits, bias_total_bits, percentile)
    traced = trace(model)
    layers, replaced = plan(traced)
    chosen = check_overrides(overrides, layers)
    data, batch_dim = check_data(calibration_data, traced)
    with _evaluating(model):
        try:
            ranges = calibrate(traced, data, percentile, batch_dim)
        except Exception as error:  # whatever the model's forward raises
            raise ValueError(
                f"the model cannot run on calibration_data of shape {tuple(data.shape)}: {error}"
            ) from error
    folded = _folded_batch_norms(traced)
    widths = {"weight": weight_total_bits, "bias": bias_total_bits}
    formats: dict[str, dict[str, Any]] = {}
    for name, layer in layers.items():
        sizes = _magnitudes(traced, layer, ranges, folded)
        formats[name] = _keywords(layer, sizes, chosen.get(name, {}), total_bits, widths)
    placeholder = next(n for n in traced.graph.nodes if n.op == "placeholder")
    input_format = None
    if _rounds_input_apart(traced, placeholder):
        magnitude = ranges[placeholder.name].magnitude
        input_format = FixedType(total_bits, frac_bits_for(magnitude, total_bits))
    sample = tuple(s for k, s in enumerate(data.shape) if k != batch_dim)
    return _build(traced, layers, replaced, formats, folded, input_format, sample)


@contextlib.contextmanager
def _evaluating(model: torch.nn.Module) -> Iterator[None]:
    """``model`` in ``eval()`` (batch norms with running statistics, no dropout), then
    every module back in the mode it was in."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, mode in modes.items():
            m.training = mode


# --- formats ----------------------------------------------------------------------------


def _folded_batch_norms(traced: torch.fx.GraphModule) -> dict[str, str]:
    """The batch norms the library folds into the layer before them (``link_batch_norms``
    of the frontend: that layer's only reader, each called once): batch norm -> layer."""
    calls = Counter(str(n.target) for n in traced.graph.nodes if n.op == "call_module")
    folded = {}
    for node in traced.graph.nodes:
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        bn = traced.get_submodule(str(node.target))
        producer = node.args[0]
        if not isinstance(bn, BATCH_NORMS) or not isinstance(producer, torch.fx.Node):
            continue
        if producer.op != "call_module" or len(producer.users) != 1:
            continue
        layer = traced.get_submodule(str(producer.target))
        channels = getattr(layer, "out_channels", getattr(layer, "out_features", None))
        if (
            type(layer) in _FOLDS_INTO
            and channels == bn.num_features
            and calls[str(producer.target)] == calls[str(node.target)] == 1
        ):
            folded[str(node.target)] = str(producer.target)
    return folded


def _largest(*tensors: torch.Tensor | None) -> float:
    values = [float(t.detach().abs().max()) for t in tensors if t is not None and t.numel()]
    return max(values, default=0.0)


def _magnitudes(
    traced: torch.fx.GraphModule,
    layer: Layer,
    ranges: dict[str, Range],
    folded: dict[str, str],
) -> dict[str, float]:
    """The size of the values of each role of ``layer``: ``""`` its input and output
    (a folded batch norm: its output), ``weight``, ``bias`` (with a batch norm folded in:
    the larger of the float and the folded ones), ``gate``, ``act``, ``cell``."""
    io: Range | None = None
    recurrent = isinstance(layer.source, RECURRENT)
    for node in layer.nodes:
        seen = [ranges[f"{node.name}:state" if recurrent else node.name]]
        source = node.args[0] if node.args else None
        if layer.name not in folded and isinstance(source, torch.fx.Node):
            seen.append(ranges[source.name])
        for r in seen:
            io = r if io is None else io.merge(r)
    sizes = {"": io.magnitude if io is not None else 0.0}
    m = layer.source
    if recurrent:
        weights = [p for name, p in m.named_parameters() if name.startswith("weight")]
        biases = [p for name, p in m.named_parameters() if name.startswith("bias")]
        sizes["weight"], sizes["bias"] = _largest(*weights), _largest(*biases)
        node = layer.nodes[0]
        for role in ("gate", "act", "cell"):
            key = f"{node.name}:{role}"
            sizes[role] = max(
                (ranges[f"{n.name}:{role}"].magnitude for n in layer.nodes if key in ranges),
                default=0.0,
            )
    elif isinstance(m, _FOLDS_INTO):
        weight, bias = m.weight, m.bias
        bn_name = next((b for b, p in folded.items() if p == layer.name), None)
        if bn_name is not None:
            folded_weight, folded_bias = fold(m, traced.get_submodule(bn_name))
            sizes["weight"] = _largest(weight, folded_weight)
            sizes["bias"] = _largest(bias, folded_bias)
        else:
            sizes["weight"], sizes["bias"] = _largest(weight), _largest(bias)
    return sizes


def _keywords(
    layer: Layer,
    sizes: dict[str, float],
    given: dict[str, Any],
    total_bits: int,
    widths: dict[str, int | None],
) -> dict[str, Any]:
    """The keyword arguments of ``layer``: ``given`` (an override) as it is, every other
    format by the rule. Totals: the role's own override, else the model-wide
    ``weight_total_bits``/``bias_total_bits``, else the layer's ``total_bits``."""
    kind = layer.kind
    if not kind.roles or (
        kind.formatless and "total_bits" not in given and "frac_bits" not in given
    ):
        return dict(given)
    keywords: dict[str, Any] = {}
    layer_total: int = given.get("total_bits", total_bits)
    for role in kind.roles:
        prefix = f"{role}_" if role else ""
        model_wide = widths.get(role)
        total = given.get(f"{prefix}total_bits", layer_total if model_wide is None else model_wide)
        frac = given.get(f"{prefix}frac_bits")
        if frac is None:
            frac = frac_bits_for(sizes.get(role, 0.0), total)
            if role == "bias":  # finer than the products adds nothing but width
                frac = min(frac, keywords["frac_bits"] + keywords["weight_frac_bits"])
        keywords[f"{prefix}total_bits"], keywords[f"{prefix}frac_bits"] = total, frac
    return {**keywords, **given}


# --- the new graph ------------------------------------------------------------------------


def _rounds_input_apart(traced: torch.fx.GraphModule, placeholder: torch.fx.Node) -> bool:
    """Whether the model input is rounded by ``quantize`` before the layers read it: unless
    one ``Linear``, convolution or recurrent layer reads it (which rounds it itself)."""
    users = list(placeholder.users)
    if len(users) == 1 and users[0].op == "call_module":
        module = traced.get_submodule(str(users[0].target))
        return not isinstance(module, READ_INPUT)
    return bool(users)


def _build(
    traced: torch.fx.GraphModule,
    layers: dict[str, Layer],
    replaced: dict[torch.fx.Node, str],
    formats: dict[str, dict[str, Any]],
    folded: dict[str, str],
    input_format: FixedType | None,
    input_shape: tuple[int, ...],
) -> QuantizedModel:
    modules: dict[str, torch.nn.Module] = {}
    for name, layer in layers.items():
        try:
            modules[name] = layer.kind.build(layer.source, formats[name])
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"{position(name)} ({layer.kind.library.__name__}) with {formats[name]}: {error}"
            ) from error
    for bn, producer in folded.items():
        link_batch_norm(modules[producer], modules[bn])
    graph = torch.fx.Graph()
    env: dict[torch.fx.Node, torch.fx.Node] = {}
    for node in traced.graph.nodes:
        if node.op == "placeholder":
            value = graph.placeholder(node.name)
            if input_format is not None:
                t = input_format
                value = graph.call_function(quantize_tensor, (value, t.total_bits, t.frac_bits))
            env[node] = value
        elif node in replaced:
            source = cast(torch.fx.Node, node.args[0])
            env[node] = graph.call_module(replaced[node], (env[source],))
        else:
            env[node] = graph.node_copy(node, lambda n: env[n])
    graph.lint()
    model = QuantizedModel(modules, graph, formats, input_format, input_shape)
    return model.eval()
