"""A float PyTorch model -> the same model of the library's fixed-point layers.

``quantize(model, calibration_data, total_bits=8, ...)`` (also
``elasticai.creator.quantize``) returns a ``QuantizedModel``: the float model's graph
(torch.fx) calling ``nn.fixed_point`` layers with the float weights and formats chosen
from the ranges seen on the calibration data (``ranges.frac_bits_for``). Modules:
``layers`` (which float layer becomes which), ``ranges`` (calibration and the rule),
``convert`` (checks, formats, the new graph).
"""

from elasticai.creator.from_float.convert import QuantizedModel, quantize
from elasticai.creator.from_float.ranges import frac_bits_for

__all__ = ["quantize", "QuantizedModel", "frac_bits_for"]
