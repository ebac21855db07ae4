"""QONNX import: what is refused, and how (one error naming every offending node)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx")
pytest.importorskip("qonnx")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from elasticai.creator import from_qonnx  # noqa: E402
from elasticai.creator.qonnx import QonnxImportError, qonnx_to_graph  # noqa: E402

QONNX = "qonnx.custom_op.general"


def _const(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def _quant(name, x, scale, zero=0.0, bits=8.0, signed=1, narrow=0, rounding="ROUND"):
    node = helper.make_node(
        "Quant",
        [x, f"{name}_s", f"{name}_z", f"{name}_b"],
        [f"{name}_out"],
        name=name,
        domain=QONNX,
        signed=signed,
        narrow=narrow,
        rounding_mode=rounding,
    )
    return node, [_const(f"{name}_s", scale), _const(f"{name}_z", zero), _const(f"{name}_b", bits)]


def _model(nodes, inits, x_dims=(1, 4), y_dims=(1, 3), y="y"):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_dims))],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, list(y_dims))],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _mlp(scale_in=2**-4, zero_w=0.0, act="Relu", w_rounding="ROUND", scale_w=2**-5):
    rng = np.random.default_rng(0)
    q_in, i1 = _quant("q_in", "x", scale_in)
    q_w, i2 = _quant("q_w", "w", scale_w, zero=zero_w, narrow=1, rounding=w_rounding)
    gemm = helper.make_node("Gemm", ["q_in_out", "q_w_out"], ["acc"], name="fc", transB=1)
    relu = helper.make_node(act, ["acc"], ["r"], name="act")
    q_out, i3 = _quant("q_out", "r", 2**-6, signed=0)
    nodes = [q_in, q_w, gemm, relu, q_out]
    w = _const("w", rng.uniform(-1, 1, (3, 4)))
    return _model(nodes, [w, *i1, *i2, *i3], y="q_out_out")


def test_a_hand_built_graph_imports_and_matches_qonnx_execution():
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = _mlp()
    design = from_qonnx(model, "hand")
    assert str(design.graph.input_type.dtype) == "Q8.4"
    assert str(design.graph.output_type.dtype) == "Q9.6"  # unsigned 8 bits: 9 signed
    x = np.random.default_rng(1).integers(-128, 128, (64, 4)).astype(np.float32) * 2**-4
    wrapper = ModelWrapper(model).transform(InferShapes())
    expected = np.concatenate([execute_onnx(wrapper, {"x": xi[None]})["q_out_out"] for xi in x])
    y = design.interpret(design.quantize_input(x))
    assert np.array_equal(y, (expected * 2**6).astype(np.int64))
    assert y.min() == 0 and y.max() == 255  # the unsigned clamp and the ReLU


def test_every_offending_node_is_named_in_one_error():
    model = _mlp(scale_in=0.3, zero_w=1.0, act="Sigmoid", w_rounding="CEIL")
    with pytest.raises(QonnxImportError) as info:
        from_qonnx(model, "bad")
    text = str(info.value)
    assert "q_in (Quant): scale 0.30000001192092896 is not a power of two" in text
    assert "q_w (Quant): zero point 1.0 is not 0" in text
    assert "q_w (Quant): rounding_mode 'CEIL' has no exact equal here" in text
    assert "act (Sigmoid): not supported" in text


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x00\x01 this is not a protobuf \xff\xfe")
    with pytest.raises(QonnxImportError, match="model.onnx' is not an ONNX file"):
        from_qonnx(path, "m")
    text = tmp_path / "notes.onnx"
    text.write_text("hello")
    with pytest.raises(QonnxImportError, match="is not an ONNX file"):
        from_qonnx(text, "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "notes.onnx"]


def test_a_float_graph_points_to_quantize():
    w = _const("w", np.ones((3, 4)))
    gemm = helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)
    with pytest.raises(QonnxImportError, match=r"float model.*elasticai\.creator\.quantize"):
        from_qonnx(_model([gemm], [w]), "m")


def test_dynamic_shapes_are_named():
    model = _mlp()
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param = "batch"  # a symbolic batch is fine
    dims[1].dim_param = "features"
    with pytest.raises(QonnxImportError, match="'x' dimension 1 is 'features'"):
        from_qonnx(model, "m")
    dims[1].dim_value = 4
    assert from_qonnx(model, "m").graph.input.torch_shape == (4,)


def test_per_channel_power_of_two_weight_scales_align_to_the_finest():
    model = _mlp()
    scales = np.array([[2**-5], [2**-3], [2**-4]])
    for init in model.graph.initializer:
        if init.name == "q_w_s":
            init.CopyFrom(_const("q_w_s", scales))
    graph = qonnx_to_graph(model, "m")
    (linear,) = graph.nodes
    assert linear.op.w_type.frac_bits == 5 and linear.op.w_type.total_bits == 10
    assert np.all(linear.op.weight[1] % 4 == 0) and np.all(linear.op.weight[2] % 2 == 0)


def test_importing_the_package_needs_neither_onnx_nor_qonnx():
    code = (
        "import sys, elasticai.creator, elasticai.creator.nn\n"
        "assert 'onnx' not in sys.modules and 'qonnx' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _trunc_model(out_scale=2**-3, inputs=6, x_scale=2**-3):
    """Quant (4 bits, 2**-3) -> AveragePool 2x2 -> Trunc to ``out_scale``, 4 bits (v2; v1
    with 5 inputs: the integers divided by 2**(6 - 4), the scale 2**-5 kept)."""
    q_in, i1 = _quant("q_in", "x", x_scale, bits=4.0)
    pool = helper.make_node(
        "AveragePool", ["q_in_out"], ["avg"], name="pool", kernel_shape=[2, 2], strides=[2, 2]
    )
    names = ["avg", "t_s", "t_z", "t_ib", "t_os", "t_ob"]
    names = names if inputs == 6 else [*names[:4], "t_ob"][:inputs]
    trunc = helper.make_node(
        "Trunc", names, ["y"], name="trunc", domain=QONNX, rounding_mode="FLOOR", signed=1
    )
    consts = [
        _const("t_s", 2**-5),
        _const("t_z", 0.0),
        _const("t_ib", 6.0),
        _const("t_os", out_scale),
        _const("t_ob", 4.0),
    ]
    model = _model([q_in, pool, trunc], [*i1, *consts], (1, 2, 4, 4), (1, 2, 2, 2))
    model.opset_import.append(helper.make_opsetid(QONNX, 2 if inputs == 6 else 1))
    return model


@pytest.mark.parametrize(("inputs", "output"), [(6, "Q4.3"), (5, "Q5.5")])
def test_a_trunc_after_average_pooling_matches_qonnx_execution(inputs, output):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = _trunc_model(inputs=inputs)
    design = from_qonnx(model, "trunc")
    assert str(design.graph.output_type.dtype) == output
    x = np.random.default_rng(2).integers(-8, 8, (32, 2, 4, 4)).astype(np.float32) * 2**-3
    wrapper = ModelWrapper(model).transform(InferShapes())
    expected = np.concatenate([execute_onnx(wrapper, {"x": xi[None]})["y"] for xi in x])
    y = design.to_model_layout(design.interpret(design.quantize_input(x))).reshape(len(x), -1)
    frac = design.graph.output_type.dtype.frac_bits
    assert np.array_equal(y, (expected * 2**frac).reshape(len(x), -1).astype(np.int64))


def test_a_trunc_to_a_scale_that_is_not_a_power_of_two_is_refused():
    with pytest.raises(QonnxImportError) as info:
        from_qonnx(_trunc_model(out_scale=1 / 9), "m")
    assert "trunc (Trunc): output scale 0.1111111119389534 is not a power of two" in str(info.value)
    with pytest.raises(QonnxImportError, match=r"trunc \(Trunc\): a Trunc has 5 \(v1\) or 6"):
        from_qonnx(_trunc_model(inputs=4), "m")
    with pytest.raises(QonnxImportError, match="more than its scale 2\\*\\*-5 keeps"):
        from_qonnx(_trunc_model(x_scale=2**-4), "m")


def test_a_transpose_within_a_sample_changes_the_layout_only():
    q_in, inits = _quant("q_in", "x", 2**-4)
    swap = helper.make_node("Transpose", ["q_in_out"], ["t"], name="swap", perm=[0, 2, 1])
    relu = helper.make_node("Relu", ["t"], ["y"], name="relu")
    design = from_qonnx(_model([q_in, swap, relu], inits, (1, 2, 3), (1, 3, 2)), "swap")
    x = np.arange(6).reshape(1, 2, 3) * 2**-4
    y = design.to_model_layout(design.interpret(design.quantize_input(x)))
    assert np.array_equal(y.reshape(1, 3, 2), np.arange(6).reshape(1, 2, 3).transpose(0, 2, 1))
    batch = helper.make_node("Transpose", ["q_in_out"], ["y"], name="swap", perm=[1, 0, 2])
    with pytest.raises(QonnxImportError) as info:
        from_qonnx(_model([q_in, batch], inits, (1, 2, 3), (2, 1, 3)), "m")
    assert "swap (Transpose): perm [1, 0, 2] moves the batch dimension" in str(info.value)


def _norm_model(bits=4.0, then="Quant", channels=3, seed=3, inputs=4, batch=1):
    """Quant -> Gemm (no bias) -> BatchNormalization -> Relu -> Quant (or ``then`` only)."""
    rng = np.random.default_rng(seed)
    q_in, i1 = _quant("q_in", "x", 2 ** -(bits - 1), bits=bits)
    q_w, i2 = _quant("q_w", "w", 2**-bits, bits=bits, narrow=1)
    gemm = helper.make_node("Gemm", ["q_in_out", "q_w_out"], ["acc"], name="fc", transB=1)
    names = ["norm_s", "norm_b", "norm_m", "norm_v"]
    norm = helper.make_node("BatchNormalization", ["acc", *names], ["n"], name="norm")
    params = [
        _const("w", rng.uniform(-1, 1, (channels, inputs))),
        _const("norm_s", rng.uniform(-1.5, 1.5, channels)),
        _const("norm_b", rng.uniform(-0.5, 0.5, channels)),
        _const("norm_m", rng.uniform(-0.5, 0.5, channels)),
        _const("norm_v", rng.uniform(0.2, 2.0, channels)),
    ]
    relu = helper.make_node("Relu", ["n"], ["r"], name="relu")
    q_out, i3 = _quant("q_out", "r", 2 ** -(bits - 2), bits=bits, signed=0)
    nodes = [q_in, q_w, gemm, norm, *([relu, q_out] if then == "Quant" else [])]
    y = "q_out_out" if then == "Quant" else "n"
    return _model(nodes, [*params, *i1, *i2, *i3], (batch, inputs), (batch, channels), y=y)


def test_a_float_batch_norm_before_a_quant_is_exact_for_every_accumulator_value():
    """The folded integer map equals onnxruntime's float32 batch norm and qonnx's Quant on
    every value the sum can take (the whole input grid: 16**4 samples)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = _norm_model()
    design = from_qonnx(model, "norm")
    grid = np.stack(np.meshgrid(*[np.arange(-8, 8)] * 4), -1).reshape(-1, 4) * 2**-3.0
    x = grid.astype(np.float32)
    wrapper = ModelWrapper(_norm_model(batch=len(x))).transform(InferShapes())
    expected = execute_onnx(wrapper, {"x": x})["q_out_out"]
    y = design.interpret(design.quantize_input(x))
    assert np.array_equal(y, (expected * 2**2).astype(np.int64))
    assert len(np.unique(y)) > 5


