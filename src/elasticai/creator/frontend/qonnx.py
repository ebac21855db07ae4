"""QONNX graph -> IR graph: the node-by-node mapping behind
``elasticai.creator.from_qonnx`` (the module docstring there has the table; the checks
before it are in ``qonnx_checks``).

Works on a cleaned qonnx ``ModelWrapper``; every handler gets the ONNX node and a name for
messages (``"<node name> (<op type>)"``) and returns the tensor's value: an IR ``Value``,
a quantized constant (``_Param``) or an accumulator whose rounding the next ``Quant``
decides (``_Acc``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from elasticai.creator.arithmetic import (
    FixedType,
    Overflow,
    Rounding,
    shift_round,
    signed_width,
)
from elasticai.creator.frontend.joins import add_values, concat_values
from elasticai.creator.frontend.modules import flatten
from elasticai.creator.frontend.qonnx_checks import (
    QUANT_OPS,
    SUPPORTED_OPS,
    QonnxImportError,
    QuantSpec,
    attr,
    check,
)
from elasticai.creator.frontend.qonnx_norm import NoIntegerMap, Norm, Rounded, fold
from elasticai.creator.frontend.values import Builder, FrontendError, Value
from elasticai.creator.ir.graph import INPUT, Graph, GraphInput, GraphOutput
from elasticai.creator.ir.types import TensorType, frozen_array
from elasticai.creator.nn.fixed_point import _geometry as geo
from elasticai.creator.nn.fixed_point import _pointwise
from elasticai.creator.nn.fixed_point._steps import Step
from elasticai.creator.nn.fixed_point.pooling import _pool_steps
from elasticai.creator.ops import LinearOp, PointwiseOp, ReduceOp

__all__ = ["QonnxImportError", "SUPPORTED_OPS", "QUANT_OPS", "build"]

# --- building the IR ------------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    """A quantized initializer: its integers (ONNX shape) and their format."""

    ints: np.ndarray
    fxp: FixedType


@dataclass(frozen=True)
class _Acc:
    """The exact result of a ``Gemm``/``Conv`` not yet rounded: the linear op's operands
    and steps so far; a ``Relu`` then a ``Quant`` after it fix its output format."""

    x: Value
    steps: tuple[tuple[str, TensorType, Any], ...]  # (kind, type, op) before the linear
    op: LinearOp
    shape: tuple[int, ...]  # the linear node's stream shape
    relu: bool
    source: str
    norm: Norm | None = None  # a float batch norm after the sum (before the relu)


class _Importer:
    def __init__(self, wrapper: Any, quants: dict[str, QuantSpec]) -> None:
        self.w = wrapper
        self.quants = quants
        self.b = Builder(None)
        self.env: dict[str, Any] = {}
        self.problems: list[str] = []  # found while building (batch norms without integers)
        self.uses: dict[str, int] = {}
        for n in wrapper.graph.node:
            for i in n.input:
                self.uses[i] = self.uses.get(i, 0) + 1
        for o in wrapper.graph.output:
            self.uses[o.name] = self.uses.get(o.name, 0) + 1

    # --- values ---------------------------------------------------------------------

    def value(self, name: str, where: str) -> Value:
        """The IR value of tensor ``name``, rounding a pending accumulator exactly."""
        v = self.env.get(name)
        if isinstance(v, _Acc):  # every reader shares the one exact result
            v = self.env[name] = self.exact(v)
        if isinstance(v, Value) and not v.raw:
            return v
        if isinstance(v, Value):
            raise QonnxImportError(
                f"{where} reads the graph input {name!r} before a Quant: the design takes "
                "fixed-point inputs (quantize the input first)"
            )
        raise QonnxImportError(f"{where} reads {name!r}, which is neither quantized nor computed")

    def param(self, name: str, where: str) -> _Param:
        v = self.env.get(name)
        if not isinstance(v, _Param):
            raise QonnxImportError(
                f"{where}: {name!r} must be a quantized constant (a Quant of an initializer)"
            )
        return v

    # --- nodes -------------------------------------------------------------------------

    def run(self) -> Graph:
        x = self.w.graph.input[0]
        shape = tuple(self.w.get_tensor_shape(x.name))[1:]
        self.env[x.name] = Value(
            x.name, TensorType(shape or (1,), FixedType(2, 0)), shape, raw=True
        )
        handlers: dict[str, Callable[[Any, str], Any]] = {
            "Quant": self.quant,
            "IntQuant": self.quant,
            "Gemm": self.gemm,
            "MatMul": self.gemm,
            "Conv": self.conv,
            "Relu": self.relu,
            "MaxPool": self.pool,
            "AveragePool": self.pool,
            "GlobalAveragePool": self.pool,
            "ReduceMean": self.pool,
            "Add": self.add,
            "Concat": self.concat,
            "Reshape": self.reshape,
            "Flatten": self.reshape,
            "Trunc": self.trunc,
            "Transpose": self.transpose,
            "BatchNormalization": self.batch_norm,
            "BipolarQuant": self.bipolar,
        }
        for node in self.w.graph.node:
            where = f"{node.name} ({node.op_type})"
            try:
                self.env[node.output[0]] = handlers[node.op_type](node, where)
            except FrontendError as error:
                raise QonnxImportError(str(error)) from None
        out_name = self.w.graph.output[0].name
        out = self.value(out_name, "the graph output")
        if self.problems:
            raise QonnxImportError(
                "the graph cannot be imported exactly:\n  " + "\n  ".join(self.problems)
            )
        if self.b.input is None or not self.b.nodes:
            raise QonnxImportError("the graph computes nothing to translate")
        graph_input = GraphInput(
            INPUT,
            self.b.input.type,
            self.b.input_rounding,
            self.b.input_overflow,
            torch_shape=self.b.input.torch_shape,
            order=_order(self.b.input.order),
        )
        needed = {out.name}
        for n in reversed(self.b.nodes):
            if n.name in needed:
                needed.update(n.inputs)
        nodes = tuple(n for n in self.b.nodes if n.name in needed)
        output = GraphOutput(out.name, tuple(out.torch_shape), _order(out.order))
        return Graph("qonnx", (graph_input,), nodes, (output,))

    def quant(self, node: Any, where: str) -> Any:
        q = self.quants[node.name]
        source = node.input[0]
        const = self.w.get_initializer(source)
        if const is not None:
            return self.quantize_constant(np.asarray(const, np.float64), q, where)
        if q.frac.size != 1:
            raise QonnxImportError(f"{where}: per-channel scales are supported for weights only")
        frac = int(q.frac.ravel()[0])
        fxp = q.fixed_type(frac)
        v = self.env.get(source)
        if isinstance(v, _Acc) and self.uses.get(source, 0) == 1:
            return self.finish(v, fxp, q, where)
        if isinstance(v, Value) and v.raw:
            x = self.b.start(v, v.torch_shape, fxp, q.rounding, Overflow.SATURATE, where)
            if (q.low, q.high) == (fxp.min_int, fxp.max_int):
                return x
            clamp = PointwiseOp("clamp", 1, 0, 0, q.low, q.high, q.rounding, Overflow.SATURATE)
            return self.b.add("clamp", clamp, [x], [x.type], x.type, where, x.torch_shape, x.order)
        return self.requantize(self.value(source, where), q, where)

    def trunc(self, node: Any, where: str) -> Value:
        """A ``Trunc`` of a value on its input scale's grid: the ``Quant`` to its output
        scale and bit width (see ``_trunc_of``)."""
        q = self.quants[node.name]
        x = self.value(node.input[0], where)
        if q.in_frac is not None and x.type.dtype.frac_bits > q.in_frac:
            raise QonnxImportError(
                f"{where}: its input has {x.type.dtype.frac_bits} fractional bits, more than "
                f"its scale 2**-{q.in_frac} keeps (qonnx would round twice)"
            )
        if q.drop is not None and q.in_frac is not None:
            return self.trunc_v1(x, q.in_frac, q.drop, q.rounding, where)
        return self.requantize(x, q, where)

    def trunc_v1(self, x: Value, frac: int, drop: int, rounding: Rounding, where: str) -> Value:
        """The integers at scale ``2**-frac`` divided by ``2**drop``, rounded, read at the
        same scale (Trunc v1): ``shift_round(x, drop - (frac - x_frac))`` on ``x``'s."""
        t = x.type.dtype
        shift = drop - (frac - t.frac_bits)
        low, high = (int(shift_round(v, shift, rounding)) for v in (t.min_int, t.max_int))
        out = TensorType(x.type.shape, FixedType(max(signed_width(low, high), frac, 2), frac))
        mul, shift = 1 << max(0, -shift), max(0, shift)
        op = PointwiseOp("trunc", mul, 0, shift, low, high, rounding, Overflow.SATURATE)
        return self.b.add("trunc", op, [x], [x.type], out, where, x.torch_shape, x.order)

    def bipolar(self, node: Any, where: str) -> Any:
        """``+scale`` where ``x >= 0``, else ``-scale`` (``scale = 2**-f``): the integers
        ``clamp(2 * x + 1, -1, 1)`` of format ``FixedType(max(2, f), f)``."""
        f = int(self.quants[node.name].frac.ravel()[0])
        const = self.w.get_initializer(node.input[0])
        if const is not None:
            ints = np.where(np.asarray(const) >= 0, 1, -1).astype(np.int64)
            return _Param(ints, FixedType(max(2, f), f))
        v = self.env.get(node.input[0])
        if isinstance(v, Value) and v.raw:
            raise QonnxImportError(
                f"{where}: a BipolarQuant of the graph input is not supported (the design "
                "takes fixed-point inputs: Quant the input first)"
            )
        x = self.value(node.input[0], where)
        op = PointwiseOp("sign", 2, 1, 0, -1, 1, Rounding.FLOOR, Overflow.SATURATE)
        out = TensorType(x.type.shape, FixedType(max(2, f), f))
        return self.b.add("sign", op, [x], [x.type], out, where, x.torch_shape, x.order)

    def requantize(self, x: Value, q: QuantSpec, where: str) -> Value:
        """``x`` rounded and clamped as ``q`` says (a ``pointwise`` op, unless it fits)."""
        frac = int(q.frac.ravel()[0])
        fxp = q.fixed_type(frac)
        t = x.type.dtype
        if t == fxp and (q.low, q.high) == (t.min_int, t.max_int):
            return x
        op = PointwiseOp(
            "quant", 1, 0, t.frac_bits - frac, q.low, q.high, q.rounding, Overflow.SATURATE
        )
        out = TensorType(x.type.shape, fxp)
        return self.b.add("quant", op, [x], [x.type], out, where, x.torch_shape, x.order)

    def quantize_constant(self, values: np.ndarray, q: QuantSpec, where: str) -> _Param:
        """Integers ``clamp(round(w * 2**frac))``; per-channel scales aligned to the finest
        (exact: the coarser channels' integers shift left)."""
        frac = np.broadcast_to(q.frac, values.shape)  # ONNX broadcasting: (out, 1, ...)
        scaled = values * np.exp2(frac)
        rounded = np.round(scaled) if q.rounding is Rounding.HALF_EVEN else np.floor(scaled)
        ints = np.clip(rounded, q.low, q.high).astype(np.int64)
        finest = int(q.frac.max())
        ints = ints << (finest - frac).astype(np.int64)
        extra = finest - int(q.frac.min())
        base = q.fixed_type(finest)
        return _Param(ints, FixedType(base.total_bits + extra, finest))

    def gemm(self, node: Any, where: str) -> _Acc:
        x = self.value(node.input[0], where)
        if len(x.torch_shape) != 1:
            raise QonnxImportError(f"{where} takes vectors, not tensors of shape {x.torch_shape}")
        w = self.param(node.input[1], where)
        weight = w.ints
        if node.op_type == "Gemm":
            if attr(node, "alpha", 1.0) != 1.0 or attr(node, "beta", 1.0) != 1.0:
                raise QonnxImportError(f"{where}: alpha and beta must be 1")
            if attr(node, "transA", 0):
                raise QonnxImportError(f"{where}: transA must be 0")
            if not attr(node, "transB", 0):
                weight = weight.T
        else:
            weight = weight.T
        bias = self.param(node.input[2], where) if len(node.input) > 2 and node.input[2] else None
        if x.order is not None and not np.array_equal(x.order, np.arange(x.type.size)):
            weight = weight[:, x.order]  # the stream carries element order[i] at i
        op = _linear_op(weight, w.fxp, bias, x.type.dtype, where)
        return _Acc(x, (), op, (weight.shape[0],), False, where)

    def conv(self, node: Any, where: str) -> _Acc:
        x = self.value(node.input[0], where)
        dims = len(x.torch_shape) - 1
        if dims not in (1, 2) or not x.is_map:
            raise QonnxImportError(f"{where} takes 1-D or 2-D maps, not {x.torch_shape}")
        w = self.param(node.input[1], where)
        bias = self.param(node.input[2], where) if len(node.input) > 2 and node.input[2] else None
        kernel, stride, dilation, first, total = _geometry(node, dims, where)
        window = geo.window(x.type, dims, kernel, stride, dilation, first, total, 0, where)
        weight = w.ints if dims == 2 else w.ints[:, :, None, :]
        groups = int(attr(node, "group", 1))
        out_c, in_g, kh, kw = weight.shape
        in_c = x.type.channels
        if in_g * groups != in_c:
            raise QonnxImportError(f"{where}: weights {weight.shape} do not fit {in_c} channels")
        dense = np.zeros((out_c, kh, kw, in_c), dtype=np.int64)
        per_group = out_c // groups
        for k in range(groups):
            rows = slice(k * per_group, (k + 1) * per_group)
            dense[rows, :, :, k * in_g : (k + 1) * in_g] = weight[rows].transpose(0, 2, 3, 1)
        op = _linear_op(dense.reshape(out_c, -1), w.fxp, bias, x.type.dtype, where)
        steps: tuple[tuple[str, TensorType, Any], ...] = ()
        if not geo.is_identity(window):
            steps = (
                (
                    "window",
                    geo.map_type(window.out_size, window.window, dims, x.type.dtype),
                    window,
                ),
            )
        shape = geo.map_type(window.out_size, out_c, dims, x.type.dtype).shape
        return _Acc(x, steps, op, shape, False, where)

    def relu(self, node: Any, where: str) -> Any:
        v = self.env.get(node.input[0])
        if isinstance(v, _Acc) and self.uses.get(node.input[0], 0) == 1:
            return replace(v, relu=True, source=f"{v.source} + {where}")
        x = self.value(node.input[0], where)
        op = _pointwise.relu_params(x.type.dtype)
        return self.b.add("relu", op, [x], [x.type], x.type, where, x.torch_shape, x.order)

    def pool(self, node: Any, where: str) -> Value:
        x = self.value(node.input[0], where)
        dims = len(x.torch_shape) - 1
        if dims not in (1, 2) or not x.is_map:
            raise QonnxImportError(f"{where} takes 1-D or 2-D maps, not {x.torch_shape}")
        t = x.type.dtype
        if node.op_type == "ReduceMean":
            self.check_global(node, dims, where)
        if node.op_type in ("GlobalAveragePool", "ReduceMean"):
            size = geo.spatial(x.type, dims)
            kernel, stride, dilation, first, total = size, size, (1, 1), (0, 0), (0, 0)
        else:
            kernel, stride, dilation, first, total = _geometry(node, dims, where)
            if attr(node, "ceil_mode", 0):
                raise QonnxImportError(f"{where}: ceil_mode must be 0")
        kind = "max" if node.op_type == "MaxPool" else "sum"
        pad_value = t.min_int if kind == "max" else 0
        if kind == "sum" and any(first) and not attr(node, "count_include_pad", 0):
            raise QonnxImportError(f"{where}: padding needs count_include_pad=1 to be exact")
        window = geo.window(x.type, dims, kernel, stride, dilation, first, total, pad_value, where)
        taps = window.taps
        if kind == "max":
            steps = _pool_steps(window, x.type, dims, "max", Rounding.HALF_EVEN, Overflow.SATURATE)
        else:
            if taps & (taps - 1):
                raise QonnxImportError(
                    f"{where}: an average over {taps} values is exact only for a power-of-two "
                    "kernel size"
                )
            k = taps.bit_length() - 1
            mean = FixedType(t.total_bits + k, t.frac_bits + k)  # the exact sum, read / 2**k
            steps = _pool_steps(window, x.type, dims, "sum", Rounding.HALF_EVEN, Overflow.SATURATE)
            steps = steps[:-1]  # the sum's own format: the mean
            last = steps[-1]
            steps[-1] = replace(
                last,
                output_type=TensorType(last.output_type.shape, mean),
                op=ReduceOp("sum", x.type.channels, taps),
            )
        return self.b.steps(steps, x, x.type, where)

    def check_global(self, node: Any, dims: int, where: str) -> None:
        """A ``ReduceMean`` must average over every position (global average pooling)."""
        given = self.w.get_initializer(node.input[1]) if len(node.input) > 1 else None
        axes = attr(node, "axes", None) if given is None else list(np.asarray(given).ravel())
        rank = dims + 2
        spatial = set(range(2, rank))
        if axes is None or {int(a) % rank for a in axes} != spatial:
            raise QonnxImportError(
                f"{where}: only a mean over every position (axes {sorted(spatial)}) is "
                f"supported, not axes {axes}"
            )

    def add(self, node: Any, where: str) -> Any:
        fused = self.bias_add(node, where)
        if fused is not None:
            return fused
        a, c = (self.value(i, where) for i in node.input)
        return add_values(self.b, a, c, False, where)

    def bias_add(self, node: Any, where: str) -> _Acc | None:
        """A ``MatMul``'s (or bias-free ``Gemm``'s, ``Conv``'s) sum plus a quantized
        constant with one value per output: the linear op's bias."""
        names = list(node.input)
        if isinstance(self.env.get(names[0]), _Param):
            names.reverse()
        a, c = (self.env.get(n) for n in names)
        if not (isinstance(a, _Acc) and isinstance(c, _Param)) or self.uses.get(names[0]) != 1:
            return None
        if a.relu or a.norm is not None or a.op.bias is not None:
            return None
        out = a.op.weight.shape[0]
        if c.ints.size != out:
            return None
        bias = _Param(c.ints.reshape(out), c.fxp)
        op = _linear_op(a.op.weight, a.op.w_type, bias, a.x.type.dtype, where)
        return replace(a, op=op, source=f"{a.source} + {where}")

    def concat(self, node: Any, where: str) -> Value:
        parts = [self.value(i, where) for i in node.input]
        return concat_values(self.b, parts, int(attr(node, "axis", 1)), where)

    def reshape(self, node: Any, where: str) -> Value:
        x = self.value(node.input[0], where)
        shape = tuple(self.w.get_tensor_shape(node.output[0]))[1:]
        if shape == tuple(x.torch_shape):
            return x
        if shape == (x.type.size,):
            return flatten(x)
        raise QonnxImportError(
            f"{where}: only flattening to (batch, {x.type.size}) is supported, not "
            f"{x.torch_shape} -> {shape}"
        )

    def transpose(self, node: Any, where: str) -> Value:
        """A layout change within a sample: the stream stays, its ``order`` follows the
        permutation (a ``Flatten``, ``Gemm`` or the graph output after it reads it so)."""
        x = self.value(node.input[0], where)
        axes = [int(p) - 1 for p in attr(node, "perm", [])[1:]]
        size = x.type.size
        moved = np.arange(size).reshape(x.torch_shape).transpose(axes)  # old index at new
        new_of_old = np.empty(size, dtype=np.int64)
        new_of_old[moved.ravel()] = np.arange(size)
        order = new_of_old[x.order if x.order is not None else np.arange(size)]
        return Value(x.name, x.type, tuple(moved.shape), order, x.source)

    def batch_norm(self, node: Any, where: str) -> _Acc:
        """A float batch norm: kept with the sum before it (a ``Gemm``/``Conv``, or an
        identity ``linear`` on a quantized value) until the ``Quant`` after it decides the
        integer map (``qonnx_norm.fold``)."""
        params = [self.w.get_initializer(n) for n in node.input[1:5]]
        if any(p is None for p in params) or len(node.output) > 1:
            raise QonnxImportError(
                f"{where}: scale, bias, mean and variance must be constants (inference mode)"
            )
        scale, bias, mean, var = params
        norm = Norm.of(scale, bias, mean, var, float(attr(node, "epsilon", 1e-5)))
        v = self.env.get(node.input[0])
        if not isinstance(v, _Acc) or self.uses.get(node.input[0], 0) != 1 or v.relu or v.norm:
            x = self.value(node.input[0], where)
            if not x.is_map and x.order is not None and _order(x.order):
                raise QonnxImportError(f"{where}: its input vector is in a permuted layout")
            c = x.type.channels if x.is_map else x.type.size
            eye = LinearOp(frozen_array(np.eye(c, dtype=np.int64)), None, FixedType(2, 0), None)
            v = _Acc(x, (), eye, x.type.shape, False, where)
        if norm.mul.size != v.op.weight.shape[0]:
            raise QonnxImportError(
                f"{where}: {norm.mul.size} channels, its input has {v.op.weight.shape[0]}"
            )
        return replace(v, norm=norm, source=f"{v.source} + {where}")

    # --- accumulators ---------------------------------------------------------------

    def exact(self, acc: _Acc) -> Value:
        """The accumulator in a format that holds every sum exactly (no rounding)."""
        if acc.norm is not None:
            raise QonnxImportError(
                f"{acc.source}: a float batch norm must be followed by a Quant (its float "
                "result is on no grid)"
            )
        frac = acc.op.acc_frac_bits(acc.x.type.dtype)
        low, high = _acc_range(acc.op, acc.x.type.dtype)
        if acc.relu:
            low = max(low, 0)
        fxp = FixedType(max(signed_width(low, high), frac, 2), frac)
        low_high = (0, fxp.max_int) if acc.relu else (None, None)
        return self.emit(acc, fxp, Rounding.HALF_EVEN, *low_high)

    def finish(self, acc: _Acc, fxp: FixedType, q: QuantSpec, where: str) -> Value:
        """The accumulator rounded as ``Quant`` ``q`` rounds it (after the ``Relu``, if any:
        ``round(clamp(max(a, 0)))`` is ``clamp(round(a), max(low, 0), high)``)."""
        low = max(q.low, 0) if acc.relu else q.low
        acc = replace(acc, source=f"{acc.source} + {where}")
        if acc.norm is not None:
            acc = self.fold(acc, fxp, Rounded(fxp.frac_bits, q.rounding, low, q.high))
        return self.emit(acc, fxp, q.rounding, low, q.high)

    def fold(self, acc: _Acc, fxp: FixedType, out: Rounded) -> _Acc:
        """The batch norm and rounding as the linear op's: weights and bias times ``A``
        per channel, ``B`` added, the output shifted by ``s`` more (``qonnx_norm.fold``)."""
        x = acc.x.type.dtype
        op = acc.op
        assert acc.norm is not None
        frac = op.acc_frac_bits(x)
        lows, highs = _acc_ranges(op, x)
        try:
            a, b, s = fold(acc.norm, lows, highs, frac, out, max(0, x.frac_bits - fxp.frac_bits))
        except NoIntegerMap as error:  # listed with the others at the end
            self.problems.append(f"{acc.source}: {error}")
            return replace(acc, norm=None)
        scale = np.array(a, dtype=object)[:, None]
        weight = op.weight.astype(object) * scale
        bias = np.array(b, dtype=object)
        if op.bias is not None:
            bias = bias + (op.bias.astype(object) << op.bias_shift(x)) * scale[:, 0]
        new_frac = fxp.frac_bits + s  # the accumulator's: x.frac_bits + the weights'
        w_frac = new_frac - x.frac_bits
        w_type = FixedType(max(_width(weight), w_frac, 2), w_frac)
        b_type = FixedType(max(_width(bias), new_frac, 2), new_frac)
        folded = LinearOp(_ints(weight), _ints(bias), w_type, b_type)
        return replace(acc, op=folded, norm=None)

    def emit(
        self, acc: _Acc, fxp: FixedType, rounding: Rounding, low: int | None, high: int | None
    ) -> Value:
        steps = [_step(kind, t, op) for kind, t, op in acc.steps]
        op = replace(acc.op, rounding=rounding, low=low, high=high)
        kind = "conv" if steps or len(acc.shape) > 1 else "linear"
        steps.append(_step(kind, TensorType(acc.shape, fxp), op))
        return self.b.steps(steps, acc.x, acc.x.type, acc.source)


