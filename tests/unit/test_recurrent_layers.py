"""Recurrent layers (``LSTM``, ``GRU``, ``RNN``): exact integers, torch's shapes, training.

The integer semantics are checked against a reference written here from the formulas
of ``ops.recurrent.RecurrentOp``'s docstring with Python ints and ``Fraction`` (every
arrow one rounding of an exact rational), independent of the op's code. Only the
activations' own constants are shared: a piecewise function is its table
(``piecewise_params``, as ``Sigmoid`` and ``Tanh`` are), evaluated here in ``Fraction``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest
import torch

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.nn.fixed_point import GRU, LSTM, RNN, Sigmoid, Tanh
from elasticai.creator.nn.fixed_point._pointwise import hard_sigmoid_params
from elasticai.creator.nn.fixed_point.activations import piecewise_params
from elasticai.creator.nn.fixed_point.recurrent import gate_activation, tanh_activation
from elasticai.creator.ops import LinearOp
from elasticai.creator.ops.recurrent import RecurrentOp, interpret_stack

# --- the reference ------------------------------------------------------------------


def rnd(v: Fraction, rounding: str) -> int:
    if rounding == "floor":
        return math.floor(v)
    if rounding == "half_up":
        return math.floor(v + Fraction(1, 2))
    return round(v)  # Fraction rounds ties to even


def fit(q: int, t: FixedType, overflow: str) -> int:
    if overflow == "saturate":
        return min(max(q, t.min_int), t.max_int)
    return (q - t.min_int) % (1 << t.total_bits) + t.min_int


@dataclass
class Ref:
    """The formats and modes of a layer, and its activations on integers."""

    cell: str
    x: FixedType
    w: FixedType
    b: FixedType
    g: FixedType
    a: FixedType
    c: FixedType
    gate: str  # sigmoid | hard_sigmoid
    act: str  # tanh | hard_tanh | relu
    segments: int
    rounding: str
    overflow: str

    def to(self, v: Fraction, t: FixedType) -> int:
        """A real number rounded into ``t`` (one arrow)."""
        return fit(rnd(v * 2**t.frac_bits, self.rounding), t, self.overflow)

    def real(self, q: int, t: FixedType) -> Fraction:
        return Fraction(q, 2**t.frac_bits)

    def table(self, kind: str, q: int, t_in: FixedType, t_out: FixedType) -> int:
        p = piecewise_params(kind, t_in, t_out, self.segments)
        k = sum(1 for brk in p.breaks[1:] if brk <= q)
        v = Fraction((q - p.bases[k]) * p.muls[k] + p.adds[k], 2**p.shift)
        return fit(rnd(v, self.rounding), t_out, self.overflow)

    def sigmoid(self, q: int) -> int:
        if self.gate == "sigmoid":
            return self.table("sigmoid", q, self.g, self.a)
        k = self.a.frac_bits + 4  # HardSigmoid: x * C / 2**k + 1/2, C = round(2**k / 6)
        slope = Fraction(((1 << k) + 3) // 6, 2**k)
        v = (self.real(q, self.g) * slope + Fraction(1, 2)) * 2**self.a.frac_bits
        return fit(min(max(rnd(v, self.rounding), 0), 2**self.a.frac_bits), self.a, self.overflow)

    def tanh(self, q: int, t_in: FixedType, t_out: FixedType) -> int:
        if self.act == "tanh":
            return self.table("tanh", q, t_in, t_out)
        v = rnd(self.real(q, t_in) * 2**t_out.frac_bits, self.rounding)
        one = 2**t_out.frac_bits
        if self.act == "relu":
            return min(max(v, 0), t_out.max_int)
        return min(max(v, max(-one, t_out.min_int)), min(one, t_out.max_int))

    def rows(self, w: list[list[int]], b: list[Fraction], z: list[int]) -> list[Fraction]:
        """``W z + b`` exactly, as reals (``z`` in ``X``)."""
        scale = 2 ** (self.x.frac_bits + self.w.frac_bits)
        return [
            Fraction(sum(wi * zi for wi, zi in zip(row, z, strict=True)), scale) + bj
            for row, bj in zip(w, b, strict=True)
        ]

    def step(self, p: dict, x: list[int], h: list[int], c: list[int]):
        """One step of one layer: ``p`` holds torch's integer parameters of the layer."""
        n, a, xt = len(h), self.a, self.x
        w_ih, w_hh, b_ih, b_hh = p["w_ih"], p["w_hh"], p["b_ih"], p["b_hh"]
        bias = [self.real(q, self.b) for q in b_ih]
        bias_h = [self.real(q, self.b) for q in b_hh]
        if self.cell in ("lstm", "rnn"):
            w = [r1 + r2 for r1, r2 in zip(w_ih, w_hh, strict=True)]
            pre = [
                self.to(v, self.g)
                for v in self.rows(w, [u + v for u, v in zip(bias, bias_h, strict=True)], x + h)
            ]
            if self.cell == "rnn":
                return [self.tanh(q, self.g, xt) for q in pre], c
            i, f, g, o = (pre[k * n : (k + 1) * n] for k in range(4))
            i, f, o = ([self.sigmoid(q) for q in v] for v in (i, f, o))
            g = [self.tanh(q, self.g, a) for q in g]
            c = [
                self.to(
                    self.real(fj, a) * self.real(cj, self.c) + self.real(ij, a) * self.real(gj, a),
                    self.c,
                )
                for fj, cj, ij, gj in zip(f, c, i, g, strict=True)
            ]
            h = [
                self.to(self.real(oj, a) * self.real(self.tanh(cj, self.c, a), a), xt)
                for oj, cj in zip(o, c, strict=True)
            ]
            return h, c
        # gru: r, z from both halves; n_x = W_in x + b_in, n_h = W_hn h + b_hn
        gates = [r1 + r2 for r1, r2 in zip(w_ih[: 2 * n], w_hh[: 2 * n], strict=True)]
        rz_pre = self.rows(
            gates, [u + v for u, v in zip(bias[: 2 * n], bias_h[: 2 * n], strict=True)], x + h
        )
        r = [self.sigmoid(self.to(v, self.g)) for v in rz_pre[:n]]
        z = [self.sigmoid(self.to(v, self.g)) for v in rz_pre[n:]]
        n_x = [self.to(v, self.g) for v in self.rows(w_ih[2 * n :], bias[2 * n :], x)]
        n_h = [self.to(v, self.g) for v in self.rows(w_hh[2 * n :], bias_h[2 * n :], h)]
        cand = [
            self.tanh(
                self.to(self.real(nx, self.g) + self.real(rj, a) * self.real(nh, self.g), self.g),
                self.g,
                a,
            )
            for nx, rj, nh in zip(n_x, r, n_h, strict=True)
        ]
        h = [
            self.to(
                (1 - self.real(zj, a)) * self.real(nj, a) + self.real(zj, a) * self.real(hj, xt), xt
            )
            for zj, nj, hj in zip(z, cand, h, strict=True)
        ]
        return h, c


