"""tables.index_type: a table over an input wider than table_width covers
where the function changes, so the table's error stays within half an output
step plus the index's own rounding."""
import numpy as np
import pytest

from hlsflow.fixed import FixedType, quantize
from hlsflow.tables import index_type

WIDE = FixedType(32, 16)
OUT = FixedType(16, 2, True, "RND_CONV", "SAT")


def table_error(function, x, index):
    """max |table(x) - function(x)| over inputs drawn across x's whole range."""
    rng = np.random.default_rng(0)
    inputs = quantize(np.concatenate([rng.uniform(x.min_value, x.max_value, 20000),
                                      rng.normal(0, 4, 20000)]), x)
    return float(np.abs(function(quantize(inputs, index)) - function(inputs)).max())


@pytest.mark.parametrize("function, slope", [(np.tanh, 1.0), (lambda v: 1 / (1 + np.exp(-v)), 0.25)])
def test_saturating_function_spends_the_index_where_it_changes(function, slope):
    index = index_type(function, WIDE, 16, OUT, 16)
    assert index.width == 16 and index.integer <= 5 and index.overflow == "SAT"
    # the input's own 16 integer bits would step by 1.0: an error of up to ~0.46 for tanh
    assert table_error(function, WIDE, index) <= OUT.step / 2 + slope * index.step / 2
    assert table_error(function, WIDE, FixedType(16, 16, True, "RND_CONV", "SAT")) > 0.1


def test_function_that_never_saturates_keeps_the_input_range():
    softplus = lambda v: np.log1p(np.exp(-np.abs(v))) + np.maximum(v, 0)  # noqa: E731
    assert index_type(softplus, WIDE, 16, None, 16).integer == WIDE.integer


def test_narrow_input_is_its_own_index():
    x = FixedType(10, 4)
    assert index_type(np.tanh, x, 16, OUT, 16) == FixedType(10, 4, True)
