"""Our fully unrolled layers against da4ml (arXiv 2507.04535) on the same integer network.

    pip install da4ml                              # a peer tool, not a dependency of ours
    python bench/compare_da4ml.py                  # the jet MLP 8/4, Yosys on both (~15 min)
    python bench/compare_da4ml.py --no-synth       # exactness and estimates only (seconds)
    python bench/compare_da4ml.py --layers 6,4,3   # a small stack

1. Ours: the jet MLP of ``bench/run.py`` (Linear 16-64-32-32-5 with ReLUs, 8 total and
   4 fractional bits, the benchmark's random weights) fully unrolled:
   ``create_design(..., parallelism="full", pipeline_levels=L)``.
2. da4ml: the same integer network, built from our design's graph with da4ml's own
   operations: fixed-point inputs, a constant matrix-vector product with the integer
   weights (its CMVM solver), the bias, the rounding, the clamp of the fused ReLU and the
   saturation. ``half_up`` (the default) and ``floor`` are da4ml's own ``RND`` and ``TRN``;
   da4ml has no ties-to-even, so ``half_even`` is built from its bitwise operations
   (``floor(v + 1/2)`` with its last bit cleared where the dropped bits are all zero).
3. Exactness: da4ml's interpreter against our integer reference (``design.interpret``) on
   ``--samples`` random inputs on the input grid (the two extremes included); any
   difference fails with the first differing sample.
4. Cost: both through the same Yosys script (``synth.yosys_script``: ``synth_xilinx`` for
   the 7-series, hierarchy kept), our VHDL via GHDL as ``design.report()`` does it,
   da4ml's Verilog as it writes it. da4ml is pipelined to our latency (``to_pipeline``
   with the stage count that gives the same cycles, then its retiming); its cycles are
   measured in Icarus Verilog where ``iverilog`` is installed (which also checks its
   Verilog against its interpreter), else counted (stages + 1: registers at the input,
   between the stages and at the output).

Exit status: 0 when exact, 1 on a mismatch, 2 when da4ml is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from elasticai.creator.arithmetic import FixedType, Overflow, Rounding
from elasticai.creator.ir.graph import Graph
from elasticai.creator.ops import LinearOp

HERE = Path(__file__).resolve().parent
JET = (16, 64, 32, 32, 5)
#: How each of our rounding modes is built in da4ml.
DA4ML_ROUNDING = {
    Rounding.HALF_UP: "its own RND",
    Rounding.FLOOR: "its own TRN",
    Rounding.HALF_EVEN: "no such mode in da4ml: TRN of v + 1/2, last bit cleared on ties (bit ops)",
}
INSTALL_HINT = (
    "da4ml is not installed. It is a peer tool compared against, not a dependency of "
    "elasticai.creator; install it with `pip install da4ml` (or `pip install "
    "elasticai.creator[peers]`) and run this again."
)


def bench_run() -> ModuleType:
    """``bench/run.py`` as a module (its ``jet`` and ``random_weights``)."""
    spec = importlib.util.spec_from_file_location("bench_run", HERE / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build_model(layers: tuple[int, ...], total: int, frac: int, rounding: Rounding) -> Any:
    """The benchmark's jet MLP (``layers`` = 16,64,32,32,5) or a stack of the same kind:
    Linear layers with a ReLU between each two, weights from ``random_weights(model, 2)``.
    Every Linear rounds as ``rounding`` (the integer weights do not depend on it)."""
    from elasticai.creator.nn import Sequential
    from elasticai.creator.nn.fixed_point import Linear, ReLU

    run = bench_run()
    if len(layers) < 2:
        raise ValueError(f"layers needs at least two sizes, not {layers}")
    if layers == JET:
        model = run.jet(total, frac)()
    else:
        modules: list[Any] = []
        for i, (n_in, n_out) in enumerate(zip(layers, layers[1:], strict=False)):
            if i:
                modules.append(ReLU())
            modules.append(Linear(n_in, n_out, total, frac))
        model = run.random_weights(Sequential(*modules), 2)
    for module in model.modules():
        if isinstance(module, Linear):
            module.rounding = rounding
    return model


# --- da4ml ------------------------------------------------------------------------


def da4ml_available() -> bool:
    return importlib.util.find_spec("da4ml") is not None


def _round(y: Any, frac_from: int, frac_to: int, rounding: Rounding) -> Any:
    """da4ml variables ``y`` (``frac_from`` fractional bits) rounded to ``frac_to`` as
    ``arithmetic.shift_round`` does; no overflow (integer bits to spare)."""
    if frac_from <= frac_to:
        return y
    wide = 64  # integer bits: more than any value has, so nothing wraps here
    if rounding is Rounding.FLOOR:
        return y.quantize(1, wide, frac_to, "WRAP", "TRN")
    if rounding is Rounding.HALF_UP:
        return y.quantize(1, wide, frac_to, "WRAP", "RND")
    # half to even: t = y + 1/2 LSB; q = floor(t); on a tie (the bits of t below the
    # LSB all zero) q is odd exactly when it must go down by one: clear its last bit
    step = 2.0**-frac_to
    t = y + step / 2
    q = t.quantize(1, wide, frac_to, "WRAP", "TRN")
    dropped = t.quantize(0, -frac_to, frac_from, "WRAP", "TRN")  # t mod 1 LSB
    inexact = dropped.to_bool("any")  # 0 on a tie
    even = q.quantize(1, wide, frac_to - 1, "WRAP", "TRN")  # q with its last bit 0
    last = q.quantize(0, 1 - frac_to, frac_to, "WRAP", "TRN")  # q's last bit
    return even | (last & (inexact * step))


def _linear(x: Any, node: Any) -> Any:
    """One of our fully unrolled Linear nodes (a ``LinearOp``) on da4ml variables."""
    op: LinearOp = node.op
    x_type: FixedType = node.input_type.dtype
    out: FixedType = node.output_type.dtype
    weight = np.asarray(op.weight, dtype=np.float64) * 2.0**-op.w_type.frac_bits
    y = x @ weight.T  # da4ml's CMVM: shifts and adders, no multipliers
    if op.bias is not None and op.b_type is not None:
        y = y + np.asarray(op.bias, dtype=np.float64) * 2.0**-op.b_type.frac_bits
    y = _round(y, op.acc_frac_bits(x_type), out.frac_bits, op.rounding)
    step = 2.0**-out.frac_bits
    if op.overflow is Overflow.WRAP:
        y = y.quantize(1, out.total_bits - out.frac_bits - 1, out.frac_bits, "WRAP", "TRN")
    low = out.min_int if op.low is None else max(op.low, out.min_int)
    high = out.max_int if op.high is None else min(op.high, out.max_int)
    return np.minimum(np.maximum(y, low * step), high * step)  # the fused ReLU, saturation


def da4ml_logic(graph: Graph, hard_dc: int) -> Any:
    """Our graph (a chain of Linear nodes) as a da4ml ``CombLogic`` (its traced netlist)."""
    from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

    t = graph.input_type.dtype
    n = graph.input_type.size
    x = FixedVariableArray.from_kif(
        np.ones(n, dtype=bool),
        np.full(n, t.total_bits - t.frac_bits - 1),
        np.full(n, t.frac_bits),
        hwconf=HWConfig(1, -1, -1),
        solver_options={"hard_dc": hard_dc},
    )
    inputs, value = x, graph.input.name
    for node in graph.nodes:
        if not isinstance(node.op, LinearOp) or node.inputs != (value,):
            raise NotImplementedError(
                f"{node.where}: only a chain of Linear layers (ReLU fused) is compared, "
                f"not {node.op.kind}"
            )
        x, value = _linear(x, node), node.name
    return comb_trace(inputs, x, keep_dead_inputs=True)


def da4ml_outputs(logic: Any, graph: Graph, x_int: np.ndarray) -> np.ndarray:
    """da4ml's interpreter on integer inputs, its outputs as our integers."""
    t_in, t_out = graph.input_type.dtype, graph.output_type.dtype
    real = logic.predict(x_int.astype(np.float64) * 2.0**-t_in.frac_bits)
    scaled = np.asarray(real, dtype=np.float64).reshape(len(x_int), -1) * 2.0**t_out.frac_bits
    if not np.all(scaled == np.round(scaled)):
        raise AssertionError("da4ml's outputs are off the output grid")
    return scaled.astype(np.int64)