def test_a_batch_norm_without_an_integer_equal_is_refused_naming_channel_and_value():
    with pytest.raises(QonnxImportError) as info:
        from_qonnx(_norm_model(bits=8.0, channels=4, seed=1, inputs=16), "m")
    text = str(info.value)
    assert text.startswith("the graph cannot be imported exactly:\n  fc (Gemm) + norm (Batch")
    assert "fc (Gemm) + norm (BatchNormalization) + relu (Relu) + q_out (Quant): channel" in text
    assert "no integers A, B, s <= 40" in text and "at x = " in text
    with pytest.raises(QonnxImportError, match=r"norm \(BatchNormalization\): a float batch "):
        from_qonnx(_norm_model(then=None), "m")


def test_the_batch_norm_float32_replica_is_onnxruntimes():
    """``qonnx_norm.Norm`` computes ``x * mul + add`` as onnxruntime does, bit for bit."""
    import onnxruntime

    from elasticai.creator.frontend.qonnx_norm import Norm

    rng = np.random.default_rng(0)
    c, n = 8, 1 << 14
    params = [rng.uniform(-1.5, 1.5, c), rng.uniform(-0.5, 0.5, c)]
    params += [rng.uniform(-0.5, 0.5, c), rng.uniform(0.01, 2.0, c)]
    names = ["s", "b", "m", "v"]
    node = helper.make_node("BatchNormalization", ["x", *names], ["y"], epsilon=1e-5)
    x = (rng.integers(-(1 << 20), 1 << 20, (n, c)) * 2.0**-12).astype(np.float32)
    model = _model(
        [node], [_const(k, p) for k, p in zip(names, params, strict=True)], (n, c), (n, c)
    )
    session = onnxruntime.InferenceSession(model.SerializeToString())
    (expected,) = session.run(None, {"x": x})
    norm = Norm.of(*params, 1e-5)
    assert np.array_equal((x * norm.mul).astype(np.float32) + norm.add, expected)


