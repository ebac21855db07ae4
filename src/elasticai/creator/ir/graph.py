"""The intermediate representation: a small, typed, immutable dataflow graph.

A ``Graph`` has explicit inputs and outputs and a tuple of ``Node`` in topological
order. A node applies its op (``ir.op.OpDef``, one module each in
``elasticai.creator.ops``) to the values named in ``inputs`` (a graph input or an
earlier node) and produces one value named after itself. A value may have many
consumers (a fork in hardware). Values are integer tensors of one ``FixedType`` each;
the batch dimension is implicit.

Passes never mutate: they return new graphs (``dataclasses.replace``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from elasticai.creator.arithmetic import Overflow, Rounding
from elasticai.creator.ir.op import OpDef
from elasticai.creator.ir.types import TensorType, frozen_array

__all__ = [
    "TensorType",
    "Node",
    "Graph",
    "GraphInput",
    "GraphOutput",
    "INPUT",
    "ParallelismTarget",
    "frozen_array",
]

#: Name of a graph's (first) input value.
INPUT = "x"


@dataclass(frozen=True)
class Node:
    """One operation: ``name`` is also the name of the value it produces."""

    name: str
    op: OpDef
    inputs: tuple[str, ...]
    input_types: tuple[TensorType, ...]
    output_type: TensorType
    source: str = ""  # where it came from, for messages (e.g. "model[2] (ReLU)")

    @property
    def input_type(self) -> TensorType:
        """The type of its first input (the only one of most ops)."""
        return self.input_types[0]

    @property
    def where(self) -> str:
        """How messages name it: its source in the model, else its name."""
        return self.source or self.name

    def with_op(self, **changes: Any) -> Node:
        """The node with some of its op's fields changed."""
        return replace(self, op=replace(self.op, **changes))  # type: ignore[type-var]


@dataclass(frozen=True)
class GraphInput:
    """A value the design reads: its type, how real inputs are rounded into it, its lanes
    (0: not settled), and how the model's tensor maps onto the stream: stream element
    ``i`` is element ``order[i]`` of the model's tensor of ``torch_shape`` (without
    batch), flattened in PyTorch's order (empty: the same shape and order)."""

    name: str
    type: TensorType
    rounding: Rounding = Rounding.HALF_EVEN
    overflow: Overflow = Overflow.SATURATE
    lanes: int = 0
    torch_shape: tuple[int, ...] = ()
    order: tuple[int, ...] = ()


@dataclass(frozen=True)
class GraphOutput:
    """A value the design writes, and how it maps back onto the model's tensor."""

    value: str
    torch_shape: tuple[int, ...] = ()
    order: tuple[int, ...] = ()


@dataclass(frozen=True)
class ParallelismTarget:
    """What the whole design should reach; ``passes.choose_parallelism`` derives the lanes.

    ``ii``: at most this many cycles between samples (fewest multipliers that reach it).
    ``max_multipliers``: the fastest design with at most this many multipliers.
    ``full``: the smallest interval there is (one sample per clock for MLPs).
    Nothing set: the smallest design (one multiply-accumulate unit per layer).
    ``pipeline_levels``: at most this many adder levels between two registers inside a
    fully unrolled layer (``None``: ``ops.linear.UNROLLED_LEVELS``); fewer give a higher
    clock, more give fewer cycles and flip-flops.
    """

    ii: int | None = None
    max_multipliers: int | None = None
    full: bool = False
    pipeline_levels: int | None = None

    def __post_init__(self) -> None:
        chosen = sum([self.ii is not None, self.max_multipliers is not None, self.full])
        if chosen > 1:
            raise ValueError("choose one of target_ii, max_multipliers and parallelism='full'")
        options = (
            ("ii", "target_ii"),
            ("max_multipliers", "max_multipliers"),
            ("pipeline_levels", "pipeline_levels"),
        )
        for name, option in options:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{option} must be a positive int, not {value!r}")


@dataclass(frozen=True)
class Graph:
    """A translated model: its inputs, its nodes in topological order, its outputs."""

    name: str
    inputs: tuple[GraphInput, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[GraphOutput, ...]
    parallelism: ParallelismTarget = field(default_factory=ParallelismTarget)
    meta: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def chain(
        cls, name: str, input_type: TensorType, nodes: Iterable[Node], **input_fields: Any
    ) -> Graph:
        """A graph with one input ``x`` whose output is its last node (or the input)."""
        nodes = tuple(nodes)
        output = nodes[-1].name if nodes else INPUT
        return cls(
            name, (GraphInput(INPUT, input_type, **input_fields),), nodes, (GraphOutput(output),)
        )

    # --- the one input and the one output a design has ----------------------------

    @property
    def input(self) -> GraphInput:
        if len(self.inputs) != 1:
            raise ValueError(f"a design has one input, {self.name} has {len(self.inputs)}")
        return self.inputs[0]

    @property
    def output(self) -> GraphOutput:
        if len(self.outputs) != 1:
            raise ValueError(f"a design has one output, {self.name} has {len(self.outputs)}")
        return self.outputs[0]

    @property
    def input_type(self) -> TensorType:
        return self.input.type

    @property
    def output_type(self) -> TensorType:
        return self.value_type(self.output.value)

    @property
    def input_lanes(self) -> int:
        return self.input.lanes

    @property
    def output_lanes(self) -> int:
        return self.lanes(self.output.value)

    # --- values ------------------------------------------------------------------

    def node(self, name: str) -> Node:
        return self._producers[name]

    def value_types(self) -> dict[str, TensorType]:
        """Every value's type by name: the inputs, then the nodes."""
        types = {i.name: i.type for i in self.inputs}
        types.update((n.name, n.output_type) for n in self.nodes)
        return types

    def value_type(self, name: str) -> TensorType:
        for i in self.inputs:
            if i.name == name:
                return i.type
        return self.node(name).output_type

    def lanes(self, value: str) -> int:
        """Elements per beat of the stream that carries ``value``."""
        for i in self.inputs:
            if i.name == value:
                return i.lanes
        return self.node(value).op.lanes

    def producers(self) -> dict[str, Node]:
        """Every node by the name of the value it produces."""
        return self._producers

    @cached_property
    def _producers(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    def consumers(self) -> dict[str, list[tuple[str, int]]]:
        """For every value, who reads it: ``(node name, input index)``, and
        ``("", k)`` for graph output ``k``; in graph order."""
        readers: dict[str, list[tuple[str, int]]] = {i.name: [] for i in self.inputs}
        readers.update((n.name, []) for n in self.nodes)
        for n in self.nodes:
            for k, source in enumerate(n.inputs):
                readers.setdefault(source, []).append((n.name, k))
        for k, out in enumerate(self.outputs):
            readers.setdefault(out.value, []).append(("", k))
        return readers

    def replace_nodes(self, nodes: Iterable[Node]) -> Graph:
        return replace(self, nodes=tuple(nodes))

    def replace_input(self, **changes: Any) -> Graph:
        """The graph with its one input's fields changed."""
        return replace(self, inputs=(replace(self.input, **changes),))

    def rename_output(self, old: str, new: str) -> Graph:
        outputs = tuple(replace(o, value=new) if o.value == old else o for o in self.outputs)
        return replace(self, outputs=outputs)
