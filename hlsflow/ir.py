"""The precision-annotated IR: a graph of nodes and tensors.

Every tensor carries a FixedType, or the marker FLOAT where no type has been
decided yet. Nodes are kept in topological order. Node parameters (weights,
biases, tables) are numpy float64 arrays holding exact fixed-point values.
The graph round-trips through JSON (the project's project.json).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

from hlsflow.fixed import FixedType

FLOAT = "float"  # marker: type not decided yet (float in Keras)


class DuplicateNameError(ValueError):
    """A tensor or node name already in the graph."""


@dataclass
class Tensor:
    name: str
    shape: tuple  # without the batch dimension
    type: FixedType | str = FLOAT
    exact: bool = True  # False where hlsflow approximates a float Keras computation

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class Node:
    name: str
    op: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


class Graph:
    """Nodes in topological order plus the tensors that connect them."""

    def __init__(self, name: str):
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.meta: dict = {}  # JSON-able facts about the conversion
        # node name -> element-wise function (numpy in, numpy out) a "table" node
        # tabulates once its input type is known; not serialized (the table is)
        self.functions: dict = {}

    # -- building and editing -------------------------------------------
    def add_tensor(self, name, shape, type=FLOAT, exact=True) -> Tensor:
        if name in self.tensors:
            raise DuplicateNameError(f"duplicate tensor name {name!r}")
        t = Tensor(name, tuple(int(s) for s in shape), type, exact)
        self.tensors[name] = t
        return t

    def add_node(self, name, op, inputs, outputs, attrs=None, params=None) -> Node:
        if any(n.name == name for n in self.nodes):
            raise DuplicateNameError(f"duplicate node name {name!r}")
        node = Node(name, op, list(inputs), list(outputs), dict(attrs or {}), dict(params or {}))
        self.nodes.append(node)
        return node

    def node(self, name) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def producer(self, tensor: str) -> Node | None:
        return next((n for n in self.nodes if tensor in n.outputs), None)

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def bypass(self, node: Node) -> None:
        """Remove a one-in one-out node, wiring its consumers to its input."""
        (src,), (dst,) = node.inputs, node.outputs
        for n in self.consumers(dst):
            n.inputs = [src if t == dst else t for t in n.inputs]
        self.outputs = [src if t == dst else t for t in self.outputs]
        self.nodes.remove(node)
        del self.tensors[dst]

    def input_tensors(self, node: Node) -> list[Tensor]:
        return [self.tensors[t] for t in node.inputs]

    def output_tensors(self, node: Node) -> list[Tensor]:
        return [self.tensors[t] for t in node.outputs]

    # -- serialization -----------------------------------------------------
    def to_json(self) -> dict:
        return {
            "name": self.name,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "meta": self.meta,
            "tensors": [
                {"name": t.name, "shape": list(t.shape), "type": _type_to_json(t.type), "exact": t.exact}
                for t in self.tensors.values()
            ],
            "nodes": [
                {
                    "name": n.name,
                    "op": n.op,
                    "inputs": n.inputs,
                    "outputs": n.outputs,
                    "attrs": {k: _value_to_json(v) for k, v in sorted(n.attrs.items())},
                    "params": {k: _array_to_json(v) for k, v in sorted(n.params.items())},
                }
                for n in self.nodes
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> "Graph":
        g = cls(data["name"])
        g.inputs, g.outputs = list(data["inputs"]), list(data["outputs"])
        g.meta = data["meta"]
        for t in data["tensors"]:
            g.add_tensor(t["name"], t["shape"], _type_from_json(t["type"]), t["exact"])
        for n in data["nodes"]:
            params = {k: _array_from_json(v) for k, v in n["params"].items()}
            attrs = {k: _value_from_json(v) for k, v in n["attrs"].items()}
            g.add_node(n["name"], n["op"], n["inputs"], n["outputs"], attrs, params)
        return g

    def dumps(self) -> str:
        """JSON text, deterministic (sorted attributes, exact floats)."""
        return json.dumps(self.to_json(), indent=1, sort_keys=False)

    @classmethod
    def loads(cls, text: str) -> "Graph":
        return cls.from_json(json.loads(text))

    def dump(self) -> str:
        """A readable text listing of the graph."""
        lines = [f"graph {self.name}: inputs {self.inputs} -> outputs {self.outputs}"]
        for t in self.inputs:
            lines.append(f"  input {t}{list(self.tensors[t].shape)} : {self.tensors[t].type}")
        for n in self.nodes:
            outs = ", ".join(f"{t}{list(self.tensors[t].shape)} : {self.tensors[t].type}" for t in n.outputs)
            attrs = ", ".join(f"{k}={v}" for k, v in sorted(n.attrs.items()))
            params = ", ".join(f"{k}{list(v.shape)}" for k, v in sorted(n.params.items()))
            detail = "; ".join(s for s in (attrs, params) if s)
            lines.append(f"  {n.name} = {n.op}({', '.join(n.inputs)}) -> {outs}" + (f"  [{detail}]" if detail else ""))
        return "\n".join(lines)


READABLE_ARRAY = 64  # larger parameter arrays are stored as base64 float64 bytes (exact, fast)


def _array_to_json(a: np.ndarray) -> dict:
    if a.size <= READABLE_ARRAY:
        return {"shape": list(a.shape), "values": a.ravel().tolist()}
    data = np.ascontiguousarray(a, dtype="<f8").tobytes()
    return {"shape": list(a.shape), "float64_base64": base64.b64encode(data).decode("ascii")}


def _array_from_json(d: dict) -> np.ndarray:
    if "values" in d:
        return np.array(d["values"], dtype=np.float64).reshape(d["shape"])
    return np.frombuffer(base64.b64decode(d["float64_base64"]), dtype="<f8").reshape(d["shape"]).copy()


def _type_to_json(t):
    return t if t == FLOAT else t.to_json()


def _type_from_json(d):
    return d if d == FLOAT else FixedType.from_json(d)


def _value_to_json(v):
    if isinstance(v, FixedType):
        return {"fixed": v.to_json()}
    if isinstance(v, (list, tuple)):
        return [_value_to_json(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _value_from_json(v):
    if isinstance(v, dict) and set(v) == {"fixed"}:
        return FixedType.from_json(v["fixed"])
    if isinstance(v, list):
        return [_value_from_json(x) for x in v]
    return v