def reference(ref: Ref, layers: list[dict], x: list[list[list[float]]], h0, c0):
    """Outputs ``(batch, T, H)``, ``h_n`` and ``c_n`` ``(layers, batch, H)`` as integers."""
    outs, hs, cs = [], [], []
    for n_b, seq in enumerate(x):
        values = [[ref.to(Fraction(v), ref.x) for v in xt] for xt in seq]
        h_b, c_b = [], []
        for k, p in enumerate(layers):
            n = len(p["w_hh"][0])
            h = [ref.to(Fraction(v), ref.x) for v in h0[k][n_b]] if h0 is not None else [0] * n
            c = [ref.to(Fraction(v), ref.c) for v in c0[k][n_b]] if c0 is not None else [0] * n
            out = []
            for xt in values:
                h, c = ref.step(p, xt, h, c)
                out.append(h)
            values = out
            h_b.append(h)
            c_b.append(c)
        outs.append(values)
        hs.append(h_b)
        cs.append(c_b)
    return np.array(outs), np.array(hs).transpose(1, 0, 2), np.array(cs).transpose(1, 0, 2)


# --- random layers --------------------------------------------------------------------

VARIANTS = {
    "lstm": [("sigmoid", "tanh"), ("hard_sigmoid", "hard_tanh"), ("hard_sigmoid", "tanh")],
    "gru": [("sigmoid", "tanh"), ("hard_sigmoid", "hard_tanh"), ("sigmoid", "hard_tanh")],
    "rnn": [("", "tanh"), ("", "relu")],
}
SHAPES = [(1, 1, 1), (2, 5, 1), (17, 5, 2), (2, 20, 2), (17, 1, 2), (1, 20, 1), (17, 20, 2)]
CASES = [  # (cell, variant, (T, H, layers), seed); odd seeds start from a given state
    (cell, variant, shape, seed)
    for cell, variants in VARIANTS.items()
    for variant in variants
    for seed, shape in enumerate(SHAPES)
]