def da4ml_pipeline(logic: Any, stages: int) -> tuple[Any, float]:
    """da4ml's pipeline of ``stages`` combinational stages (``stages + 1`` cycles: registers
    at the input, between the stages and at the output) and its latency cutoff: of the
    cutoffs that give so many stages, the one with the fewest register bits (da4ml
    registers every value that crosses a stage boundary; our ``pipeline_levels`` also
    cuts where the fewest bits cross)."""
    from da4ml.trace import to_pipeline

    deepest = max(logic.latency)
    if stages == 1:
        return to_pipeline(logic, deepest + 1, retiming=False, verbose=False), deepest + 1
    best: tuple[int, float, Any] | None = None
    # a cutoff c gives floor(latency / c) + 1 stages: scan (deepest / stages, deepest / (stages - 1)]
    low, high = deepest / stages, deepest / (stages - 1)
    for cutoff in np.linspace(low, high, 41)[1:]:
        pipe = to_pipeline(logic, float(cutoff), retiming=False, verbose=False)
        if len(pipe.solutions) == stages and (best is None or pipe.reg_bits < best[0]):
            best = (pipe.reg_bits, float(cutoff), pipe)
    if best is None:
        raise RuntimeError(f"no latency cutoff splits da4ml's logic into {stages} stages")
    return best[2], best[1]


