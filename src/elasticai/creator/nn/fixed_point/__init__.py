"""Fixed-point layers, trained with fake quantization and translated bit-exactly."""

from elasticai.creator.nn.fixed_point.layers import HardSigmoid, HardTanh, Linear, ReLU, quantize

__all__ = ["Linear", "ReLU", "HardSigmoid", "HardTanh", "quantize"]
