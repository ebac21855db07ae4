"""Cost reports with open tools: GHDL's Verilog through Yosys ``synth_xilinx``."""

from elasticai.creator.synth.verilog_literals import rewrite
from elasticai.creator.synth.yosys import (
    KEYS,
    SynthesisError,
    SynthReport,
    YosysNotFoundError,
    synthesize,
)

__all__ = [
    "KEYS",
    "SynthReport",
    "SynthesisError",
    "YosysNotFoundError",
    "rewrite",
    "synthesize",
]
