"""Numpy recurrent cells (SimpleRNN, LSTM, GRU): the emulator of `recurrent`
nodes, bit-exact with templates/firmware/nnet/nnet_recurrent.h. Every sum and
product is exact in float64 (no type is wider than 53 bits); values are
rounded only where their type says so."""
import numpy as np

from hlsflow.fixed import quantize, quantize_raw


def apply_affine(x, affine, out_type=None):
    """clip(slope * x + offset, lo, hi), cast to out_type when given (exact float64)."""
    slope, offset, lo, hi = affine
    y = np.asarray(x, np.float64) * slope + offset
    if lo is not None or hi is not None:
        y = np.clip(y, -np.inf if lo is None else lo, np.inf if hi is None else hi)
    return y if out_type is None else quantize(y, out_type)


def activate(node, role: str, z: np.ndarray) -> np.ndarray:
    """A gate activation: the exact affine form cast to the role's type, a step
    function by its thresholds, or a table."""
    a, p = node.attrs, node.params
    if f"{role}_affine" in a:
        return apply_affine(z, a[f"{role}_affine"], a[f"{role}_type"])
    if f"{role}_thresholds" in p:
        return p[f"{role}_table"][np.searchsorted(p[f"{role}_thresholds"], z, side="right")]
    index = a[f"{role}_index_type"]
    return node.params[f"{role}_table"][quantize_raw(z, index).astype(np.int64) & (2 ** index.width - 1)]


def _simple(node, x, hs, c):
    p = node.params
    z = x @ p["weight"] + p["bias"] + hs @ p["recurrent_weight"]
    return activate(node, "cand", z), c


def _lstm(node, x, hs, cs, c):
    a, p, u = node.attrs, node.params, node.attrs["units"]
    z = x @ p["weight"] + p["bias"] + hs @ p["recurrent_weight"]
    i, f, o = (activate(node, "rec", z[:, k * u:(k + 1) * u]) for k in (0, 1, 3))
    g = activate(node, "cand", z[:, 2 * u:3 * u])
    c = quantize(f * cs + i * g, a["carry_type"])
    return o * activate(node, "cell", c), c


def _gru(node, x, hs, c):
    a, p, u = node.attrs, node.params, node.attrs["units"]
    w, r = p["weight"], p["recurrent_weight"]
    gates = x @ w[:, :2 * u] + p["bias"][:2 * u] + hs @ r[:, :2 * u]
    candidate = x @ w[:, 2 * u:] + p["bias"][2 * u:]
    if a["reset_after"]:
        rb = p["recurrent_bias"]
        gates += rb[:2 * u]
    update, reset = activate(node, "rec", gates[:, :u]), activate(node, "rec", gates[:, u:])
    if a["reset_after"]:
        candidate += quantize(reset * (hs @ r[:, 2 * u:] + rb[2 * u:]), a["reset_type"])
    else:
        candidate += quantize(reset * hs, a["reset_type"]) @ r[:, 2 * u:]
    hh = activate(node, "cand", candidate)
    return update * hs + (1 - update) * hh, c


def emulate_recurrent(graph, node, x):
    """Run the cell over the steps (backwards with go_backwards); the output is
    the last state or every step's (in processing order; in input order when
    `aligned`, as Bidirectional's backward layer stores it)."""
    a = node.attrs
    y_type = graph.tensors[node.outputs[0]].type
    state = a.get("state_type")
    steps, units = a["steps"], a["units"]
    h = np.zeros((len(x), units))
    c = np.zeros((len(x), units))
    outputs = []
    for t in range(steps):
        xt = x[:, steps - 1 - t if a["go_backwards"] else t]
        hs = h if state is None else quantize(h, state)
        if a["cell"] == "lstm":
            h, c = _lstm(node, xt, hs, c if state is None else quantize(c, state), c)
        else:
            h, c = (_simple if a["cell"] == "simple" else _gru)(node, xt, hs, c)
        h = quantize(h, y_type)
        outputs.append(h)
    if not a["return_sequences"]:
        return h
    y = np.stack(outputs, axis=1)
    return y[:, ::-1] if a["aligned"] else y
