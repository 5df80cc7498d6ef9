"""Folding: batch normalization into a float conv/dense before it, relus and
output quantizers into the layer before."""
from hlsflow.ir import FLOAT, Graph

# ops that apply a fused relu / a fused output cast (any op casts its result once)
RELU_FUSIBLE = ("dense", "conv", "scale_shift")
FUSIBLE = ("pool", "table", "merge", "leaky_relu", "prelu", "dot")


def _single_consumer(graph: Graph, tensor: str):
    users = graph.consumers(tensor)
    if len(users) == 1 and tensor not in graph.outputs:
        return users[0]
    return None


def _absorb(graph: Graph, producer, node) -> None:
    """`producer` takes over `node`'s output tensor; `node` and the tensor between go."""
    (between,) = producer.outputs
    producer.outputs = list(node.outputs)
    graph.nodes.remove(node)
    del graph.tensors[between]


def fuse_activations(graph: Graph, config) -> Graph:
    """Drop relus a saturating unsigned quantizer makes redundant; fuse relu and
    quantizers into the producing dense, so its output is cast once."""
    for node in [n for n in graph.nodes if n.op == "relu"]:
        user = _single_consumer(graph, node.outputs[0])
        if user is not None and user.op == "quantize":
            t = graph.tensors[user.outputs[0]].type
            if not t.signed and t.overflow in ("SAT", "SAT_SYM"):
                graph.bypass(node)
    for op, attr in (("relu", "relu"), ("quantize", None)):
        for node in [n for n in graph.nodes if n.op == op]:
            producer = graph.producer(node.inputs[0])
            if producer is None or _single_consumer(graph, node.inputs[0]) is not node:
                continue
            if producer.op not in (RELU_FUSIBLE if attr else RELU_FUSIBLE + FUSIBLE):
                continue
            if graph.tensors[node.inputs[0]].type != FLOAT:
                continue
            if attr:
                producer.attrs[attr] = True
            _absorb(graph, producer, node)
    return graph


def fold_batchnorm(graph: Graph, config) -> Graph:
    """A scale-shift right after a float (unquantized) conv/dense folds into its
    weights and bias: the result approximates float Keras either way."""
    for node in [n for n in graph.nodes if n.op == "scale_shift"]:
        producer = graph.producer(node.inputs[0])
        if (producer is None or producer.op not in ("dense", "conv") or producer.attrs["weight_quantized"]
                or producer.attrs.get("relu") or _single_consumer(graph, node.inputs[0]) is not node):
            continue
        scale, shift = node.params["weight"], node.params["bias"]
        producer.params["weight"] = producer.params["weight"] * scale
        producer.params["bias"] = producer.params["bias"] * scale + shift
        producer.attrs.update(bias_quantized=False, inexact=True)
        _absorb(graph, producer, node)
    return graph


def absorb_input_quantizers(graph: Graph, config) -> Graph:
    """A quantizer right after an input becomes the input's type: the hardware
    receives already-quantized values, so nothing is rounded twice."""
    for i, name in enumerate(list(graph.inputs)):
        user = _single_consumer(graph, name)
        if user is None or user.op != "quantize" or graph.tensors[name].type != FLOAT:
            continue
        graph.nodes.remove(user)
        del graph.tensors[name]
        graph.inputs[i] = user.outputs[0]
        graph.meta.setdefault("quantized_inputs", []).append(user.outputs[0])
    return graph
