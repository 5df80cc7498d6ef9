"""Names a model brings become C++ identifiers that collide with nothing the
generated code writes itself (issue 17, class 1): unit tests of the
allocator, the cases hls4ml's suite broke on, and a property test of random
functional QKeras models named from a hostile list, bit-exact in csim, the
emulator and `make csim`, in both io types."""
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hlsflow
from conftest import check_outputs_bit_exact, make_csim
from hlsflow.backend.names import Identifiers, TemplateNames, cpp_identifier, scan_template, template_names
from hlsflow.backend.writer import templates_dir

EXAMPLES = int(os.environ.get("HLSFLOW_SOAK", "2"))  # per io type
IO_TYPES = ["io_parallel", "io_stream"]
# Names chosen to collide: template locals and helpers, keywords, macros, library
# types (`size` -> size_t), names differing only in case, derived names
# (`q_t`, `d_w`, `in0`), the files of a project, hls4ml-style names.
HOSTILE = ["x", "X", "in", "out", "i", "n", "y", "v", "k", "l", "s", "chunk", "in0", "out1", "NULL", "EOF",
           "assert", "int", "class", "main", "std", "nnet", "hls", "logits", "exact", "same", "samples", "argmax",
           "read_row", "q_t", "x_t", "d_w", "size", "time", "defines", "parameters", "errno", "stdin", "linux",
           "hlsflow_run", "ap_fixed", "data", "printf", "y1", "q", "d", "d_linear", "input_1", "1st", "a b",
           "softmax", "__x__", "In"]


def _allocator(fixed=(), suffixes=(), numbered=()):
    return Identifiers(TemplateNames(frozenset(fixed), frozenset(), frozenset(suffixes), frozenset(numbered)))


def test_hostile_names_become_identifiers():
    for name in ["dense 1", "1st", "a;b\"c\n", "../etc/passwd", "", "__x__"]:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*", cpp_identifier(name)), name
    ids = _allocator(suffixes={"_t"})
    for name in ["class", "ap_fixed", "NULL", "EOF", "assert", "size", "main"]:
        ident = ids.claim(name)
        assert ident not in ("class", "ap_fixed", "NULL", "EOF", "assert", "main") and ident + "_t" != "size_t"


def test_clashes_after_cleaning_are_resolved_ignoring_case():
    ids = _allocator(suffixes={"_t"})
    got = [ids.claim(n) for n in ["a-b", "a_b", "A_B", "a.b"]]
    assert len({i.lower() for i in got}) == 4


def test_derived_and_numbered_names_do_not_collide():
    ids = _allocator(suffixes={"_w"}, numbered={"_copy", "in"})
    assert ids.claim("fc1") == "fc1"
    assert ids.claim("fc1_w") != "fc1_w"
    assert ids.claim("fc1_copy3") != "fc1_copy3"
    assert ids.claim("in2") != "in2"
    assert ids.claim("fc1") == "fc1"  # the same name, the same identifier
    assert ids.claim("fc1", key="top") != "fc1"


def test_templates_are_scanned_for_their_own_names():
    text = ('{% set s = n.id ~ "_scale_t" %}static void {{ n.id }}_stream(hls::stream<T> &in{{ k }}, '
            'int out) {\n    // a comment: model\n    printf("chunk");\n    x.read(); nnet::dense(y);\n'
            '    {{ t }}_copy{{ k }} = 0; f({{ "l" }});\n}\n#define GUARD_H_\n')
    names = scan_template(text)
    assert {"static", "void", "T", "int", "out", "printf", "in", "l", "hls", "nnet"} <= names.fixed
    assert not {"model", "chunk", "read", "dense", "stream"} & names.fixed
    assert names.macros == {"guard_h_"}
    assert {"_scale_t", "_stream", "_copy"} <= names.suffixes and {"in", "_copy"} <= names.numbered
    project = template_names(templates_dir())
    assert {"x", "in", "out", "summary", "row", "argmax", "run_range", "logits"} <= project.fixed
    assert {"_logits", "_in", "_out"} <= project.suffixes


# -- models that broke g++ (hls4ml's suite re-created) --------------------------
def _quantizer(bits=6, integer=2):
    from qkeras import quantized_bits
    return quantized_bits(bits, integer, alpha=1)


def _ports_alias():
    """A lone input quantizer (after it becomes the input type, the input is an
    output), the same output twice, and merges of a tensor with itself."""
    import tf_keras as keras
    from qkeras import QActivation
    inp = keras.Input((5,), name="x")
    q = QActivation(_quantizer(), name="in")(inp)
    both = keras.layers.Concatenate(name="out")([q, q])
    twice = keras.layers.Add(name="chunk")([q, q])
    return keras.Model(inp, [q, q, both, twice], name="x")