def random_format(rng: random.Random, low: int, high: int, int_bits: tuple[int, int]) -> FixedType:
    """Between ``low`` and ``high`` bits, of which ``int_bits`` (at most, at least) are not
    fractional where the total allows."""
    total = rng.randint(low, high)
    frac = rng.randint(max(0, total - int_bits[1]), max(0, total - int_bits[0]))
    return FixedType(total, frac)


def random_ints(rng: random.Random, t: FixedType, shape: tuple[int, ...]) -> np.ndarray:
    """Integers of ``t``: both ends of the range, the rest from the whole range or (mostly,
    so that not every gate saturates) from a narrower one around zero."""
    bound = int(rng.choice([0.25, 0.5, 1.0, 2.0**t.total_bits]) * 2**t.frac_bits)
    low, high = max(t.min_int, -bound), min(t.max_int, bound)
    values = np.array([rng.randint(low, high) for _ in range(math.prod(shape))])
    ends = [t.min_int, t.max_int]
    rng.shuffle(ends)
    values[:2] = ends[: values.size]
    rng.shuffle(values)
    return values.reshape(shape)


def make_case(cell: str, variant: tuple[str, str], shape: tuple[int, int, int], seed: int):
    rng = random.Random(f"{cell}{variant}{shape}{seed}")
    steps, hidden, num_layers = shape
    x = rng.choice(
        [FixedType(8, 4), FixedType(16, 8), FixedType(6, 3), random_format(rng, 4, 16, (2, 6))]
    )
    w, b = random_format(rng, 3, 12, (1, 4)), random_format(rng, 3, 16, (1, 8))
    g = random_format(rng, 4, 16, (3, 6))  # sigmoid and tanh change on [-8, 8]
    a = random_format(rng, 3, 16, (1, 3))  # they lie in [-1, 1]
    c = random_format(rng, 4, 16, (2, 6))
    rounding, overflow = rng.choice(list(Rounding)).value, rng.choice(list(Overflow)).value
    input_size, segments = rng.randint(1, 4), rng.choice([4, 32])
    kwargs = dict(
        weight_total_bits=w.total_bits, weight_frac_bits=w.frac_bits,
        bias_total_bits=b.total_bits, bias_frac_bits=b.frac_bits,
        gate_total_bits=g.total_bits, gate_frac_bits=g.frac_bits,
        segments=segments, rounding=rounding, overflow=overflow,
    )  # fmt: skip
    if cell == "rnn":
        model = RNN(input_size, hidden, x.total_bits, x.frac_bits, num_layers, variant[1], **kwargs)
    else:
        kwargs |= dict(act_total_bits=a.total_bits, act_frac_bits=a.frac_bits)
        kwargs |= dict(gate_activation=variant[0], cell_activation=variant[1])
        if cell == "lstm":
            kwargs |= dict(cell_total_bits=c.total_bits, cell_frac_bits=c.frac_bits)
        module = LSTM if cell == "lstm" else GRU
        model = module(input_size, hidden, x.total_bits, x.frac_bits, num_layers, **kwargs)
    layers = []
    for k in range(num_layers):
        p = {}
        for name, t in (("w_ih", w), ("w_hh", w), ("b_ih", b), ("b_hh", b)):
            param = getattr(model, f"{'weight' if name[0] == 'w' else 'bias'}_{name[2:]}_l{k}")
            ints = random_ints(rng, t, tuple(param.shape))
            param.data = torch.from_numpy(ints / 2.0**t.frac_bits).float()
            p[name] = ints.tolist()
        layers.append(p)
    act = variant[1]
    ref = Ref(cell, x, w, b, g, a, c, variant[0], act, segments, rounding, overflow)
    return model, ref, layers, input_size, rng


