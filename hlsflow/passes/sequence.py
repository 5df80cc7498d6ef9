"""Types of the sequence-model ops: recurrent cells (SimpleRNN, LSTM, GRU) by
interval analysis, embeddings, layer normalization and attention.

Every intermediate of a cell is computed exactly (its type holds every value
its operands can make), so the only roundings are the casts Keras/QKeras
make too: gate activations that are quantizers, the state quantizer, and the
types hlsflow chooses for float models. The state fed back into the next step
is either the state quantizer's type or the cell's own output/carry type; the
latter grows from step to step when no quantizer bounds it, so its type is
the union over every step of the sequence (a fixed point, reached at the
latest after `steps` rounds), rounded to 24 bits where it would be wider
(Keras's float32 rounds it there too).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from hlsflow import layernorm as ln
from hlsflow.errors import OptionError
from hlsflow.fixed import FixedType, quantize
from hlsflow.ir import Graph
from hlsflow.passes import precision as pr
from hlsflow.softmax import softmax_tables
from hlsflow.tables import index_type


@dataclass(frozen=True)
class Span:
    """Values in [lo, hi] on the grid 2**-frac."""
    lo: float
    hi: float
    frac: int

    @classmethod
    def of(cls, t: FixedType) -> "Span":
        return cls(t.min_value, t.max_value, t.fractional)

    def __or__(self, other: "Span") -> "Span":
        return Span(min(self.lo, other.lo), max(self.hi, other.hi), max(self.frac, other.frac))

    def __add__(self, other: "Span") -> "Span":
        return Span(self.lo + other.lo, self.hi + other.hi, max(self.frac, other.frac))

    def __mul__(self, other: "Span") -> "Span":
        ends = (self.lo * other.lo, self.lo * other.hi, self.hi * other.lo, self.hi * other.hi)
        return Span(min(ends), max(ends), self.frac + other.frac)

    def type(self) -> FixedType:
        """The exact type (an OptionError where it would exceed what hlsflow holds exactly)."""
        width = max(self.integer_bits() + self.frac, 1)
        if width > pr.FLOAT_LIMIT:
            raise OptionError(f"a {width}-bit intermediate value; hlsflow handles at most {pr.FLOAT_LIMIT} bits "
                              "(use narrower weights or types)")
        return pr.type_for_interval(self.lo, self.hi, self.frac)

    def integer_bits(self) -> int:
        """Integer bits (sign included) of the narrowest type on this grid holding [lo, hi]."""
        signed, step = self.lo < 0, 2.0 ** -self.frac
        integer = 1 - self.frac
        while not ((-(2.0 ** (integer - 1)) if signed else 0.0) <= self.lo
                   and self.hi <= 2.0 ** (integer - signed) - step):
            integer += 1
        return integer


ZERO = Span(0.0, 0.0, 0)


def column_sums(x: FixedType, w: np.ndarray, wt: FixedType) -> tuple[np.ndarray, np.ndarray, int]:
    """Per output column, the lowest and highest partial sum of x_i * w_ij (any
    subset, any order) for x in x's range, and the products' fractional bits."""
    ends = np.stack([x.min_value * w, x.max_value * w])
    return (np.minimum(ends.min(axis=0), 0).sum(axis=0), np.maximum(ends.max(axis=0), 0).sum(axis=0),
            x.fractional + wt.fractional)


def matvec_span(terms) -> tuple[Span, np.ndarray, np.ndarray]:
    """The accumulator span of a sum of (x type, weights, weight type) products
    plus biases ((values, type) pairs given as weights=None), and its per-column bounds."""
    lo = hi = 0.0
    frac = 0
    for x, w, wt in terms:
        if x is None:  # a bias
            lo, hi, frac = lo + np.minimum(w, 0), hi + np.maximum(w, 0), max(frac, wt.fractional)
            continue
        neg, pos, f = column_sums(x, w, wt)
        lo, hi, frac = lo + neg, hi + pos, max(frac, f)
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    return Span(float(lo.min()), float(hi.max()), frac), lo, hi


class Cell:
    """The types of one recurrent node, for given types of the fed-back state."""

    def __init__(self, graph: Graph, node, config, inputs_exact: bool):
        self.graph, self.node, self.config = graph, node, config
        self.inputs_exact = inputs_exact  # input and parameters exact
        self.a, self.p = node.attrs, node.params
        self.x = graph.input_tensors(node)[0]
        self.units = self.a["units"]
        self.types: dict = {}  # attrs to set
        self.tables: dict = {}  # params to set
        self.exact = True  # every role exact

    def role(self, role: str, z: Span, out: FixedType | None = None) -> Span:
        """A gate activation over sums in span z: records its types (output:
        attrs "<role>_type") and returns its output span. `out`: the type its
        values take when hlsflow chooses it (the simple cell's output)."""
        t, values = self._role_type(role, z, out)
        self.types[f"{role}_type"] = t
        return values

    def stored(self, key: str, span: Span) -> Span:
        """A product the cell stores in a variable of type attrs[key]: exact, or
        rounded to the width cap where the model is float anyway."""
        t, exact = capped(span, self.inputs_exact, self.config)
        self.exact &= exact
        self.types[key] = t
        return Span.of(t)

    def _role_type(self, role: str, z: Span, out: FixedType | None) -> tuple[FixedType, Span]:
        """The output type of a role and the span of the values it takes."""
        a = self.a
        if f"{role}_affine" in a:
            slope, offset, lo, hi = a[f"{role}_affine"]
            st = pr.exact_type(np.array([slope]))
            ends = (z.lo * slope + offset, z.hi * slope + offset)
            bounds = [b for b in (lo, hi) if b is not None]
            frac = max([z.frac + st.fractional, pr.fractional_bits(np.array([offset]))]
                       + [pr.fractional_bits(np.array([b])) for b in bounds])
            lin = Span(min(ends), max(ends), frac)
            self.types[f"{role}_slope_type"], self.types[f"{role}_lin_type"] = st, lin.type()
            # the bounds that can clip (inside lin's range, so representable in its type)
            self.types[f"{role}_clamp"] = [lo if lo is not None and lo > lin.lo else None,
                                           hi if hi is not None and hi < lin.hi else None]
            clamped = Span(max(lin.lo, lo) if lo is not None else lin.lo, min(lin.hi, hi) if hi is not None else lin.hi,
                           frac)
            t = a.get(f"{role}_cast", out)  # a quantizer's type, or the chosen one
            if t is not None:  # the cast rounds to t's grid and saturates to its range
                step = t.step
                return t, Span(max(t.min_value, np.floor(clamped.lo / step) * step),
                               min(t.max_value, np.ceil(clamped.hi / step) * step), t.fractional)
            t, exact = capped(clamped, True, self.config)
            self.exact &= exact
            return t, (clamped if exact else Span.of(t))
        t = self.steps(role, z.type()) if a[f"{role}_quantized"] else self.table(role, z.type(), out)
        values = self.tables[f"{role}_table"]
        return t, Span(float(values.min()), float(values.max()), t.fractional)

    def steps(self, role: str, x: FixedType) -> FixedType:
        """A quantized (step) function by threshold comparisons: its levels and
        the inputs where it steps up, found by bisection over x's grid."""
        thresholds, levels = step_function(self.graph.functions[f"{self.node.name}/{role}"],
                                           FixedType(x.width, x.integer, x.signed),
                                           f"layer {self.node.name!r} ({role} activation)")
        t = pr.exact_type(levels)
        self.types[f"{role}_table_type"], self.types[f"{role}_thresholds_type"] = t, FixedType(x.width, x.integer,
                                                                                               x.signed)
        self.tables[f"{role}_table"], self.tables[f"{role}_thresholds"] = levels, thresholds
        self.types[f"{role}_search"] = [len(thresholds), len(thresholds).bit_length()]  # count, binary search steps
        return t

    def table(self, role: str, x: FixedType, out: FixedType | None) -> FixedType:
        """A lookup table of a float function over every value of x (or of x
        rounded to table_width bits where the function changes: tables.py): its
        values are rounded, so inexact."""
        config = self.config
        function = self.graph.functions[f"{self.node.name}/{role}"]
        index = index_type(function, x, config["table_width"], out, config["activation_width"])
        values = tabulate(function, index)
        t = out if out is not None else pr.rounded_type(values, config["activation_width"])
        self.exact = False
        self.types[f"{role}_index_type"], self.types[f"{role}_table_type"] = index, t
        self.tables[f"{role}_table"] = quantize(values, t)
        return t

    def step(self, hs: FixedType, ct: FixedType, y: FixedType | None, spans) -> tuple[Span, Span]:
        """Types of one step from the fed-back state types (hs: the output's, as
        the matrix products see it; ct: the carry's, LSTM): the spans of the new
        output and carry. `y`: the output's type when chosen; `spans`: the
        values the output and the carry took so far."""
        a, p, u = self.a, self.p, self.units
        self.types, self.tables, self.exact = {}, {}, True
        cs = a.get("state_type") or ct
        wt, ut, bt = a["weight_type"], a["recurrent_weight_type"], a["bias_type"]
        w, r, b = p["weight"], p["recurrent_weight"], p["bias"]
        terms = [(self.x.type, w, wt), (hs, r, ut), (None, b, bt)]
        if "recurrent_bias" in p:
            terms.append((None, p["recurrent_bias"], a["recurrent_bias_type"]))
        cell = a["cell"]
        if cell == "gru" and not a["reset_after"]:  # the candidate's sum is made apart
            terms = [(t, v[..., :2 * u], vt) for t, v, vt in terms]
        acc, lo, hi = matvec_span(terms)
        self.types["accum_type"] = acc.type()
        if cell == "simple":
            return self.role("cand", acc, out=y), ZERO
        gate_columns = np.r_[0:2 * u] if cell == "gru" else np.r_[0:2 * u, 3 * u:4 * u]
        rec = self.role("rec", Span(float(lo[gate_columns].min()), float(hi[gate_columns].max()), acc.frac))
        if cell == "lstm":
            cand_sum = Span(float(lo[2 * u:3 * u].min()), float(hi[2 * u:3 * u].max()), acc.frac)
            cand = self.role("cand", cand_sum)
            # the fed-back carry: its type's range under a state quantizer, else the carries so far (and
            # the rounding to its type): the type's range would double the bound on every round
            fed = Span.of(cs) if "state_type" in a else Span(max(spans[1].lo - cs.step, cs.min_value),
                                                               min(spans[1].hi + cs.step, cs.max_value), cs.fractional)
            carry = rec * fed + rec * cand
            # h = o * cell(c) reads this step's carry, kept in the type of every carry so far
            cell_out = self.role("cell", Span.of(self.carry_type(spans[1] | carry)))
            return rec * cell_out, carry
        # GRU: the candidate sum x_h W_h + b_h + r * (h U_h + rb_h) (reset after) or + (r * h) U_h (before)
        xh = [(self.x.type, w[:, 2 * u:], wt), (None, b[2 * u:], bt)]
        if a["reset_after"]:
            rec_part, _, _ = matvec_span([(hs, r[:, 2 * u:], ut),
                                          (None, p["recurrent_bias"][2 * u:], a["recurrent_bias_type"])])
            reset = self.stored("reset_type", rec * rec_part)
            total = matvec_span(xh)[0] + reset
        else:
            reset = self.stored("reset_type", rec * Span.of(hs))
            total = matvec_span(xh + [(reset.type(), r[:, 2 * u:], ut)])[0]
        self.types["cand_accum_type"] = total.type()
        cand = self.role("cand", total)
        update = Span(1 - rec.hi, 1 - rec.lo, rec.frac)
        self.types["update_type"] = update.type()
        mixed = rec * Span.of(hs) + update * cand
        if 0 <= rec.lo and rec.hi <= 1:  # a convex combination of h and h~: within their range
            h = Span.of(hs) if "state_type" in a else spans[0]
            mixed = Span(min(h.lo, cand.lo), max(h.hi, cand.hi), mixed.frac)
        return mixed, ZERO


def recurrent(graph: Graph, node, config):
    """Types of a recurrent node: parameters, accumulators, gates, carry, output."""
    a = node.attrs
    (y,) = graph.output_tensors(node)
    exact = graph.input_tensors(node)[0].exact
    for key in ("weight", "recurrent_weight", "bias", "recurrent_bias"):
        if key in node.params:
            a[f"{key}_type"], key_exact = pr._param_type(graph, node, key, a[f"{key}_quantized"], config)
            exact &= key_exact
    chosen_y = pr.chosen_type(config, node.name, "output_type")
    chosen_c = pr.chosen_type(config, node.name, "carry_type") if a["cell"] == "lstm" else None
    cell = Cell(graph, node, config, exact)
    state = a.get("state_type")

    def kept(span, chosen):  # the type a state is kept in, and whether it is exact
        return _state_type(span, chosen, exact and cell.exact, config)

    cell.carry_type = lambda span: kept(span, chosen_c)[0]
    # Round k covers step k of the sequence (its states: every earlier step's)
    spans = [ZERO, ZERO]  # output and carry over the steps so far
    for _ in range(a["steps"]):
        new = cell.step(state or kept(spans[0], chosen_y)[0], kept(spans[1], chosen_c)[0], chosen_y, spans)
        grown = [old | span for old, span in zip(spans, new)]
        if grown == spans:
            break
        spans = grown
    (yt, y_exact), (ct, c_exact) = kept(spans[0], chosen_y), kept(spans[1], chosen_c)
    cell.step(state or yt, ct, chosen_y, spans)  # the inner types for the final state types
    a.update(cell.types)
    node.params.update(cell.tables)
    if a["cell"] == "lstm":
        a["carry_type"] = ct
        if not c_exact:
            pr._record_choice(graph, node.name, "carry_type")
    y.type, y.exact = yt, bool(y_exact and c_exact)
    pr._check_width(node, *(t for k, t in a.items() if k.endswith("_type") and isinstance(t, FixedType)))


STEP_CHECKS = 1 << 16  # random inputs a found step function is checked on


@functools.lru_cache(maxsize=256)  # (calibration types a graph many times)
def tabulate(function, index: FixedType) -> np.ndarray:
    """The function's values at every value of the index type (read-only)."""
    codes = np.arange(2 ** index.width)
    if index.signed:
        codes = np.where(codes >= 2 ** (index.width - 1), codes - 2 ** index.width, codes)
    values = function(codes * index.step)
    values.flags.writeable = False
    return values


@functools.lru_cache(maxsize=256)
def step_function(function, x: FixedType, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(thresholds, levels) of a nondecreasing step function over x's values:
    f(v) = levels[number of thresholds <= v]. Every step is found by bisection
    (between two codes where f differs, there is a step; where it is equal, a
    nondecreasing function has none), then f is checked on random codes."""
    lo, hi = -(1 << (x.width - 1)) if x.signed else 0, (1 << (x.width - 1 if x.signed else x.width)) - 1

    def f(codes):
        return function(np.asarray(codes, np.float64) * x.step)

    ends = f([lo, hi])
    bounds = [(lo, hi, ends[0], ends[1])] if ends[0] != ends[1] else []
    steps = []
    while bounds:
        mids = [(a + b) // 2 for a, b, _, _ in bounds]
        values = f(mids)
        nxt = []
        for (a, b, fa, fb), m, fm in zip(bounds, mids, values):
            for left, right, fl, fr in ((a, m, fa, fm), (m, b, fm, fb)):
                if fl == fr:
                    continue
                if right - left == 1:
                    steps.append((right, fr))  # f steps up to fr at code `right`
                else:
                    nxt.append((left, right, fl, fr))
        bounds = nxt
    steps.sort()
    codes = np.array([c for c, _ in steps], np.int64)
    levels = np.array([ends[0]] + [v for _, v in steps])
    if np.any(np.diff(levels) < 0):
        raise OptionError(f"{where}: a quantized activation that is not nondecreasing; hlsflow computes those "
                          "by threshold comparisons")
    probe = np.random.default_rng(0).integers(lo, hi + 1, STEP_CHECKS)
    if not np.array_equal(f(probe), levels[np.searchsorted(codes, probe, side="right")]):
        raise OptionError(f"{where}: a quantized activation that is not a nondecreasing step function")
    thresholds = codes * x.step
    thresholds.flags.writeable = levels.flags.writeable = False
    return thresholds, levels


def _state_type(span: Span, chosen: FixedType | None, exact: bool, config) -> tuple[FixedType, bool]:
    """The type a state is kept in: chosen, else exact (rounded to the width cap where inexact)."""
    if chosen is not None:
        return chosen, False
    return capped(span, exact, config)


FLOAT32_BITS = 24  # Keras keeps the cell's values in float32: beyond 24 bits it rounds them itself


def capped(span: Span, exact: bool, config) -> tuple[FixedType, bool]:
    """The span's exact type and True, or, beyond FLOAT32_BITS (where Keras's
    float32 rounds too; activation_width where the model is float anyway),
    that many bits rounded to nearest and saturating, and False. (Values the
    cell keeps and feeds back would otherwise grow on every step.)"""
    integer = span.integer_bits()
    limit = FLOAT32_BITS if exact else config["activation_width"]
    if integer + span.frac <= limit:
        return pr.type_for_interval(span.lo, span.hi, span.frac), exact
    return FixedType(limit, integer, span.lo < 0, "RND_CONV", "SAT"), False


def embedding(graph: Graph, node, config):
    """A row of the table per index: the table has the output's type, stated
    (config output_type, like a table's, or default_precision), else the table's
    exact type when it fits weight_width bits, else the values rounded to that width."""
    (y,) = graph.output_tensors(node)
    values = node.params["weight"]
    t = pr.stated_type(config, node.name, "output_type")
    if t is None:
        try:
            t = pr.exact_type(values)
        except ValueError:  # wider than any fixed-point type: a float table
            t = None
        if t is None or t.width > config["weight_width"]:
            t = pr.rounded_type(values, config["weight_width"])
    exact = pr._round_params(node, "weight", t)
    node.attrs.update(weight_type=t, rows=int(values.shape[0]))
    y.type, y.exact = t, exact


def stated_index_type(graph: Graph, name: str, stated: FixedType) -> FixedType:
    """The type config states for an Embedding's index input `name` (as hls4ml
    configs do) in place of hlsflow's own: an unsigned integer type holding every
    index of the table, else an error."""
    rows = graph.meta["index_inputs"][name]
    if stated.signed or stated.fractional != 0 or stated.max_value < rows - 1:
        bits = max(1, int(np.ceil(np.log2(rows))))
        raise OptionError(f"config layers.{name}.output_type: {stated} does not hold every index 0..{rows - 1} of "
                          f"its Embedding's table; an unsigned integer type of at least {bits} bits does "
                          f"(e.g. ap_uint<{bits}>)")
    for node in graph.consumers(name):
        node.attrs["index_type"] = stated
    return stated


def layernorm(graph: Graph, node, config):
    """Exact sum, deviations n x - S and sum of squares; a table of sqrt(n / m);
    the normalized value rounded to NORM_WIDTH bits; gamma, beta, output cast."""
    a = node.attrs
    (x,) = graph.input_tensors(node)
    (y,) = graph.output_tensors(node)
    n = a["channels"]
    xs = Span.of(x.type)
    total = Span(n * min(xs.lo, 0), n * max(xs.hi, 0), xs.frac)
    dev = Span(n * xs.lo - total.hi, n * xs.hi - total.lo, xs.frac)
    dev_t = dev.type()
    if dev_t.width + ln.TABLE_WIDTH > pr.FLOAT_LIMIT:
        raise OptionError(f"layer {node.name!r}: its {x.type.width}-bit input is too wide for the layer "
                          "normalization; give it a narrower input type")
    # the deviations are squared rounded to at most this many bits, so that their sum fits 53 bits
    square_bits = (pr.FLOAT_LIMIT - 1 - int(np.ceil(np.log2(n)))) // 2
    square_t = dev_t if dev_t.width <= square_bits else FixedType(square_bits, dev_t.integer, True, "RND_CONV",
                                                                     "SAT")
    peak = max(-square_t.min_value, square_t.max_value)
    var_t = Span(0.0, n * peak * peak, 2 * square_t.fractional).type()
    var = Span(0.0, var_t.max_value + ln.eps_raw(n, a["epsilon"], var_t) * var_t.step, var_t.fractional)
    a.update(sum_type=total.type(), dev_type=dev_t, square_type=square_t, var_type=var.type())
    table_t = ln.table_type(n)
    a["rsqrt_table_type"] = table_t
    node.params["rsqrt_table"] = ln.rsqrt_table(n, table_t)
    norm_integer = int(np.floor(np.log2(np.sqrt(n)))) + 2  # |normalized| <= sqrt(n - 1), and a sign bit
    a["norm_type"] = FixedType(ln.NORM_WIDTH, norm_integer, True, "RND_CONV", "SAT")
    a.update(max_shift=(a["var_type"].width - 1) // 2 + dev_t.fractional - square_t.fractional,
             extra_shift=dev_t.fractional - square_t.fractional, index_bits=ln.INDEX_BITS,
             eps_raw=ln.eps_raw(n, a["epsilon"], a["var_type"]))
    wt, _ = pr._param_type(graph, node, "weight", a["weight_quantized"], config)
    bt, _ = pr._param_type(graph, node, "bias", a["bias_quantized"], config)
    a.update(weight_type=wt, bias_type=bt)
    z = Span.of(a["norm_type"])
    ends = [z.lo * w for w in (wt.min_value, wt.max_value)] + [z.hi * w for w in (wt.min_value, wt.max_value)]
    out = Span(min(ends) + bt.min_value, max(ends) + bt.max_value, max(z.frac + wt.fractional, bt.fractional))
    chosen = pr.chosen_type(config, node.name, "output_type")
    y.type = chosen or capped(out, False, config)[0]
    y.exact = False
    pr._check_width(node, a["var_type"])


FACTOR_WIDTH = 18  # bits of 1/sqrt(key_dim)


def attention(graph: Graph, node, config):
    """Exact scores; the softmax with the model's softmax options (index, exp,
    sum, 1/sum and probability types, per-layer overrides but the output type);
    the exact weighted sum of the values, cast to the output type (chosen, or
    data-free)."""
    a = node.attrs
    q, k, v = (t.type for t in graph.input_tensors(node))
    (y,) = graph.output_tensors(node)
    d, steps = a["key_dim"], a["key_steps"]
    peak = max(-q.min_value, q.max_value) * max(-k.min_value, k.max_value) * d
    score = Span(-peak, peak, q.fractional + k.fractional)
    a["score_type"] = score.type()
    own = {key: value for key, value in config.get("layers", {}).get(node.name, {}).items()
           if key in pr.SOFTMAX_KEYS and key != "output_type"}
    types, prob = pr.softmax_types({**config["softmax"], **own}, steps)
    a.update(types, prob_type=prob)
    factor = pr.rounded_type(np.array([a["scale"]]), FACTOR_WIDTH)
    a["factor"] = float(quantize(np.array(a["scale"]), factor))
    a["factor_type"] = pr.exact_type(np.array([a["factor"]]))
    # max - s beyond the index type's range / factor saturates the index anyway: keep only what the product needs
    index = a["index_type"]
    reach = index.max_value / a["factor"] + 1
    gap_integer = Span(0.0, min(2 * peak, reach), 0).integer_bits()
    gap_width = min(gap_integer + score.frac, pr.FLOAT_LIMIT - a["factor_type"].width)
    a["gap_type"] = FixedType(gap_width, gap_integer, False, "RND_CONV", "SAT")
    exp_table, inv_table = softmax_tables(a)
    node.params.update(exp_table=exp_table, inv_table=inv_table)
    a.update(exp_table_type=a["exp_type"], inv_table_type=a["inv_type"])
    vpeak = max(-v.min_value, v.max_value) * prob.max_value * steps
    total = Span(-vpeak if v.signed else 0.0, vpeak, prob.fractional + v.fractional)
    a["value_accum_type"] = total.type()
    chosen = pr.chosen_type(config, node.name, "output_type")
    y.type = chosen or capped(total, False, config)[0]
    y.exact = False
