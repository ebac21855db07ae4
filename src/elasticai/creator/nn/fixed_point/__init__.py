"""Fixed-point layers, trained with fake quantization and translated bit-exactly."""

from elasticai.creator.nn.fixed_point.activations import (
    HardSwish,
    LeakyReLU,
    PReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Tanh,
)
from elasticai.creator.nn.fixed_point.batchnorm import BatchNorm1d, BatchNorm2d
from elasticai.creator.nn.fixed_point.conv import Conv1d, Conv2d
from elasticai.creator.nn.fixed_point.elementwise import HardSigmoid, HardTanh, ReLU, quantize
from elasticai.creator.nn.fixed_point.joins import Add, Concatenate
from elasticai.creator.nn.fixed_point.linear import Linear
from elasticai.creator.nn.fixed_point.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
)
from elasticai.creator.nn.fixed_point.recurrent import GRU, LSTM, RNN
from elasticai.creator.nn.fixed_point.reshape import Dropout, Flatten

__all__ = [
    "Linear",
    "Conv1d",
    "Conv2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "Flatten",
    "Dropout",
    "ReLU",
    "ReLU6",
    "HardSigmoid",
    "HardTanh",
    "HardSwish",
    "Sigmoid",
    "Tanh",
    "SiLU",
    "LeakyReLU",
    "PReLU",
    "Add",
    "Concatenate",
    "LSTM",
    "GRU",
    "RNN",
    "quantize",
]
