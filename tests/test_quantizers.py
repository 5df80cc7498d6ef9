"""QKeras activation quantizers vs the FixedType hlsflow maps them to:
the numpy quantize must reproduce QKeras's outputs bit for bit, ties included."""
import numpy as np
import pytest

from hlsflow.errors import UnsupportedError
from hlsflow.fixed import quantize
from hlsflow.frontend.quantizers import activation_type


def _values(rng, t):
    """Random values, exact ties of the type's grid, and far out-of-range values."""
    step = t.step
    ties = (rng.integers(-2 ** t.width, 2 ** t.width, 2000) + 0.5) * step
    spread = rng.normal(0, max(abs(t.min_value), t.max_value), 2000)
    far = rng.uniform(-50, 50, 500) * max(abs(t.min_value), t.max_value, 1)
    return np.concatenate([ties, spread, far, [0.0, -0.0, t.max_value, t.min_value]]).astype(np.float32)


CASES = [
    ("quantized_bits", dict(bits=6, integer=0, alpha=1)), ("quantized_bits", dict(bits=8, integer=3, alpha=1)),
    ("quantized_bits", dict(bits=4, integer=0, symmetric=1, alpha=1)),
    ("quantized_bits", dict(bits=8, integer=5, keep_negative=False, alpha=1)),
    ("quantized_bits", dict(bits=3, integer=2, alpha=None)), ("quantized_bits", dict(bits=12, integer=0, alpha=1)),
    ("quantized_relu", dict(bits=6, integer=0)), ("quantized_relu", dict(bits=3, integer=1)),
    ("quantized_relu", dict(bits=2)), ("quantized_relu", dict(bits=8, integer=4)),
]


@pytest.mark.parametrize("cls,kwargs", CASES, ids=[f"{c}{sorted(k.values(), key=str)}" for c, k in CASES])
def test_activation_quantizer_matches_qkeras(cls, kwargs):
    import qkeras

    q = getattr(qkeras, cls)(**kwargs)
    spec = f"{cls}({kwargs})"
    t = activation_type(q, "test")
    x = _values(np.random.default_rng(len(spec)), t)
    expected = np.asarray(q(x), dtype=np.float32).astype(np.float64)
    got = quantize(x.astype(np.float64), t)
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, f"{spec} -> {t}: x={x[bad[:5]]} qkeras={expected[bad[:5]]} hlsflow={got[bad[:5]]}"


@pytest.mark.parametrize("spec", ["quantized_bits(8,0,alpha='auto')", "quantized_relu(4,0,use_sigmoid=1)",
                                  "quantized_tanh(4)"])
def test_unsupported_activation_quantizer_is_named(spec):
    from qkeras.quantizers import get_quantizer

    with pytest.raises(UnsupportedError, match="layer_x"):
        activation_type(get_quantizer(spec), "layer_x")