def test_a_matmul_then_a_bias_add_is_one_linear_layer():
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    rng = np.random.default_rng(4)
    q_in, i1 = _quant("q_in", "x", 2**-4)
    q_w, i2 = _quant("q_w", "w", 2**-5)
    q_b, i3 = _quant("q_b", "b", 2**-9, bits=16.0)
    matmul = helper.make_node("MatMul", ["q_in_out", "q_w_out"], ["acc"], name="mm")
    add = helper.make_node("Add", ["q_b_out", "acc"], ["sum"], name="bias")
    q_out, i4 = _quant("q_out", "sum", 2**-5)
    inits = [_const("w", rng.uniform(-1, 1, (4, 3))), _const("b", rng.uniform(-1, 1, 3))]
    model = _model([q_in, q_w, q_b, matmul, add, q_out], [*inits, *i1, *i2, *i3, *i4])
    model.graph.output[0].name = "q_out_out"
    design = from_qonnx(model, "mm")
    (linear,) = design.graph.nodes
    assert linear.op.bias is not None
    x = rng.integers(-128, 128, (32, 4)).astype(np.float32) * 2**-4
    wrapper = ModelWrapper(model).transform(InferShapes())
    expected = np.concatenate([execute_onnx(wrapper, {"x": xi[None]})["q_out_out"] for xi in x])
    y = design.interpret(design.quantize_input(x))
    assert np.array_equal(y, (expected * 2**5).astype(np.int64))