def da4ml_verilog(pipe: Any, top: str, work: Path) -> str:
    """da4ml's Verilog of ``pipe`` (its RTL writer; module ``top`` and ``top_wrapper``
    with one field of equal width per element), every module in one text."""
    from da4ml.codegen import RTLModel

    RTLModel(pipe, top, work, flavor="verilog", print_latency=False).write()
    generated = "\n".join(f.read_text() for f in sorted((work / "src").glob("*.v")))
    # its library modules that the design instantiates (e.g. no lookup_table: no tables)
    library = [
        f.read_text()
        for f in sorted((work / "src" / "static").glob("*.v"))
        if re.search(rf"\b{f.stem}\s+#", generated)
    ]
    return "\n".join([generated, *library])


def _fields(qints: Any) -> tuple[int, int, list[bool]]:
    """The wrapper's field width and fractional bits, and which fields are signed."""
    from da4ml.types import minimal_kif

    kifs = [minimal_kif(q) for q in qints]
    whole = max(k.integers for k in kifs) + max(int(k.keep_negative) for k in kifs)
    frac = max(k.fractional for k in kifs)
    return whole + frac, frac, [bool(k.keep_negative) for k in kifs]


def da4ml_rtl(
    pipe: Any, verilog: str, top: str, x_int: np.ndarray, graph: Graph, work: Path
) -> np.ndarray:
    """da4ml's Verilog (its wrapper ``top_wrapper``) in Icarus, a new sample before every
    clock edge: the outputs after each edge, as our integers (a row per edge)."""
    frac_in, frac_out = graph.input_type.dtype.frac_bits, graph.output_type.dtype.frac_bits
    width_in, f_in, _ = _fields(pipe.inp_qint)
    width_out, f_out, signed = _fields(pipe.out_qint)
    n_in, n_out = len(pipe.inp_qint), len(pipe.out_qint)
    fields = (x_int.astype(object) << (f_in - frac_in)) % (1 << width_in)
    words = [sum(int(v) << (width_in * i) for i, v in enumerate(row)) for row in fields]
    (work / "inputs.hex").write_text("".join(f"{w:x}\n" for w in words))
    edges = len(words) + len(pipe.solutions) + 4
    (work / "tb.v").write_text(
        f"""`timescale 1 ns / 1 ps
module tb;
  reg clk = 0;
  reg [{width_in * n_in - 1}:0] mem [0:{len(words) - 1}];
  reg [{width_in * n_in - 1}:0] x = 0;
  wire [{width_out * n_out - 1}:0] y;
  integer i;
  {top}_wrapper dut (.clk(clk), .model_inp(x), .model_out(y));
  initial begin
    $readmemh("inputs.hex", mem);
    for (i = 0; i < {edges}; i = i + 1) begin
      x = i < {len(words)} ? mem[i] : 0;
      #1 clk = 1; #1 clk = 0;
      $display("%h", y);
    end
    $finish;
  end
endmodule
"""
    )
    (work / "design.v").write_text(verilog)
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    assert iverilog is not None and vvp is not None
    compile_ = [iverilog, "-g2012", "-o", "tb.vvp", "tb.v", "design.v"]
    subprocess.run(compile_, cwd=work, check=True, capture_output=True)
    run = subprocess.run(
        [vvp, "-n", "tb.vvp"], cwd=work, check=True, capture_output=True, text=True
    )
    rows = []
    for line in run.stdout.split():
        word = 0 if "x" in line.lower() else int(line, 16)  # before the first sample arrives
        row = []
        for i in range(n_out):
            v = (word >> (width_out * i)) % (1 << width_out)
            if signed[i] and v >= 1 << (width_out - 1):
                v -= 1 << width_out
            row.append(v >> (f_out - frac_out) if f_out >= frac_out else v << (frac_out - f_out))
        rows.append(row)
    return np.array(rows, dtype=np.int64)


