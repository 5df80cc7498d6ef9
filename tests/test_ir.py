"""IR: JSON round trip and the readable dump."""
import numpy as np

from hlsflow.fixed import FixedType
from hlsflow.ir import FLOAT, Graph


def _graph():
    g = Graph("m")
    g.add_tensor("x", (4,), FixedType(8, 3, True, "RND_CONV", "SAT"))
    g.inputs = ["x"]
    g.add_tensor("y", (2,), FLOAT, exact=False)
    g.add_node("fc", "dense", ["x"], ["y"], {"relu": True, "accum_type": FixedType(20, 8)},
               {"weight": np.arange(8, dtype=float).reshape(4, 2) / 3, "bias": np.array([0.1, -2.5]),
                "table": np.random.default_rng(0).normal(size=(10, 30))})  # large: stored as base64
    g.outputs = ["y"]
    g.meta["note"] = "kept"
    return g


def test_json_round_trip_is_exact():
    g = _graph()
    back = Graph.loads(g.dumps())
    assert back.dumps() == g.dumps()
    assert back.tensors["x"].type == g.tensors["x"].type
    assert back.tensors["y"].type == FLOAT and back.tensors["y"].exact is False
    node = back.node("fc")
    assert node.attrs["accum_type"] == FixedType(20, 8)
    for key in ("weight", "bias", "table"):
        np.testing.assert_array_equal(node.params[key], g.node("fc").params[key])
    assert back.meta == {"note": "kept"}


def test_dump_lists_types_and_params():
    text = _graph().dump()
    assert "fc = dense(x) -> y[2] : float" in text
    assert "ap_fixed<8,3,AP_RND_CONV,AP_SAT>" in text
    assert "weight[4, 2]" in text


def test_bypass_rewires_consumers():
    g = _graph()
    g.add_tensor("z", (2,))
    g.add_node("copy", "reshape", ["y"], ["z"])
    g.outputs = ["z"]
    g.bypass(g.node("copy"))
    assert g.outputs == ["y"] and "z" not in g.tensors
