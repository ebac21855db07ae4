"""Small Brevitas models with power-of-two (fixed-point) quantizers, exported to QONNX,
and the two references an imported design must equal exactly: Brevitas' own output and
qonnx's execution of the exported graph."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _quantizers(bits: int) -> dict[str, Any]:
    from brevitas.quant import (
        Int8ActPerTensorFixedPoint,
        Int8WeightPerTensorFixedPoint,
        Int16Bias,
        Uint8ActPerTensorFixedPoint,
    )

    return {
        "act": {"act_quant": Int8ActPerTensorFixedPoint, "bit_width": bits},
        "uact": {"act_quant": Uint8ActPerTensorFixedPoint, "bit_width": bits},
        "weight": {
            "weight_quant": Int8WeightPerTensorFixedPoint,
            "weight_bit_width": bits,
            "bias_quant": Int16Bias,
        },
    }


def mlp(bits: int) -> torch.nn.Module:
    """QuantIdentity -> QuantLinear -> QuantReLU (unsigned) -> QuantLinear -> QuantIdentity."""
    import brevitas.nn as qnn

    q = _quantizers(bits)
    keep = {"return_quant_tensor": True}
    return torch.nn.Sequential(
        qnn.QuantIdentity(**q["act"], **keep),
        qnn.QuantLinear(8, 12, bias=True, **q["weight"], **keep),
        qnn.QuantReLU(**q["uact"], **keep),
        qnn.QuantLinear(12, 4, bias=True, **q["weight"], **keep),
        qnn.QuantIdentity(**q["act"]),
    )


def cnn(bits: int) -> torch.nn.Module:
    """QuantIdentity -> QuantConv2d -> QuantReLU -> MaxPool -> QuantConv2d -> QuantReLU ->
    Flatten -> QuantLinear (its exact sum is the output)."""
    import brevitas.nn as qnn

    q = _quantizers(bits)
    keep = {"return_quant_tensor": True}
    return torch.nn.Sequential(
        qnn.QuantIdentity(**q["act"], **keep),
        qnn.QuantConv2d(2, 4, 3, padding=1, bias=True, **q["weight"], **keep),
        qnn.QuantReLU(**q["uact"], **keep),
        torch.nn.MaxPool2d(2),
        qnn.QuantConv2d(4, 4, 2, stride=1, bias=True, **q["weight"], **keep),
        qnn.QuantReLU(**q["uact"], **keep),
        torch.nn.Flatten(),
        qnn.QuantLinear(4 * 2 * 2, 3, bias=True, **q["weight"]),
    )


class Residual(torch.nn.Module):
    """Two branches added, concatenated with a third, average pooled: Add, Concat,
    AveragePool, GlobalAveragePool."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        import brevitas.nn as qnn

        q = _quantizers(bits)
        keep = {"return_quant_tensor": True}
        self.inp = qnn.QuantIdentity(**q["act"], **keep)
        self.a = qnn.QuantConv2d(2, 3, 3, padding=1, bias=False, **q["weight"], **keep)
        self.ra = qnn.QuantReLU(**q["act"])
        self.b = qnn.QuantConv2d(2, 3, 1, bias=True, **q["weight"], **keep)
        self.rb = qnn.QuantReLU(**q["act"])
        self.sum = qnn.QuantIdentity(**q["act"])
        self.skip = qnn.QuantIdentity(**q["act"])
        self.pool = torch.nn.AvgPool2d(2)
        self.gap = torch.nn.AdaptiveAvgPool2d(1)
        self.out = qnn.QuantIdentity(**q["act"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        s = self.sum(self.ra(self.a(x)) + self.rb(self.b(x)))
        y = torch.cat([self.pool(s), self.pool(self.skip(x))], dim=1)
        return self.out(torch.flatten(self.gap(y), 1))


def trunc_cnn(bits: int) -> torch.nn.Module:
    """Brevitas' truncating average pooling: QuantConv2d -> QuantReLU -> TruncAvgPool2d(2)
    (unsigned) -> QuantConv2d -> QuantIdentity -> TruncAdaptiveAvgPool2d(1) over 2x2
    (signed): ``Trunc`` nodes."""
    import brevitas.nn as qnn

    q = _quantizers(bits)
    keep = {"return_quant_tensor": True}
    return torch.nn.Sequential(
        qnn.QuantIdentity(**q["act"], **keep),
        qnn.QuantConv2d(2, 4, 3, padding=1, bias=True, **q["weight"], **keep),
        qnn.QuantReLU(**q["uact"], **keep),
        qnn.TruncAvgPool2d(2, stride=2, bit_width=bits, **keep),
        qnn.QuantConv2d(4, 3, 1, bias=True, **q["weight"], **keep),
        qnn.QuantIdentity(**q["act"], **keep),
        qnn.TruncAdaptiveAvgPool2d((1, 1), bit_width=bits, **keep),
        torch.nn.Flatten(),
    )


class Permuted(torch.nn.Module):
    """QuantConv2d -> QuantReLU -> permute to channels last (Transpose) -> QuantIdentity ->
    Flatten -> QuantLinear: the linear layer reads the map in (h, w, c) order."""

    def __init__(self, bits: int) -> None:
        super().__init__()
        import brevitas.nn as qnn

        q = _quantizers(bits)
        keep = {"return_quant_tensor": True}
        self.inp = qnn.QuantIdentity(**q["act"], **keep)
        self.conv = qnn.QuantConv2d(2, 3, 3, bias=True, **q["weight"], **keep)
        self.relu = qnn.QuantReLU(**q["uact"])
        self.again = qnn.QuantIdentity(**q["uact"], **keep)  # Brevitas needs a QuantTensor
        self.fc = qnn.QuantLinear(3 * 2 * 3, 4, bias=True, **q["weight"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.conv(self.inp(x))).permute(0, 2, 3, 1)
        return self.fc(torch.flatten(self.again(y), 1))


def batch_norm(bits: int) -> torch.nn.Module:
    """Float batch norms between quantized layers: QuantConv2d -> BatchNorm2d -> QuantReLU
    -> Flatten -> QuantLinear -> BatchNorm1d -> QuantIdentity (the norms' statistics
    random, as after training)."""
    import brevitas.nn as qnn

    q = _quantizers(bits)
    keep = {"return_quant_tensor": True}
    model = torch.nn.Sequential(
        qnn.QuantIdentity(**q["act"], **keep),
        qnn.QuantConv2d(2, 4, 3, padding=1, bias=True, **q["weight"]),
        torch.nn.BatchNorm2d(4),
        qnn.QuantReLU(**q["uact"], **keep),
        torch.nn.Flatten(),
        qnn.QuantLinear(4 * 3 * 3, 5, bias=False, **q["weight"]),
        torch.nn.BatchNorm1d(5),
        qnn.QuantIdentity(**q["act"]),
    )
    for norm in (model[2], model[6]):
        norm.running_mean.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.2, 2.0)
        norm.weight.data.uniform_(-1.5, 1.5)
        norm.bias.data.uniform_(-0.5, 0.5)
    return model


def binary(bits: int) -> torch.nn.Module:
    """Binary weights and activations (``BipolarQuant``): QuantIdentity -> QuantLinear
    (+-1 weights) -> binary QuantIdentity -> QuantLinear (+-1) -> QuantIdentity."""
    import brevitas.nn as qnn
    from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

    class Sign(SignedBinaryActPerTensorConst):  # type: ignore[misc, valid-type]
        min_val, max_val = -0.125, 0.125  # the scale: +-0.125

    class Weight(SignedBinaryWeightPerTensorConst):  # type: ignore[misc, valid-type]
        scaling_const = 1.0  # power-of-two scales (the default is 0.1)

    q = _quantizers(bits)
    keep = {"return_quant_tensor": True}
    weight = {"weight_quant": Weight, "bias": False}
    return torch.nn.Sequential(
        qnn.QuantIdentity(**q["act"], **keep),
        qnn.QuantLinear(8, 12, **weight, **keep),
        qnn.QuantIdentity(act_quant=Sign, **keep),
        qnn.QuantLinear(12, 4, **weight, **keep),
        qnn.QuantIdentity(**q["act"]),
    )


INPUT_SHAPES = {
    "mlp": (8,),
    "cnn": (2, 6, 6),
    "residual": (2, 4, 4),
    "trunc": (2, 4, 4),
    "permuted": (2, 4, 5),
    "batch_norm": (2, 3, 3),
    "binary": (8,),
}


#: seeds whose 4-bit outputs take more than three values
SEEDS = {"trunc": 2}


def build(kind: str, bits: int, seed: int | None = None) -> torch.nn.Module:
    torch.manual_seed(SEEDS.get(kind, 0) if seed is None else seed)
    model = {
        "mlp": mlp,
        "cnn": cnn,
        "residual": Residual,
        "trunc": trunc_cnn,
        "permuted": Permuted,
        "batch_norm": batch_norm,
        "binary": binary,
    }[kind](bits)
    return model.eval()


def export(model: torch.nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    from brevitas.export import export_qonnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, torch.zeros(1, *shape), export_path=str(path))
    return path


def on_input_grid(design: Any, samples: int, seed: int = 1) -> np.ndarray:
    """Real inputs on the design's input grid, over its whole range and a little beyond."""
    t = design.graph.input_type.dtype
    shape = design.graph.input.torch_shape
    rng = np.random.default_rng(seed)
    q = rng.integers(t.min_int, t.max_int + 1, size=(samples, *shape))
    return (q * 2.0**-t.frac_bits).astype(np.float32)


def brevitas_output(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        y = model(torch.from_numpy(x))
    return np.asarray(getattr(y, "value", y).detach().numpy(), dtype=np.float64)


def qonnx_output(path: Path, x: np.ndarray) -> np.ndarray:
    """``qonnx.core.onnx_exec.execute_onnx`` on every sample (the graph has batch 1)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    wrapper = ModelWrapper(str(path))
    name_in, name_out = wrapper.graph.input[0].name, wrapper.graph.output[0].name
    outs = [execute_onnx(wrapper, {name_in: xi[None]})[name_out] for xi in x]
    return np.concatenate(outs).astype(np.float64)


def as_ints(y: np.ndarray, frac_bits: int) -> np.ndarray:
    """``y * 2**frac_bits`` as integers; fails where a value is not on that grid."""
    scaled = np.asarray(y, dtype=np.float64) * 2.0**frac_bits
    assert np.array_equal(scaled, np.round(scaled)), "values off the output grid"
    return scaled.astype(np.int64).reshape(len(scaled), -1)