# --- the comparison -------------------------------------------------------------


@dataclass
class Row:
    lut: int | str
    ff: int | str
    dsp: int | str
    cycles: int | str
    depth: int | str
    seconds: float

    def counts(self) -> tuple[int | str, ...]:
        return self.lut, self.ff, self.dsp, self.cycles, self.depth


def random_inputs(t: FixedType, n: int, samples: int, seed: int) -> np.ndarray:
    """``samples`` inputs uniform on the input grid, the first two its extremes."""
    rng = np.random.default_rng(seed)
    x = rng.integers(t.min_int, t.max_int + 1, size=(max(samples, 2), n))
    x[0], x[1] = t.min_int, t.max_int
    return x


def first_mismatch(ours: np.ndarray, theirs: np.ndarray) -> int | None:
    differ = np.flatnonzero((ours != theirs).any(axis=1))
    return int(differ[0]) if differ.size else None


def rtl_latency(outputs: np.ndarray, expected: np.ndarray) -> int | None:
    """Cycles from a sample's clock edge to its output: the rows of ``outputs`` (one per
    edge) from edge ``latency - 1`` on are ``expected`` (None if at no offset)."""
    n = len(expected)
    for offset in range(len(outputs) - n + 1):
        if np.array_equal(outputs[offset : offset + n], expected):
            return offset + 1
    return None


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    )


def ratio(a: Any, b: Any) -> str:
    if isinstance(a, int) and isinstance(b, int) and b:
        return f"{a / b:.2f}"
    return "-"


def fmt(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) else str(v)


def parse_layers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"layers are sizes like 16,64,32,32,5, not {text!r}"
        ) from None


def parse_bits(text: str) -> tuple[int, int]:
    try:
        total, frac = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bits are TOTAL/FRAC like 8/4, not {text!r}") from None
    return total, frac


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layers", type=parse_layers, default=JET, help="default 16,64,32,32,5")
    parser.add_argument("--bits", type=parse_bits, default=(8, 4), help="TOTAL/FRAC, default 8/4")
    parser.add_argument(
        "--rounding",
        choices=[r.value for r in Rounding],
        default=Rounding.HALF_UP.value,
        help="every layer's rounding (default half_up: da4ml's own RND)",
    )
    parser.add_argument("--pipeline-levels", type=int, default=5, help="ours, default 5")
    parser.add_argument("--samples", type=int, default=1000, help="exactness check, default 1000")
    parser.add_argument("--seed", type=int, default=0, help="of the random inputs")
    parser.add_argument(
        "--hard-dc", type=int, default=2, help="da4ml's CMVM delay constraint (its CLI default 2)"
    )
    parser.add_argument(
        "--da4ml-cutoff",
        type=float,
        help="da4ml's latency cutoff as its RTLModel takes it (retimed; the cycles may then "
        "differ from ours); default: the cutoff for our cycles with the fewest registers",
    )
    parser.add_argument("--no-synth", action="store_true", help="exactness and estimates only")
    parser.add_argument("--workdir", type=Path, help="keep the Yosys and Icarus files here")
    args = parser.parse_args(argv)

    if not da4ml_available():
        print(INSTALL_HINT, file=sys.stderr)
        return 2

    from elasticai.creator.analysis.estimate import estimate
    from elasticai.creator.analysis.timing import predict_timing

    rounding = Rounding(args.rounding)
    total, frac = args.bits
    name = "jet" if args.layers == JET else "mlp"
    model = build_model(args.layers, total, frac, rounding)
    started = time.perf_counter()
    design = model.create_design(name, parallelism="full", pipeline_levels=args.pipeline_levels)
    graph = design.graph
    ours_compile = time.perf_counter() - started

    started = time.perf_counter()
    logic = da4ml_logic(graph, args.hard_dc)
    da4ml_compile = time.perf_counter() - started

    title = "-".join(map(str, args.layers))
    print(
        f"{name} {title}, Q{total}.{frac}, fully unrolled, pipeline_levels={args.pipeline_levels}; "
        f"rounding {rounding.value} (da4ml: {DA4ML_ROUNDING[rounding]}); "
        f"da4ml {version()} hard_dc={args.hard_dc}"
    )
    print(f"translation: ours {ours_compile:.1f} s, da4ml {da4ml_compile:.1f} s")

    x = random_inputs(graph.input_type.dtype, graph.input_type.size, args.samples, args.seed)
    ours = np.asarray(design.interpret(x), dtype=np.int64)
    theirs = da4ml_outputs(logic, graph, x)
    bad = first_mismatch(ours, theirs)
    if bad is not None:
        n_bad = int((ours != theirs).any(axis=1).sum())
        print(
            f"MISMATCH: {n_bad} of {len(x)} samples differ; first, sample {bad}:\n"
            f"  input        {x[bad].tolist()}\n"
            f"  ours (int)   {ours[bad].tolist()}\n"
            f"  da4ml (int)  {theirs[bad].tolist()}"
        )
        return 1
    print(
        f"exact: da4ml's interpreter equals our integer reference on {len(x)} samples "
        f"({ours.size} outputs)"
    )

    cycles = predict_timing(graph).latency_cycles
    stages = max(1, cycles - 1)
    if args.da4ml_cutoff is None:
        pipe, cutoff = da4ml_pipeline(logic, stages)
    else:
        from da4ml.trace import to_pipeline

        cutoff = args.da4ml_cutoff
        pipe = to_pipeline(logic, cutoff, verbose=False)
    ours_est, _ = estimate(graph)
    rows = [
        ["estimate", "LUT", "FF", "cycles"],
        ["ours", fmt(ours_est["lut"]), fmt(ours_est["ff"]), fmt(cycles)],
        ["da4ml", fmt(round(pipe.cost)), fmt(pipe.reg_bits), fmt(len(pipe.solutions) + 1)],
    ]
    print("\n" + table(rows))
    print(
        "(ours: the analytic estimate; da4ml: its cost model and register bits, "
        f"{len(pipe.solutions)} stages at latency cutoff {cutoff:.2f} of {max(logic.latency):.0f})"
    )
    if args.no_synth:
        return 0

    with tempfile.TemporaryDirectory(prefix="ec_da4ml_") as tmp:
        work = Path(args.workdir or tmp).resolve()
        (work / "da4ml").mkdir(parents=True, exist_ok=True)
        return compare_synthesis(design, pipe, x, work)