def grid(rng: random.Random, t: FixedType, shape: tuple[int, ...]) -> torch.Tensor:
    """Real numbers a bit beyond ``t``'s range, on a grid 4 times finer (they round)."""
    span = 5 * (1 << (t.total_bits - 1))
    values = [rng.randint(-span, span) / 2.0 ** (t.frac_bits + 2) for _ in range(math.prod(shape))]
    return torch.tensor(values).reshape(shape)


@pytest.mark.parametrize(("cell", "variant", "shape", "seed"), CASES, ids=str)
def test_integers_equal_the_reference(cell, variant, shape, seed):
    model, ref, layers, input_size, rng = make_case(cell, variant, shape, seed)
    steps, hidden, num_layers = shape
    batch = 2
    x = grid(rng, ref.x, (batch, steps, input_size))
    h0 = c0 = None
    hx = None
    if seed % 2:  # start from a given state
        h0 = grid(rng, ref.x, (num_layers, batch, hidden))
        c0 = grid(rng, ref.c, (num_layers, batch, hidden))
        hx = (h0, c0) if cell == "lstm" else h0
    model.batch_first = True
    with torch.no_grad():
        y, state = model(x, hx)
    h_n, c_n = state if cell == "lstm" else (state, None)
    want_y, want_h, want_c = reference(
        ref,
        layers,
        x.tolist(),
        None if h0 is None else h0.tolist(),
        None if c0 is None else c0.tolist(),
    )
    scale = 2.0**ref.x.frac_bits
    assert (y.double() * scale).long().tolist() == want_y.tolist()
    assert (h_n.double() * scale).long().tolist() == want_h.tolist()
    if cell == "lstm":
        assert (c_n.double() * 2.0**ref.c.frac_bits).long().tolist() == want_c.tolist()


def test_the_cases_cover_what_they_should():
    shapes = {shape for *_, shape, _ in CASES}
    assert {t for t, _, _ in shapes} == {1, 2, 17}
    assert {h for _, h, _ in shapes} == {1, 5, 20}
    assert {n for _, _, n in shapes} == {1, 2}
    assert {(cell, v) for cell, v, *_ in CASES} == {
        (cell, v) for cell, variants in VARIANTS.items() for v in variants
    }
    extra = 0  # some layers give the bias more fractional bits than the products
    for case in CASES:
        _, ref, *_ = make_case(*case)
        extra += ref.b.frac_bits > ref.x.frac_bits + ref.w.frac_bits
    assert extra > 0


def test_activations_are_the_library_layers_where_formats_agree():
    t, r, o = FixedType(8, 4), Rounding.HALF_EVEN, Overflow.SATURATE
    assert gate_activation("sigmoid", t, t, 32, r, o) == Sigmoid(8, 4).piecewise()
    assert tanh_activation("tanh", t, t, 32, r, o) == Tanh(8, 4).piecewise()
    assert gate_activation("hard_sigmoid", t, t, 32, r, o) == hard_sigmoid_params(t, r, o)


# --- torch's interface --------------------------------------------------------------------

TORCH = {LSTM: torch.nn.LSTM, GRU: torch.nn.GRU, RNN: torch.nn.RNN}


def on_grid(v: torch.Tensor, t: FixedType) -> bool:
    q = v.double() * 2.0**t.frac_bits
    return bool((q == q.round()).all() and (q >= t.min_int).all() and (q <= t.max_int).all())


