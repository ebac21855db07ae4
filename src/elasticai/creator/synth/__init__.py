"""Cost reports with open tools: GHDL's Verilog through Yosys ``synth_xilinx``."""

from elasticai.creator.synth.nextpnr import FmaxReport, NextpnrNotFoundError, fmax
from elasticai.creator.synth.verilog_literals import rewrite
from elasticai.creator.synth.yosys import (
    KEYS,
    SynthesisError,
    SynthReport,
    YosysNotFoundError,
    synthesize,
    synthesize_verilog,
)

__all__ = [
    "FmaxReport",
    "KEYS",
    "NextpnrNotFoundError",
    "fmax",
    "SynthReport",
    "SynthesisError",
    "YosysNotFoundError",
    "rewrite",
    "synthesize",
    "synthesize_verilog",
]