def version() -> str:
    from importlib.metadata import version as installed

    return installed("da4ml")


def compare_synthesis(design: Any, pipe: Any, x: np.ndarray, work: Path) -> int:
    from elasticai.creator.synth import synthesize_verilog

    graph = design.graph
    top = f"da4ml_{design.name}"
    verilog = da4ml_verilog(pipe, top, work / "da4ml")
    counted = len(pipe.solutions) + 1
    latency: int | str = counted
    if shutil.which("iverilog") and shutil.which("vvp"):
        sample = x[: min(len(x), 200)]
        (work / "icarus").mkdir(exist_ok=True)
        rtl = da4ml_rtl(pipe, verilog, top, sample, graph, work / "icarus")
        measured = rtl_latency(rtl, design.interpret(sample))
        if measured is None:
            print("MISMATCH: da4ml's Verilog in Icarus differs from our reference at every latency")
            return 1
        latency = measured
        print(f"da4ml's Verilog in Icarus: {len(sample)} samples exact, {measured} cycles latency")
    else:
        print(f"(no iverilog: da4ml's latency counted, not measured: {counted} cycles)")

    started = time.perf_counter()
    report = design.report(workdir=work / "ours")
    ours = Row(
        report["lut"],
        report["ff"],
        report["dsp"],
        report["latency_cycles"],
        report["logic_depth"],
        time.perf_counter() - started,
    )
    print(f"ours synthesized in {ours.seconds:.0f} s", flush=True)
    started = time.perf_counter()
    synth = synthesize_verilog(verilog, top, work / "da4ml" / "yosys")
    t = synth.total
    theirs = Row(t["lut"], t["ff"], t["dsp"], latency, t["logic_depth"], synth.seconds)
    print(f"da4ml synthesized in {theirs.seconds:.0f} s", flush=True)

    rows = [["Yosys synth_xilinx", "LUT", "FF", "DSP", "cycles", "depth", "synth s"]]
    for label, r in (("ours", ours), ("da4ml", theirs)):
        rows.append([label, *(fmt(v) for v in r.counts()), f"{r.seconds:.0f}"])
    ratios = (ratio(a, b) for a, b in zip(ours.counts(), theirs.counts(), strict=True))
    rows.append(["ours/da4ml", *ratios, ""])
    print("\n" + table(rows))
    print(
        "(cycles: ours measured in GHDL, da4ml in Icarus or counted; depth: logic levels "
        "between registers, Yosys netlist)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