@pytest.mark.parametrize("module", [LSTM, GRU, RNN], ids=lambda m: m.__name__)
@pytest.mark.parametrize("layout", ["batch_first", "seq_first", "unbatched"])
@pytest.mark.parametrize("with_hx", [False, True])
def test_shapes_are_torch_s_and_values_on_the_grid(module, layout, with_hx):
    torch.manual_seed(0)
    kwargs = dict(num_layers=2, batch_first=layout == "batch_first")
    ours = module(3, 4, 8, 4, **kwargs, **({"cell_frac_bits": 3} if module is LSTM else {}))
    theirs = TORCH[module](3, 4, **kwargs)
    shape = {"batch_first": (5, 7, 3), "seq_first": (7, 5, 3), "unbatched": (7, 3)}[layout]
    x = torch.randn(shape)
    hx = None
    if with_hx:
        state = (2, 4) if layout == "unbatched" else (2, 5, 4)
        hx = (torch.randn(state), torch.randn(state)) if module is LSTM else torch.randn(state)
    y, s = ours(x, hx)
    y_t, s_t = theirs(x, hx)
    assert y.shape == y_t.shape and y.dtype == y_t.dtype
    assert on_grid(y, FixedType(8, 4))
    if module is LSTM:
        assert [v.shape for v in s] == [v.shape for v in s_t]
        assert on_grid(s[0], FixedType(8, 4)) and on_grid(s[1], FixedType(8, 3))
    else:
        assert s.shape == s_t.shape and on_grid(s, FixedType(8, 4))
    assert torch.equal(
        y[-1] if layout != "batch_first" else y[:, -1], s[0][-1] if module is LSTM else s[-1]
    )