def _bipolar(name, x, scale):
    node = helper.make_node("BipolarQuant", [x, f"{name}_s"], [f"{name}_out"], name=name)
    node.domain = QONNX
    return node, [_const(f"{name}_s", scale)]


def test_bipolar_weights_and_activations_match_qonnx_execution():
    """Quant -> Gemm (+-1 weights) -> BipolarQuant (+-0.5) -> Gemm (+-1) -> Quant."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    rng = np.random.default_rng(5)
    q_in, i1 = _quant("q_in", "x", 2**-4)
    w1, i2 = _bipolar("w1", "w_a", 1.0)
    fc1 = helper.make_node("Gemm", ["q_in_out", "w1_out"], ["a"], name="fc1", transB=1)
    sign, i3 = _bipolar("sign", "a", 0.5)
    w2, i4 = _bipolar("w2", "w_b", 1.0)
    fc2 = helper.make_node("Gemm", ["sign_out", "w2_out"], ["b"], name="fc2", transB=1)
    q_out, i5 = _quant("q_out", "b", 2**-1)
    inits = [_const("w_a", rng.uniform(-1, 1, (6, 4))), _const("w_b", rng.uniform(-1, 1, (3, 6)))]
    nodes = [q_in, w1, fc1, sign, w2, fc2, q_out]
    model = _model(nodes, [*inits, *i1, *i2, *i3, *i4, *i5], y="q_out_out")
    design = from_qonnx(model, "bipolar")
    x = rng.integers(-128, 128, (64, 4)).astype(np.float32) * 2**-4
    wrapper = ModelWrapper(model).transform(InferShapes())
    expected = np.concatenate([execute_onnx(wrapper, {"x": xi[None]})["q_out_out"] for xi in x])
    y = design.interpret(design.quantize_input(x))
    assert np.array_equal(y, (expected * 2).astype(np.int64))
    assert len(np.unique(y)) > 3
    with pytest.raises(QonnxImportError, match=r"first \(BipolarQuant\): a BipolarQuant of the"):
        first, i6 = _bipolar("first", "x", 1.0)
        from_qonnx(_model([first], i6, y="first_out", y_dims=(1, 4)), "m")


@settings(max_examples=40, deadline=None)
@given(
    mul=st.floats(-2, 2, width=32),
    add=st.floats(-1, 1, width=32),
    x_frac=st.integers(0, 14),
    frac=st.integers(0, 6),
    bits=st.integers(2, 6),
    floor=st.booleans(),
    low=st.integers(-(1 << 21), 0),
    span=st.integers(0, 1 << 22),
)
@example(0.7, 0.1, 14, 4, 4, False, -(1 << 21), 1 << 22)  # 2**22 values: bisection only
def test_a_folded_batch_norm_equals_the_float32_result_on_every_value(
    mul, add, x_frac, frac, bits, floor, low, span
):
    """Also beyond ``CHECKED`` values, where ``fold`` relies on monotony alone."""
    from elasticai.creator.arithmetic import Rounding, shift_round
    from elasticai.creator.frontend.qonnx_norm import NoIntegerMap, Norm, Rounded, fold

    f32 = np.float32
    out = Rounded(frac, Rounding.FLOOR if floor else Rounding.HALF_EVEN, 0, (1 << bits) - 1)
    norm = Norm(np.array([mul], f32), np.array([add], f32))
    try:
        (a,), (b,), s = fold(norm, [low], [low + span], x_frac, out, 0)
    except NoIntegerMap as error:
        assert str(error).startswith("channel 0: no integers A, B, s <= 40")
        return
    x = np.arange(low, low + span + 1)
    if max(-low, low + span) * abs(a) + abs(b) < 1 << 62:  # int64 suffices (fast)
        got = np.clip(shift_round(x * a + b, s, out.rounding), out.low, out.high)
    else:
        got = out.integer(x, a, b, s)
    assert np.array_equal(got, out.reference(x, x_frac, f32(mul), f32(add)))


def test_a_batch_norm_of_a_quantized_value_is_an_identity_layer_folded():
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    def model(batch):
        rng = np.random.default_rng(6)
        q_in, i1 = _quant("q_in", "x", 2**-4, bits=6.0)
        names = ["norm_s", "norm_b", "norm_m", "norm_v"]
        norm = helper.make_node("BatchNormalization", ["q_in_out", *names], ["n"], name="norm")
        params = [rng.uniform(-1.5, 1.5, 4), rng.uniform(-0.5, 0.5, 4)]
        params += [rng.uniform(-0.5, 0.5, 4), rng.uniform(0.2, 2.0, 4)]
        q_out, i2 = _quant("q_out", "n", 2**-3, bits=5.0)
        inits = [_const(k, p) for k, p in zip(names, params, strict=True)]
        return _model([q_in, norm, q_out], [*inits, *i1, *i2], (batch, 4), (batch, 4), "q_out_out")

    design = from_qonnx(model(1), "norm")
    (linear,) = design.graph.nodes
    assert np.count_nonzero(linear.op.weight) == 4  # diagonal
    x = (np.repeat(np.arange(-32, 32)[:, None], 4, axis=1) * 2**-4).astype(np.float32)
    wrapper = ModelWrapper(model(len(x))).transform(InferShapes())
    expected = execute_onnx(wrapper, {"x": x})["q_out_out"]
    y = design.interpret(design.quantize_input(x))
    assert np.array_equal(y, (expected * 2**3).astype(np.int64))
