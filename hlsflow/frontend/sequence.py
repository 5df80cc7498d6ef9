"""Handlers of the sequence-model layers: recurrent layers (SimpleRNN, LSTM,
GRU and their QKeras forms), Bidirectional and TimeDistributed wrappers,
Embedding, LayerNormalization, EinsumDense and MultiHeadAttention.

A recurrent layer is one `recurrent` node over a (steps, features) tensor;
attrs["cell"] is "simple", "lstm" or "gru". Its gate activations are "roles":
`cand` (the activation of the candidate sum; SimpleRNN's only one), `rec` (the
recurrent activation of the gates, LSTM and GRU) and `cell` (the activation of
the LSTM carry). Each role is either an exact piecewise-affine function
(attrs "<role>_affine" = [slope, offset, lo, hi], then "<role>_cast", the
type a quantizer casts to, if any: QKeras's hard/smooth sigmoids, quantized_tanh,
quantized_sigmoid, relu, linear, fixed-point quantizers), or a lookup table the
precision pass fills from Keras's own function (tanh, sigmoid, ...).
"""
import numpy as np

from hlsflow.cells import apply_affine
from hlsflow.errors import UnsupportedError
from hlsflow.fixed import FixedType
from hlsflow.frontend import keras as kf
from hlsflow.frontend import quantizers
from hlsflow.frontend.tf_setup import import_keras

CELLS = {"SimpleRNN": "simple", "QSimpleRNN": "simple", "LSTM": "lstm", "QLSTM": "lstm", "GRU": "gru",
         "QGRU": "gru"}
ROLES = {"simple": ("cand",), "lstm": ("rec", "cand", "cell"), "gru": ("rec", "cand")}
CHECK_GRID = np.arange(-4096, 4097) / 512.0  # float32-exact points an affine form is checked on


def _where(layer) -> str:
    return f"layer {layer.name!r} ({type(layer).__name__})"


def _recurrent(graph, layer, inputs):
    return add_recurrent(graph, layer, inputs[0], layer.name, kf.output_shape(layer))


def add_recurrent(graph, layer, src, name, shape, aligned=False) -> str:
    """A recurrent node named `name` for the RNN layer; `aligned`: a backward
    layer whose output sequence is stored in input order (Bidirectional)."""
    where = _where(layer)
    cell = layer.cell
    kind = CELLS[type(layer).__name__]
    x_shape = graph.tensors[src].shape
    if len(x_shape) != 2 or None in x_shape:
        raise UnsupportedError(f"{where}: input of shape {x_shape}; expected (steps, features) with a fixed number "
                               "of steps")
    for flag, what in (("return_state", "return_state"), ("stateful", "stateful"), ("time_major", "time_major")):
        if getattr(layer, flag, False):
            raise UnsupportedError(f"{where}: {what}=True is not supported")
    if type(layer).__name__ == "QGRU" and getattr(cell, "recurrent_quantizer_internal", None) is None:
        raise UnsupportedError(f"{where}: QKeras 0.9's QGRU without a recurrent_quantizer multiplies the state by "
                               "its kernel instead of its recurrent kernel; set a recurrent_quantizer")
    kq = getattr(cell, "kernel_quantizer_internal", None)
    rq = getattr(cell, "recurrent_quantizer_internal", None)
    bq = getattr(cell, "bias_quantizer_internal", None) if cell.use_bias else None
    sq = getattr(cell, "state_quantizer_internal", None)
    kernel, recurrent = cell.kernel.numpy(), cell.recurrent_kernel.numpy()
    columns = kernel.shape[1]
    reset_after = kind == "gru" and bool(cell.reset_after)
    bias = cell.bias.numpy() if cell.use_bias else np.zeros((2, columns) if reset_after else columns, np.float32)
    bias = quantizers.quantized_values(bq, bias)  # QKeras quantizes the whole bias, then splits it (GRU)
    attrs = {"cell": kind, "units": int(cell.units), "steps": int(x_shape[0]),
             "return_sequences": bool(layer.return_sequences), "go_backwards": bool(layer.go_backwards),
             "aligned": bool(aligned), "reset_after": reset_after,
             "weight_quantized": kq is not None, "recurrent_weight_quantized": rq is not None,
             "bias_quantized": bq is not None or not cell.use_bias}
    params = {"weight": quantizers.quantized_values(kq, kernel),
              "recurrent_weight": quantizers.quantized_values(rq, recurrent)}
    if reset_after:
        params["bias"], params["recurrent_bias"] = bias[0], bias[1]
        attrs["recurrent_bias_quantized"] = attrs["bias_quantized"]
    else:
        params["bias"] = bias
    if sq is not None:
        if not quantizers.is_fixed_point(sq):
            raise UnsupportedError(f"{where}: state_quantizer {type(sq).__name__} is not supported "
                                   "(quantized_bits or quantized_relu)")
        attrs["state_type"] = quantizers.activation_type(sq, where)
    functions = {"cand": cell.activation, "rec": getattr(cell, "recurrent_activation", None),
                 "cell": cell.activation}
    for role in ROLES[kind]:
        _add_role(graph, name, role, functions[role], attrs, where)
    graph.add_tensor(name, shape)
    graph.add_node(name, "recurrent", [src], [name], attrs, params)
    return name


