"""Corner cases: the widest sums, saturation both ways, no latches anywhere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from elasticai.creator.arithmetic import FixedType
from elasticai.creator.nn import Sequential
from elasticai.creator.nn.fixed_point import Linear
from elasticai.creator.sim import ghdl

pytestmark = pytest.mark.sim


def filled(layer: Linear, weight: float, bias: float) -> Linear:
    with torch.no_grad():
        layer.weight.fill_(weight)
        if layer.bias is not None:
            layer.bias.fill_(bias)
    return layer


@pytest.mark.parametrize(("total", "frac", "n_in"), [(8, 4, 200), (16, 8, 300), (32, 16, 70)])
@pytest.mark.parametrize("options", [{}, {"parallelism": "full"}], ids=["serial", "unrolled"])
def test_longest_sums_of_largest_products_do_not_overflow(total, frac, n_in, options):
    t = FixedType(total, frac)
    dtype = torch.float64 if total > 24 else torch.float32
    layers = [
        filled(Linear(n_in, 1, total, frac, rounding="floor"), t.min_value, t.min_value),
        filled(Linear(n_in, 1, total, frac, overflow="wrap"), t.max_value, t.max_value),
    ]
    for layer in layers:
        model = Sequential(layer).to(dtype).eval()
        design = model.create_design("corner", **options)
        x = torch.tensor([[t.min_value] * n_in, [t.max_value] * n_in, [0.0] * n_in], dtype=dtype)
        x_int = design.quantize_input(x)
        exact = x_int.astype(object) @ design.graph.nodes[0].op.weight.astype(object).T
        assert (
            design.graph.nodes[0].op.acc_bits
            >= max(abs(int(v)) for v in exact.ravel()).bit_length()
        )
        simulated = design.run(x_int, stall_percent=10).outputs
        np.testing.assert_array_equal(simulated, design.interpret(x_int))
        with torch.no_grad():
            assert torch.equal(design.simulate(x), model(x))


def test_saturation_is_exact_in_both_directions():
    t = FixedType(8, 4)
    layer = filled(Linear(3, 2, 8, 4, bias=False), 1.0, 0.0)
    with torch.no_grad():
        layer.weight[1].fill_(-1.0)
    model = Sequential(layer).eval()
    design = model.create_design("sat")
    x = torch.tensor([[7.0, 7.0, 7.0], [-8.0, -8.0, -8.0], [1.0, 1.0, 0.5]])
    y = design.simulate(x)
    assert y[0].tolist() == [t.max_value, t.min_value]
    assert y[1].tolist() == [t.min_value, t.max_value]
    assert y[2].tolist() == [2.5, -2.5]


def test_ghdl_refuses_latches(tmp_path):
    """check_synthesis proves 'no latches': GHDL's synthesis fails on an inferred latch."""
    source = tmp_path / "latch.vhd"
    source.write_text(
        "library ieee; use ieee.std_logic_1164.all;\n"
        "entity latch is port (en, d : in std_logic; q : out std_logic); end;\n"
        "architecture rtl of latch is begin\n"
        "  process (en, d) begin if en = '1' then q <= d; end if; end process;\n"
        "end;\n"
    )
    with pytest.raises(ghdl.GhdlError, match="latch infered"):
        ghdl.synth_check([source], "latch", tmp_path)
