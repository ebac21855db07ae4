"""Brevitas models exported to QONNX and imported: Brevitas' output, qonnx's execution of
the exported graph and the GHDL simulation of the design agree exactly."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("brevitas")
pytest.importorskip("qonnx")

from elasticai.creator import from_qonnx  # noqa: E402
from tests import qonnx_models as qm  # noqa: E402

pytestmark = pytest.mark.sim

SAMPLES = 16


KINDS = ["mlp", "cnn", "residual", "trunc", "permuted"]

#: A float batch norm is imported at 4 bits; at 8 bits Brevitas (torch) and qonnx
#: (onnxruntime) round a few accumulator values differently and it is refused. Binary
#: layers do not depend on the bits (of the input and output quantizers only).
CASES = [(kind, bits) for kind in KINDS for bits in (4, 8)] + [("batch_norm", 4), ("binary", 8)]


@pytest.mark.parametrize(("kind", "bits"), CASES)
def test_brevitas_qonnx_and_ghdl_agree_exactly(kind, bits, tmp_path):
    model = qm.build(kind, bits)
    path = qm.export(model, qm.INPUT_SHAPES[kind], tmp_path / f"{kind}{bits}.onnx")
    design = from_qonnx(path, f"{kind}{bits}")
    x = qm.on_input_grid(design, SAMPLES)
    frac = design.graph.output_type.dtype.frac_bits
    brevitas = qm.as_ints(qm.brevitas_output(model, x), frac)
    reference = qm.as_ints(qm.qonnx_output(path, x), frac)
    hardware = design.simulate(x, raw=True).reshape(SAMPLES, -1)
    assert np.array_equal(brevitas, reference)
    assert np.array_equal(hardware, reference)
    assert len(np.unique(reference)) > 3  # the outputs are not all saturated or zero