def _add_role(graph, node_name, role, function, attrs, where):
    """attrs of one gate activation: an exact affine form when Keras's function
    is one (checked on a grid of points), else the function itself, for the
    precision pass to turn into threshold comparisons (a quantized function)
    or a table (a float one)."""
    affine, out_type = affine_form(function, where)
    if affine is not None and _matches(function, affine, out_type):
        attrs[f"{role}_affine"] = affine
        if out_type is not None:
            attrs[f"{role}_cast"] = out_type
        return
    tf, _ = import_keras()

    def evaluate(x):
        return np.asarray(function(tf.constant(np.asarray(x, np.float32))), np.float32).astype(np.float64)

    attrs[f"{role}_table"] = True
    attrs[f"{role}_quantized"] = hasattr(function, "bits")
    graph.functions[f"{node_name}/{role}"] = evaluate


def affine_form(function, where):
    """([slope, offset, lo, hi], cast type or None) when `function` is, in
    exact arithmetic, clip(slope * x + offset, lo, hi) followed by a cast
    (lo/hi None: no bound); (None, None) otherwise."""
    from qkeras import quantizers as qq

    name = kf._activation_name(function)
    sigmoid = {qq.hard_sigmoid: (0.5, 0.5), qq.smooth_sigmoid: (0.1875, 0.5)}.get(qq._sigmoid)
    if function is None or name == "linear":
        return [1.0, 0.0, None, None], None
    if name == "relu":
        return [1.0, 0.0, 0.0, None], None
    if function in (qq.hard_sigmoid, qq.smooth_sigmoid):
        return [0.5 if function is qq.hard_sigmoid else 0.1875, 0.5, 0.0, 1.0], None
    if function is qq.hard_tanh:
        return [1.0, 0.0, -1.0, 1.0], None
    if quantizers.is_fixed_point(function):
        return [1.0, 0.0, None, None], quantizers.activation_type(function, where)
    cls = type(function).__name__
    if cls == "quantized_tanh" and sigmoid and not function.use_real_tanh and not function.use_stochastic_rounding:
        overflow = "SAT_SYM" if function.symmetric else "SAT"
        # 2 * sigmoid(x) - 1 = clip(2 * slope * x, -1, 1), rounded to 1/m and clipped
        return [2 * sigmoid[0], 0.0, -1.0, 1.0], FixedType(function.bits, 1, True, "RND_CONV", overflow)
    if cls == "quantized_sigmoid" and sigmoid and not function.use_real_sigmoid \
            and not function.use_stochastic_rounding:
        m = 2.0 ** function.bits
        # the lower clip at 1/m (symmetric) commutes with the rounding: clip before it
        return ([sigmoid[0], sigmoid[1], 1.0 / m if function.symmetric else 0.0, 1.0],
                FixedType(function.bits, 0, False, "RND_CONV", "SAT"))
    return None, None


def _matches(function, affine, out_type) -> bool:
    """Whether Keras's function equals the affine form on CHECK_GRID."""
    tf, _ = import_keras()
    if function is None:
        return True
    keras_values = np.asarray(function(tf.constant(CHECK_GRID.astype(np.float32))), np.float32)
    return bool(np.array_equal(keras_values.astype(np.float64), apply_affine(CHECK_GRID, affine, out_type)))