@pytest.mark.parametrize("module", [LSTM, GRU, RNN], ids=lambda m: m.__name__)
def test_float_state_dict_loads_and_the_result_is_close_at_16_10(module):
    torch.manual_seed(1)
    theirs = TORCH[module](3, 16, num_layers=2, batch_first=True)
    ours = module(3, 16, 16, 10, num_layers=2, batch_first=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    x = torch.rand(4, 12, 3) * 2 - 1
    with torch.no_grad():
        (y, s), (y_t, s_t) = ours(x), theirs(x)
    assert (y - y_t).abs().max() < 0.1
    for mine, float_one in zip(
        s if module is LSTM else [s], s_t if module is LSTM else [s_t], strict=True
    ):
        assert (mine - float_one).abs().max() < 0.1


@pytest.mark.parametrize("module", [LSTM, GRU, RNN], ids=lambda m: m.__name__)
def test_without_bias_it_computes_as_with_zero_biases(module):
    torch.manual_seed(2)
    with_bias, without = module(3, 4, 8, 4, bias=True), module(3, 4, 8, 4, bias=False)
    without.load_state_dict({k: v for k, v in with_bias.state_dict().items() if "weight" in k})
    for name, p in with_bias.named_parameters():
        if "bias" in name:
            p.data.zero_()
    x = torch.randn(6, 2, 3)
    (y, _), (y_0, _) = with_bias(x), without(x)
    assert torch.equal(y, y_0)
    assert without.recurrent_ops()[0].linear.bias is None


# --- misuse ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: LSTM(2, 3, 8, 4, dropout=0.5), "dropout must be 0 (no dropout between recurrent layers), not 0.5"),
        (lambda: GRU(2, 3, 8, 4, bidirectional=True), "bidirectional must be False (one direction only), not True"),
        (lambda: LSTM(2, 3, 8, 4, proj_size=2), "proj_size must be 0 (no projection of h), not 2"),
        (lambda: RNN(2, 3, 8, 4, dropout=0.1), "dropout must be 0 (no dropout between recurrent layers), not 0.1"),
        (lambda: RNN(2, 3, 8, 4, nonlinearity="sigmoid"), "nonlinearity must be one of 'tanh', 'relu', not 'sigmoid'"),
        (lambda: LSTM(2, 3, 8, 4, gate_activation="tanh"), "gate_activation must be one of 'sigmoid', 'hard_sigmoid', not 'tanh'"),
        (lambda: GRU(2, 3, 8, 4, cell_activation="relu"), "cell_activation must be one of 'tanh', 'hard_tanh', not 'relu'"),
        (lambda: LSTM(2, 3, 8, 4, segments=0), "segments must be an int from 1 to 1024, not 0"),
        (lambda: LSTM(2, 3, 8, 4, rounding="up"), "rounding must be one of 'floor', 'half_up', 'half_even', not 'up'"),
        (lambda: LSTM(2, 3, 40, 20), "f * c + i * g needs 81 bits, more than 62; choose narrower formats"),
        (lambda: GRU(2, 3, 40, 20), "n_x + r * n_h needs 81 bits, more than 62; choose narrower formats"),
        (lambda: RNN(2, 3, 8, 4, gate_total_bits=70), "format Q70.4 needs 70 bits, more than 62; choose narrower formats"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused_naming_them(make, message):
    with pytest.raises(ValueError) as error:
        make()
    assert str(error.value) == message


def test_bad_inputs_and_states_are_refused():
    lstm, gru = LSTM(2, 3, 8, 4), GRU(2, 3, 8, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"LSTM takes \(L, 2\) or a batch of them \(\(L, N, 2\)\)"):
        lstm(torch.zeros(4, 5, 3))
    with pytest.raises(ValueError, match=r"hx\[0\] must have shape \(1, 5, 3\), not \(1, 3\)"):
        lstm(torch.zeros(4, 5, 2), (torch.zeros(1, 3), torch.zeros(1, 5, 3)))
    with pytest.raises(ValueError, match=r"LSTM takes hx as a tuple \(h_0, c_0\)"):
        lstm(torch.zeros(4, 5, 2), torch.zeros(1, 5, 3))
    with pytest.raises(ValueError, match=r"GRU takes hx as one tensor h_0"):
        gru(torch.zeros(5, 4, 2), (torch.zeros(1, 5, 3), torch.zeros(1, 5, 3)))
    with pytest.raises(ValueError, match=r"model \(GRU\) is the first layer: give create_design"):
        gru.eval().create_design("g")


def test_a_stack_converts_between_the_formats_of_its_layers():
    torch.manual_seed(3)
    first, second = LSTM(2, 3, 8, 4), LSTM(3, 3, 10, 6)  # Q8.4 -> Q10.6 is exact: << 2
    ops = [first.recurrent_ops()[0], second.recurrent_ops()[0]]
    x = np.random.default_rng(0).integers(-128, 128, size=(2, 5, 2))
    y, h_n, c_n = interpret_stack(ops, x)
    between, h_0, c_0 = ops[0].interpret_sequence(x)
    want, h_1, c_1 = ops[1].interpret_sequence(between << 2)
    assert np.array_equal(y, want)
    assert np.array_equal(h_n, np.stack([h_0, h_1])) and np.array_equal(c_n, np.stack([c_0, c_1]))


def test_the_op_refuses_a_weight_that_does_not_fit_its_cell():
    t = FixedType(8, 4)
    linear = LinearOp(np.zeros((6, 4), dtype=np.int64), None, t, None)
    act = tanh_activation("tanh", t, t, 8, Rounding.HALF_EVEN, Overflow.SATURATE)
    with pytest.raises(ValueError, match=r"a lstm layer needs 4 \* hidden rows"):
        RecurrentOp("lstm", linear, t, t, act, act, t, act, t)
    rnn_linear = LinearOp(np.zeros((2, 5), dtype=np.int64), None, t, None)
    with pytest.raises(ValueError, match="a rnn layer has no gate_act"):
        RecurrentOp("rnn", rnn_linear, t, t, act, gate_act=act)


# --- training -------------------------------------------------------------------------


@pytest.mark.parametrize("module", [LSTM, GRU], ids=lambda m: m.__name__)
def test_training_lowers_the_loss_and_reaches_every_parameter(module):
    torch.manual_seed(0)
    rnn = module(1, 8, 16, 8, num_layers=2, batch_first=True)
    head = torch.nn.Linear(8, 1)
    x = torch.rand(32, 8, 1) * 2 - 1
    target = x.mean(dim=1) * 2  # remember the sequence's mean
    optimizer = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=0.02)
    losses = []
    for step in range(25):
        optimizer.zero_grad()
        y, _ = rnn(x)
        loss = torch.nn.functional.mse_loss(head(y[:, -1]), target)
        loss.backward()
        if step == 0:
            for name, p in rnn.named_parameters():
                assert p.grad is not None and p.grad.abs().sum() > 0, name
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
