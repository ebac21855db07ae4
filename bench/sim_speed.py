"""Simulation speed: samples per second in GHDL and in the compiled paths, side by side.

    python bench/sim_speed.py                    # the KWS CNN, the jet MLP 8/4, the digits MLP
    python bench/sim_speed.py --only kws --llvm  # also GHDL's LLVM backend (Debian ghdl-llvm)

Each model is translated at its serial end (one multiplier a layer) and simulated on random
inputs over its whole input range, with the default stalls (25 %), every output checked
against the integer interpreter (exact). GHDL (mcode, one process: the simulator before
issue 15) runs fewer samples (``--ghdl-samples``) and its time for the full count is
extrapolated from them ("~" in the table). Verilator compiles the design's Verilog into a
program, timed from an empty cache (``ghdl --synth`` for the Verilog included; the first
model also compiles Verilator's run-time library, about 5 s), then runs all samples in one
process and in ``--workers`` processes (default: the cores). The speed-up is GHDL's time
for all samples over Verilator's with its compile, then without it. With ``--llvm`` GHDL's
LLVM backend (``ghdl-llvm``, beside the mcode one) runs GHDL's samples in one process;
its compile column is its analysis and elaboration.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from elasticai.creator import create_design  # noqa: E402
from elasticai.creator.design import Design  # noqa: E402
from elasticai.creator.sim import ghdl, verilator  # noqa: E402
from elasticai.creator.vhdl.lower import top_streams  # noqa: E402
from elasticai.creator.vhdl.testbench import testbench_name  # noqa: E402


def _module(name: str) -> ModuleType:
    """A script of ``bench/`` as a module (for its model builders)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def kws() -> tuple[torch.nn.Module, tuple[int, ...]]:
    """The keyword-spotting CNN of ``bench/train_speed.py`` (8/4 bits, input 1x49x10)."""
    model = _module("run").random_weights(_module("train_speed").kws(), 5)
    return model, (1, 49, 10)


def jet() -> tuple[torch.nn.Module, tuple[int, ...]]:
    return _module("run").jet(8, 4)(), ()


def digits() -> tuple[torch.nn.Module, tuple[int, ...]]:
    return _module("run").digits_model(), ()


#: name: (builder, samples for the compiled paths, samples for GHDL)
MODELS: dict[str, tuple[Callable[[], tuple[torch.nn.Module, tuple[int, ...]]], int, int]] = {
    "KWS CNN serial": (kws, 1_000, 40),
    "jet MLP 8/4 serial": (jet, 10_000, 400),
    "digits MLP serial": (digits, 10_000, 400),
}


def integer_inputs(design: Design, samples: int) -> np.ndarray:
    dtype = design.graph.input_type.dtype
    rng = np.random.default_rng(7)
    size = design.graph.input_type.size
    return rng.integers(dtype.min_int, dtype.max_int + 1, (samples, size))


def timed(run: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def exact(design: Design, x_int: np.ndarray, outputs: np.ndarray) -> bool:
    return bool(np.array_equal(outputs, design.interpret(x_int)))


def llvm_row(design: Design, x_int: np.ndarray) -> tuple[float, float, bool]:
    """GHDL's LLVM backend: (analysis and elaboration s, samples/s in one process, exact)."""
    os.environ["ELASTICAI_GHDL"] = "ghdl-llvm"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            vhdl = {k: v for k, v in design.files.items() if k.endswith(".vhd")}
            sources = ghdl.write_sources(Path(tmp), vhdl)
            compile_s, _ = timed(lambda: ghdl.elaborate(sources, testbench_name(design.graph), tmp))
        seconds, result = timed(
            lambda: design.run(x_int, simulator="ghdl", workers=1, progress=False)
        )
    finally:
        del os.environ["ELASTICAI_GHDL"]
    run_s = max(seconds - compile_s, 1e-9)
    return compile_s, len(x_int) / run_s, exact(design, x_int, result.outputs)  # type: ignore[attr-defined]


def row(name: str, workers: int, ghdl_samples: int | None, llvm: bool) -> list[str]:
    build, samples, ghdl_default = MODELS[name]
    model, shape = build()
    design = create_design(model, "bench", **({"input_shape": shape} if shape else {}))
    x_int = integer_inputs(design, samples)
    few = x_int[: ghdl_samples or ghdl_default]
    ghdl_s, slow = timed(lambda: design.run(few, simulator="ghdl", workers=1, progress=False))
    ghdl_rate = len(few) / ghdl_s
    source, sink = top_streams(design.graph)
    verilog_s, verilog = timed(design.to_verilog)
    build_s, _ = timed(
        lambda: verilator.build(verilog, design.name, source.bits, sink.bits)  # type: ignore[arg-type]
    )
    compile_s = verilog_s + build_s
    one_s, one = timed(lambda: design.run(x_int, simulator="verilator", workers=1, progress=False))
    many_s, many = timed(
        lambda: design.run(x_int, simulator="verilator", workers=workers, progress=False)
    )
    ok = all(
        exact(design, x, r.outputs)  # type: ignore[attr-defined]
        for x, r in ((few, slow), (x_int, one), (x_int, many))
    )
    ghdl_all_s = samples / ghdl_rate
    cycles = int(np.diff(many.output_cycles).mean())  # type: ignore[attr-defined]
    cells = [
        name,
        f"{cycles:,}",
        f"{samples:,}",
        f"{ghdl_rate:,.1f}",
        f"~{ghdl_all_s:,.0f}",
        f"{compile_s:.1f}",
        f"{samples / one_s:,.0f}",
        f"{samples / many_s:,.0f}",
        f"{many_s:.1f}",
        f"{ghdl_all_s / (compile_s + many_s):,.0f}x",
        f"{ghdl_all_s / many_s:,.0f}x",
    ]
    if llvm:
        llvm_compile, llvm_rate, llvm_ok = llvm_row(design, few)
        ok = ok and llvm_ok
        cells += [f"{llvm_compile:.1f}", f"{llvm_rate:,.1f}"]
    return [*cells, "yes" if ok else "NO"]


HEADER = [
    "model",
    "cycles/sample",
    "samples",
    "ghdl sample/s",
    "ghdl s (all)",
    "verilator compile s",
    "sample/s 1 proc",
    "sample/s {workers} procs",
    "verilator s",
    "speed-up",
    "w/o compile",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["kws", "jet", "digits"], action="append")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--ghdl-samples", type=int, default=None, help="default 40 / 400")
    parser.add_argument("--llvm", action="store_true", help="also GHDL's LLVM backend")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = [n for n in MODELS if not args.only or n.split()[0].lower() in args.only]
    header = [h.format(workers=args.workers) for h in HEADER]
    if args.llvm:
        header += ["ghdl-llvm compile s", "ghdl-llvm sample/s"]
    header.append("exact")
    with tempfile.TemporaryDirectory(prefix="ec_sim_cache_") as cache:
        os.environ["ELASTICAI_SIM_CACHE"] = cache  # compile times from an empty cache
        rows = [row(name, args.workers, args.ghdl_samples, args.llvm) for name in names]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(
        f"GHDL 2.0 mcode on {args.ghdl_samples or '40 (KWS) / 400 (MLPs)'} samples, one "
        "process, its time for all samples extrapolated (~); Verilator 5 from an empty cache"
    )
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