def _step(kind: str, t: TensorType, op: Any) -> Step:
    return Step(kind, t, op)


def _order(order: np.ndarray | None) -> tuple[int, ...]:
    if order is None or np.array_equal(order, np.arange(order.size)):
        return ()
    return tuple(int(i) for i in order)


def _geometry(node: Any, dims: int, where: str) -> tuple[Any, ...]:
    """kernel, stride, dilation, first padding, total padding as ``(h, w)`` pairs."""
    if str(attr(node, "auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        raise QonnxImportError(f"{where}: auto_pad must be NOTSET or VALID")

    def pair(values: list[int]) -> tuple[int, int]:
        return (1, values[0]) if dims == 1 else (values[0], values[1])

    kernel = pair(list(attr(node, "kernel_shape", [])))
    stride = pair(list(attr(node, "strides", [1] * dims)))
    dilation = pair(list(attr(node, "dilations", [1] * dims)))
    pads = list(attr(node, "pads", [0] * 2 * dims))
    first = pair(pads[:dims])
    total = pair([a + b for a, b in zip(pads[:dims], pads[dims:], strict=True)])
    if dims == 1:
        first, total = (0, first[1]), (0, total[1])
    return kernel, stride, dilation, first, total


def _linear_op(
    weight: np.ndarray, w_type: FixedType, bias: _Param | None, x: FixedType, where: str
) -> LinearOp:
    """The linear op; a bias finer than the products scales the weights up (exactly)."""
    b_type = None if bias is None else bias.fxp
    if bias is not None and bias.ints.ndim != 1:
        raise QonnxImportError(f"{where}: the bias must be a vector, not {bias.ints.shape}")
    extra = 0 if b_type is None else b_type.frac_bits - (x.frac_bits + w_type.frac_bits)
    if extra > 0:
        w_type = FixedType(w_type.total_bits + extra, w_type.frac_bits + extra)
        weight = weight.astype(np.int64) << extra
    return LinearOp(
        weight=frozen_array(weight),
        bias=None if bias is None else frozen_array(bias.ints),
        w_type=w_type,
        b_type=b_type,
    )


def _acc_ranges(op: LinearOp, x: FixedType) -> tuple[list[int], list[int]]:
    """The smallest and largest sum of every output."""
    w = op.weight.astype(object)
    a, b = w * x.min_int, w * x.max_int
    lows, highs = np.minimum(a, b).sum(axis=1), np.maximum(a, b).sum(axis=1)
    if op.bias is not None:
        bias = op.bias.astype(object) * (1 << op.bias_shift(x))
        lows, highs = lows + bias, highs + bias
    return [int(v) for v in lows], [int(v) for v in highs]


def _acc_range(op: LinearOp, x: FixedType) -> tuple[int, int]:
    lows, highs = _acc_ranges(op, x)
    return min(lows), max(highs)


def _width(values: np.ndarray) -> int:
    return signed_width(int(values.min()), int(values.max()))


def _ints(values: np.ndarray) -> np.ndarray:
    """``int64`` where the values fit (else Python ints), read-only."""
    if _width(values) <= 63:
        values = values.astype(np.int64)
    return frozen_array(values)


def build(wrapper: Any, name: str) -> Graph:
    """The IR graph of a cleaned QONNX model; ``QonnxImportError`` listing every node that
    cannot be imported exactly, before anything is built."""
    return replace(_Importer(wrapper, check(wrapper)).run(), name=name)
