"""Numpy executor of the IR, bit-exact with the generated C++ (float64 holds
every value exactly, as no type is wider than 53 bits)."""
import numpy as np

from hlsflow.fixed import quantize, quantize_raw
from hlsflow.ir import Graph
from hlsflow.softmax import softmax_tables


def cast_inputs(graph: Graph, inputs) -> list:
    """Raw inputs -> the values the hardware receives (cast to the input types)."""
    arrays = inputs if isinstance(inputs, (list, tuple)) else [inputs]
    if len(arrays) != len(graph.inputs):
        raise ValueError(f"model has {len(graph.inputs)} input(s), got {len(arrays)}")
    out = []
    for name, x in zip(graph.inputs, arrays):
        t = graph.tensors[name]
        x = np.asarray(x, dtype=np.float64)
        if x.shape[1:] != t.shape:
            x = x.reshape((x.shape[0],) + t.shape)
        out.append(quantize(x, t.type))
    return out


def emulate(graph: Graph, inputs, tensors=None):
    """Run the graph on a batch. Returns the output array (or list of arrays),
    or, with `tensors`, a dict of the named tensors' values."""
    values = dict(zip(graph.inputs, cast_inputs(graph, inputs)))
    for node in graph.nodes:
        args = [values[t] for t in node.inputs]
        values[node.outputs[0]] = OPS[node.op](graph, node, *args)
    if tensors is not None:
        return {t: values[t] for t in tensors}
    outs = [values[t] for t in graph.outputs]
    return outs[0] if len(outs) == 1 else outs


def _dense(graph, node, x):
    p = node.params
    acc = x @ p["weight"]
    if "scale" in p:
        acc = acc * p["scale"]
    acc = acc + p["bias"]
    if node.attrs.get("relu"):
        acc = np.maximum(acc, 0)
    return quantize(acc, graph.tensors[node.outputs[0]].type)


def _relu(graph, node, x):
    return quantize(np.maximum(x, 0), graph.tensors[node.outputs[0]].type)


def _quantize(graph, node, x):
    return quantize(x, graph.tensors[node.outputs[0]].type)


def _reshape(graph, node, x):
    return x.reshape((x.shape[0],) + graph.tensors[node.outputs[0]].shape)


def _softmax(graph, node, x):
    a = node.attrs
    exp_table, inv_table = softmax_tables(a)
    e = exp_table[quantize_raw(x.max(axis=-1, keepdims=True) - x, a["index_type"]).astype(np.int64)]
    total = quantize(e.sum(axis=-1, keepdims=True), a["sum_type"])
    inv = inv_table[quantize_raw(total, a["inv_index_type"]).astype(np.int64)]
    return quantize(e * inv, graph.tensors[node.outputs[0]].type)


OPS = {"dense": _dense, "relu": _relu, "quantize": _quantize, "reshape": _reshape, "softmax": _softmax}