def _bidirectional(graph, layer, inputs):
    (src,) = inputs
    mode = layer.merge_mode
    if mode not in ("concat", "sum", "mul", "ave"):
        raise UnsupportedError(f"{_where(layer)}: merge_mode={mode!r} is not supported (concat, sum, mul, ave)")
    forward, backward = layer.forward_layer, layer.backward_layer
    if type(forward).__name__ not in CELLS or type(backward).__name__ not in CELLS:
        raise UnsupportedError(f"{_where(layer)}: wraps {type(forward).__name__}; only recurrent layers are "
                               f"supported ({', '.join(sorted(CELLS))})")
    steps, units_f, units_b = graph.tensors[src].shape[0], forward.cell.units, backward.cell.units
    lead = (steps,) if forward.return_sequences else ()
    shape_f, shape_b = lead + (units_f,), lead + (units_b,)
    a = add_recurrent(graph, forward, src, f"{layer.name}_forward", shape_f)
    b = add_recurrent(graph, backward, src, f"{layer.name}_backward", shape_b, aligned=True)
    out_shape = kf.output_shape(layer)
    graph.add_tensor(layer.name, out_shape)
    if mode == "concat":
        graph.add_node(layer.name, "concat", [a, b], [layer.name], {"axis": len(out_shape) - 1})
    else:
        merge = {"sum": "add", "mul": "multiply", "ave": "average"}[mode]
        graph.add_node(layer.name, "merge", [a, b], [layer.name], {"mode": merge})
    return layer.name


def _time_distributed(graph, layer, inputs):
    """TimeDistributed(Dense/QDense) over (steps, features): the same dense layer
    on every step, which is a 1x1 convolution over the steps. Any other wrapped
    layer or model is unrolled (see _unrolled)."""
    (src,) = inputs
    inner = layer.layer
    shape = graph.tensors[src].shape
    if type(inner).__name__ not in ("Dense", "QDense") or len(shape) != 2:
        return _unrolled(graph, layer, src)
    kernel = inner.kernel.numpy()
    kq = getattr(inner, "kernel_quantizer_internal", None)
    steps = shape[0]
    attrs = {"in_hwc": [1, steps, shape[1]], "out_hwc": [1, steps, kernel.shape[1]], "kernel": [1, 1],
             "strides": [1, 1], "dilation": [1, 1], "pads": [0, 0, 0, 0]}
    from hlsflow.frontend import spatial

    weight = quantizers.quantized_values(kq, kernel).reshape(1, 1, *kernel.shape)
    inner_output = kf.renamed(inner, layer.name, kf.output_shape(layer))
    return spatial._add_conv(graph, inner_output, src, layer.name, attrs, 1, weight, kq, kernel.shape,
                             inner.activation)


def _unrolled(graph, layer, src) -> str:
    """TimeDistributed of any layer or model: per step t, the slice <layer>_t<t>
    of the input (a crop of the steps axis), the wrapped layer or model's nodes
    on it (named <layer>_t<t>_<inner layer>, each step with its own copy of the
    weights) and its output as one row <layer>_t<t>_stacked; the rows are
    concatenated along the steps."""
    shape = graph.tensors[src].shape
    steps, rest = shape[0], shape[1:]
    if not rest:
        raise UnsupportedError(f"{_where(layer)}: input of shape {shape}; expected (steps, features...)")
    inner, step_shape = layer.layer, kf.output_shape(layer)[1:]
    view = [int(np.prod(rest[:-1])), rest[-1]]
    rows = []
    for t in range(steps):
        step = f"{layer.name}_t{t}"
        graph.add_tensor(step, rest)
        graph.add_node(step, "pad", [src], [step], {"in_hwc": [steps, *view], "out_hwc": [1, *view],
                                                    "pads": [-t, t + 1 - steps, 0, 0]})
        if type(inner).__name__ in kf.MODELS:
            (y,) = kf.add_model(graph, inner, [step], kf.layer_names(inner, f"{step}_"))
        else:
            y = kf.translate(graph, kf.renamed(inner, f"{step}_{inner.name}", step_shape), [step])
        graph.add_tensor(f"{step}_stacked", (1, *step_shape))
        graph.add_node(f"{step}_stacked", "reshape", [y], [f"{step}_stacked"])
        rows.append(f"{step}_stacked")
    graph.add_tensor(layer.name, kf.output_shape(layer))
    graph.add_node(layer.name, "concat", rows, [layer.name], {"axis": 0})
    return layer.name