def _softmax_on_input():
    import tf_keras as keras
    inp = keras.Input((5,), name="in")
    return keras.Model(inp, keras.layers.Activation("softmax", name="out")(inp), name="softmax")


@pytest.mark.parametrize("io_type", IO_TYPES)
@pytest.mark.parametrize("case", ["ports_alias", "softmax_on_input"])
def test_collision_cases_build_and_are_bit_exact(case, io_type, tmp_path):
    model = {"ports_alias": _ports_alias, "softmax_on_input": _softmax_on_input}[case]()
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    x = np.random.default_rng(0).uniform(-6, 6, (100, 5)).astype(np.float32)
    check_outputs_bit_exact(model, project, [x])
    code, out = make_csim(tmp_path / "prj")
    assert code == 0, out


# -- property test --------------------------------------------------------------
@st.composite
def hostile_models(draw):
    """A spec of a functional QKeras model: 1-2 quantized inputs of one width,
    0-4 ops on earlier tensors (QDense, merges, possibly of a tensor with
    itself), each followed by a quantizer, 1-2 outputs (possibly an input's
    quantizer, possibly the same twice) or a final softmax; every name hostile."""
    names = draw(st.permutations(HOSTILE))
    ops = draw(st.lists(st.tuples(st.sampled_from(["dense", "add", "subtract", "multiply", "average", "maximum"]),
                                  st.integers(0, 99), st.integers(0, 99)), max_size=4))
    return {"model": draw(st.sampled_from(HOSTILE)), "names": names, "inputs": draw(st.integers(1, 2)),
            "width": draw(st.integers(2, 5)), "ops": ops, "outputs": draw(st.lists(st.integers(0, 99), min_size=1,
                                                                                   max_size=2)),
            "softmax": draw(st.booleans()), "seed": draw(st.integers(0, 2 ** 16))}


def build_hostile(spec):
    import tf_keras as keras
    from qkeras import QActivation, QDense

    keras.utils.set_random_seed(spec["seed"])
    names = iter(spec["names"])
    inputs = [keras.Input((spec["width"],), name=next(names)) for _ in range(spec["inputs"])]
    pool = [QActivation(_quantizer(), name=next(names))(x) for x in inputs]
    merges = {"add": keras.layers.Add, "subtract": keras.layers.Subtract, "multiply": keras.layers.Multiply,
              "average": keras.layers.Average, "maximum": keras.layers.Maximum}
    for op, a, b in spec["ops"]:
        x, y = pool[a % len(pool)], pool[b % len(pool)]
        if op == "dense":
            z = QDense(spec["width"], kernel_quantizer=_quantizer(4, 0), bias_quantizer=_quantizer(4, 0),
                       name=next(names))(x)
        else:
            z = merges[op](name=next(names))([x, y])
        pool.append(QActivation(_quantizer(7, 3), name=next(names))(z))
    outputs = [pool[k % len(pool)] for k in spec["outputs"]]
    if spec["softmax"]:
        outputs = [keras.layers.Activation("softmax", name=next(names))(outputs[0])]
    return keras.Model(inputs, outputs, name=spec["model"])


@pytest.mark.parametrize("io_type", IO_TYPES)
@settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("HLSFLOW_SOAK"),
          suppress_health_check=list(HealthCheck))
@given(spec=hostile_models())
def test_hostile_names_are_bit_exact(io_type, spec, tmp_path_factory):
    model = build_hostile(spec)
    directory = tmp_path_factory.mktemp("hostile") / "prj"
    project = hlsflow.convert(model, directory, io_type=io_type)
    rng = np.random.default_rng(spec["seed"])
    xs = [rng.uniform(-5, 5, (60, spec["width"])).astype(np.float32) for _ in range(spec["inputs"])]
    check_outputs_bit_exact(model, project, xs)
    code, out = make_csim(directory)
    assert code == 0, f"{spec}: {out}"


def test_a_layer_named_like_a_derived_tensor_is_refused_in_one_line(tmp_path):
    """`d_linear` is the name hlsflow gives Dense `d`'s output before its relu."""
    import tf_keras as keras

    from hlsflow.errors import UnsupportedError

    inp = keras.Input((4,), name="x")
    model = keras.Model(inp, [keras.layers.Dense(3, activation="relu", name="d")(inp),
                              keras.layers.Dense(3, name="d_linear")(inp)])
    with pytest.raises(UnsupportedError, match="layer 'd_linear'.*rename"):
        hlsflow.convert(model, tmp_path / "prj")