def recurrent_layers(model, graph) -> dict:
    """{recurrent node name: the Keras RNN layer it computes, and the layer whose input it reads}."""
    layers = {}
    for layer in model.layers:
        if type(layer).__name__ in CELLS:
            layers[layer.name] = (layer, layer)
        elif type(layer).__name__ in ("Bidirectional", "QBidirectional"):
            layers[f"{layer.name}_forward"] = (layer.forward_layer, layer)
            layers[f"{layer.name}_backward"] = (layer.backward_layer, layer)
    return {n.name: layers[n.name] for n in graph.nodes if n.op == "recurrent" and n.name in layers}


def record_internals(model, graph, samples) -> dict:
    """Keras's values of what the IR computes inside a layer, for calibration:
    {"<node>/output_type": values} of the recurrent states over every step (h,
    and "<node>/carry_type": the LSTM's c; as the cell returns them, before any
    state quantizer) and of MultiHeadAttention's projections and attention."""
    tf, keras = import_keras()
    found = recurrent_layers(model, graph)
    attentions = [layer for layer in model.layers if type(layer).__name__ == "MultiHeadAttention"
                  and f"{layer.name}_attention" in {n.name for n in graph.nodes}]
    if not found and not attentions:
        return {}
    arrays = samples if isinstance(samples, (list, tuple)) else [samples]
    arrays = [np.asarray(a, np.float32).reshape((len(a),) + tuple(model.inputs[i].shape[1:]))
              for i, a in enumerate(arrays)]
    probes = [reader.input for _, reader in found.values()]
    probes += [t for layer in attentions for t in _attention_inputs(layer)]
    feeds = keras.Model(model.inputs, probes).predict(arrays if len(arrays) > 1 else arrays[0], verbose=0,
                                                      batch_size=1024)
    feeds = feeds if len(probes) > 1 else [feeds]
    values = {}
    for i, layer in enumerate(attentions):
        values.update(_attention_values(layer, feeds[len(found) + 3 * i:len(found) + 3 * i + 3]))
    for (name, (layer, _)), x in zip(found.items(), feeds):
        sizes = [int(s) for s in tf.nest.flatten(layer.cell.state_size)]
        probe = keras.layers.RNN(_StatesCell(layer.cell, sizes), return_sequences=True, go_backwards=layer.go_backwards)
        states = np.concatenate([np.asarray(probe(x[i:i + 1024]), np.float64) for i in range(0, len(x), 1024)])
        values[f"{name}/output_type"] = states[..., :sizes[0]]
        if len(sizes) > 1:
            values[f"{name}/carry_type"] = states[..., sizes[0]:sizes[0] + sizes[1]]
    return values


def _attention_inputs(layer):
    """The (query, value, key) tensors a MultiHeadAttention layer was called on."""
    node = layer.inbound_nodes[0]
    query = node.call_args[0] if node.call_args else node.call_kwargs["query"]
    value = node.call_args[1] if len(node.call_args) > 1 else node.call_kwargs["value"]
    key = node.call_kwargs.get("key")
    return [query, value, value if key is None else key]


def _attention_values(layer, feeds) -> dict:
    query, value, key = (np.asarray(f, np.float32) for f in feeds)
    q, k, v = layer._query_dense(query), layer._key_dense(key), layer._value_dense(value)
    out, _ = layer._compute_attention(q, k, v)
    return {f"{layer.name}_query/output_type": np.asarray(q, np.float64),
            f"{layer.name}_key/output_type": np.asarray(k, np.float64),
            f"{layer.name}_value/output_type": np.asarray(v, np.float64),
            f"{layer.name}_attention/output_type": np.asarray(out, np.float64)}


def _StatesCell(cell, sizes):
    """An RNN cell around a built Keras cell, outputting all its new states."""
    tf, keras = import_keras()

    class StatesCell(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner, self.state_size, self.output_size = cell, cell.state_size, sum(sizes)

        def build(self, input_shape):
            self.built = True

        def call(self, inputs, states):
            _, new = self.inner(inputs, states if len(sizes) > 1 else states[0])
            new = tf.nest.flatten(new)
            return tf.concat(new, axis=-1), new

    return StatesCell()


def _embedding(graph, layer, inputs):
    """A table lookup per index. The indices are a model input, which gets the
    unsigned integer type of the table's indices (Keras truncates float
    indices toward zero; hlsflow's input cast floors and saturates them, the
    same for every index Keras accepts)."""
    (src,) = inputs
    if layer.mask_zero:
        raise UnsupportedError(f"{_where(layer)}: mask_zero=True (masking) is not supported")
    if src not in graph.inputs or graph.producer(src) is not None:
        raise UnsupportedError(f"{_where(layer)}: reads {src!r}; an Embedding must read a model input (its indices)")
    vocabulary = int(layer.input_dim)
    bits = max(1, int(np.ceil(np.log2(vocabulary))))
    index = FixedType(bits, bits, False, "TRN", "SAT")
    graph.tensors[src].type = index
    graph.meta.setdefault("index_inputs", {})[src] = vocabulary
    graph.add_tensor(layer.name, kf.output_shape(layer))
    graph.add_node(layer.name, "embedding", [src], [layer.name], {"index_type": index, "weight_quantized": False},
                   {"weight": layer.embeddings.numpy().astype(np.float64)})
    return layer.name


def _layer_normalization(graph, layer, inputs):
    """Normalization over the last axis (Keras's float arithmetic; see hlsflow/layernorm.py)."""
    (src,) = inputs
    shape = graph.tensors[src].shape
    axes = [a % (len(shape) + 1) for a in layer.axis]
    if axes != [len(shape)]:
        raise UnsupportedError(f"{_where(layer)}: normalizes over axes {list(layer.axis)}; only the last axis is "
                               "supported")
    channels = shape[-1]
    gamma = layer.gamma.numpy() if layer.scale else np.ones(channels, np.float32)
    beta = layer.beta.numpy() if layer.center else np.zeros(channels, np.float32)
    attrs = {"channels": int(channels), "epsilon": float(np.float32(layer.epsilon)),
             "weight_quantized": not layer.scale, "bias_quantized": not layer.center}
    graph.add_tensor(layer.name, shape)
    graph.add_node(layer.name, "layernorm", [src], [layer.name], attrs,
                   {"weight": gamma.astype(np.float64), "bias": beta.astype(np.float64)})
    return layer.name


def _einsum_dense(graph, layer, inputs):
    return add_einsum_dense(graph, layer, inputs[0], layer.name)


def add_einsum_dense(graph, layer, src, name) -> str:
    """EinsumDense of one input and one kernel: the input's axes are kept
    (positions), contracted (summed with the kernel's), or shared with the
    kernel and kept (groups: one kernel slice each); the kernel adds new axes.
    Lowered to a transpose of the input to (positions, groups, contracted), a
    grouped 1x1 convolution over the positions into (positions, groups, new)
    and a transpose to the output's order, each transpose only where needed.
    A bias that varies along a kept axis makes that axis a group (its kernel
    repeated), so that the bias is per output channel."""
    where = _where(layer)
    x_axes, k_axes, out_axes = _einsum_axes(layer, len(graph.tensors[src].shape))
    shape = dict(zip(x_axes, graph.tensors[src].shape))
    kernel = layer.kernel.numpy()
    shape.update(zip(k_axes, kernel.shape))
    bias_axes = set(layer.bias_axes or "") if layer.bias is not None else set()
    contracted = [a for a in x_axes if a in k_axes and a not in out_axes]
    groups = [a for a in x_axes if a in out_axes and (a in k_axes or a in bias_axes)]
    positions = [a for a in x_axes if a in out_axes and a not in groups]
    new = [a for a in k_axes if a not in x_axes]
    if set(x_axes + k_axes) != set(out_axes + contracted) or len(set(out_axes)) < len(out_axes) \
            or len(set(x_axes)) < len(x_axes) or len(set(k_axes)) < len(k_axes):
        raise UnsupportedError(f"{where}: equation {layer.equation!r}; supported: every input axis kept or summed "
                               "with the kernel, every kernel axis summed or kept")
    n_pos, n_grp, n_in, n_new = (int(np.prod([shape[a] for a in part], dtype=np.int64))
                                 for part in (positions, groups, contracted, new))
    order = positions + groups + contracted
    if order != x_axes:
        moved = f"{name}_input"
        graph.add_tensor(moved, [shape[a] for a in order])
        graph.add_node(moved, "transpose", [src], [moved], {"perm": [x_axes.index(a) for a in order]})
        src = moved
    spread = [a for a in groups if a not in k_axes]  # the kernel repeated along these
    weight = np.einsum(",".join(["".join(k_axes)] + spread) + "->" + "".join(contracted + groups + new),
                       kernel.astype(np.float64), *[np.ones(shape[a]) for a in spread])
    weight = weight.reshape(1, 1, n_in, n_grp * n_new)
    produced = positions + groups + new
    out_shape = [shape[a] for a in out_axes]
    bias = np.zeros(n_grp * n_new, np.float32)
    if layer.bias is not None:
        full = np.broadcast_to(layer.bias.numpy(), out_shape)
        bias = np.transpose(full, [out_axes.index(a) for a in produced]).reshape(n_pos, -1)[0]
    attrs = {"in_hwc": [1, n_pos, n_grp * n_in], "out_hwc": [1, n_pos, n_grp * n_new], "kernel": [1, 1],
             "strides": [1, 1], "dilation": [1, 1], "pads": [0, 0, 0, 0]}
    from hlsflow.frontend import spatial

    linear = name if produced == out_axes else f"{name}_einsum"
    out = spatial._add_conv(graph, kf.renamed(layer, linear, [shape[a] for a in produced]), src, linear, attrs,
                            n_grp, weight, None, (n_in, n_grp * n_new), layer.activation, bias=bias, bq=None)
    if linear == name:
        return out
    graph.add_tensor(name, out_shape)
    graph.add_node(name, "transpose", [out], [name], {"perm": [produced.index(a) for a in out_axes]})
    return name


def _einsum_axes(layer, rank) -> tuple[list, list, list]:
    """The axes of an EinsumDense equation (input, kernel, output) without the
    batch axis: a '...' stands for the input's leading axes."""
    equation = layer.equation.replace(" ", "")
    try:
        operands, out = equation.split("->")
        x, k = operands.split(",")
    except ValueError:
        raise UnsupportedError(f"{_where(layer)}: equation {layer.equation!r} is not of the form 'x,k->y'") from None
    if x.startswith("...") and out.startswith("..."):
        lead = [f"_{i}" for i in range(rank - len(x) + 3)]  # names no equation letter has
        return lead + list(x[3:]), list(k), lead + list(out[3:])
    if "." in equation or not x or x[0] != out[:1] or x[0] in k:
        raise UnsupportedError(f"{_where(layer)}: equation {layer.equation!r}: the input and output must start "
                               "with the batch axis (or '...')")
    return list(x[1:]), list(k), list(out[1:])


def _multi_head_attention(graph, layer, inputs):
    """MultiHeadAttention over (steps, features) inputs, without masks: the
    query, key and value projections (EinsumDense), an `attention` node (scores,
    softmax over the key steps, weighted sum of the values; see
    hlsflow/attention.py) and the output projection."""
    where = _where(layer)
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) > 2 else value
    call = layer.inbound_nodes[0].call_kwargs if layer.inbound_nodes else {}
    for flag in ("attention_mask", "use_causal_mask", "return_attention_scores"):
        if call.get(flag) not in (None, False):
            raise UnsupportedError(f"{where}: {flag} is not supported")
    if any(len(graph.tensors[t].shape) != 2 for t in (query, value, key)) or tuple(layer._attention_axes) != (1,):
        raise UnsupportedError(f"{where}: only (steps, features) inputs, attending over the steps, are supported")
    q = add_einsum_dense(graph, layer._query_dense, query, f"{layer.name}_query")
    k = add_einsum_dense(graph, layer._key_dense, key, f"{layer.name}_key")
    v = add_einsum_dense(graph, layer._value_dense, value, f"{layer.name}_value")
    heads, key_dim = int(layer._num_heads), int(layer._key_dim)
    attrs = {"heads": heads, "key_dim": key_dim, "value_dim": int(layer._value_dim),
             "query_steps": int(graph.tensors[q].shape[0]), "key_steps": int(graph.tensors[k].shape[0]),
             "scale": float(np.float32(1.0 / np.sqrt(float(key_dim))))}
    mid = f"{layer.name}_attention"
    graph.add_tensor(mid, (attrs["query_steps"], heads, attrs["value_dim"]))
    graph.add_node(mid, "attention", [q, k, v], [mid], attrs)
    return add_einsum_dense(graph, layer._output_dense, mid, layer.name)


HANDLERS = {**{cls: _recurrent for cls in CELLS}, "Bidirectional": _bidirectional, "QBidirectional": _bidirectional,
            "TimeDistributed": _time_distributed, "Embedding": _embedding,
            "LayerNormalization": _layer_normalization, "EinsumDense": _einsum_dense,
            "MultiHeadAttention": _multi_head_attention}
