"""hls4ml 1.3.0's pytest suite, re-created (cases.py), judged with hlsflow
(judge.py). `make test` runs the FAST subset: every layer family, both io
types; HLSFLOW_PEER=all runs the whole port. Items known to fail today are
strict xfails (known_failures.py)."""
import os

import numpy as np
import pytest

from peer import cases, judge
from peer.known_failures import KNOWN_FAILURES

# One item per layer family and io type, chosen to stay within ~3 minutes on 2 cores.
FAST = (
)


def selected():
    every = cases.items()
    if os.environ.get("HLSFLOW_PEER") == "all":
        return every
    by_id = {item.id: item for item in every}
    missing = [i for i in FAST if i not in by_id]
    assert not missing, f"FAST names unknown items: {missing}"
    return [by_id[i] for i in FAST]


def _param(item):
    reason = KNOWN_FAILURES.get(item.id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(item, id=item.id, marks=marks)


def test_known_failures_name_real_items():
    """Every known_failures entry names an item of the port (stale ids would hide nothing)."""
    ids = {item.id for item in cases.items()}
    assert sorted(set(KNOWN_FAILURES) - ids) == []


def test_hls4ml_types_map_onto_hlsflow():
    from hlsflow.fixed import FixedType

    for text, expected in (("fixed<32, 1>", "ap_fixed<32,1>"), ("ufixed<8,8>", "ap_ufixed<8,8>"),
                           ("fixed<18,8, RND, SAT>", "ap_fixed<18,8,AP_RND,AP_SAT>"),
                           ("ac_fixed<16,3,true,AC_RND_CONV,AC_SAT>", "ap_fixed<16,3,AP_RND_CONV,AP_SAT>"),
                           ("ac_fixed<32, 16>", "ap_fixed<32,16>"), ("ap_int<6>", "ap_int<6>"),
                           ("ap_ufixed<17,3>", "ap_ufixed<17,3>")):
        assert judge.hlsflow_type(text) == expected
        FixedType.parse(expected)


def test_criteria_fail_where_they_should():
    """The yardstick itself: each check rejects what it must."""
    ref = np.linspace(0, 1, 200).reshape(20, 10)
    assert judge.float_criteria([ref + 0.019], [ref])[0]
    assert not judge.float_criteria([ref + 0.021], [ref])[0]  # beyond 2 % of the range
    swapped = ref.copy()
    swapped[0, [8, 9]] = swapped[0, [9, 8]]  # one of 20 argmaxes differs: 95 %
    assert not judge.float_criteria([swapped], [ref])[0]
    assert judge.tolerance_check(cases.allclose(rtol=0, atol=0.01), [ref + 0.009], [ref])[0]
    assert not judge.tolerance_check(cases.allclose(rtol=0, atol=0.01), [ref + 0.011], [ref])[0]
    assert not judge.tolerance_check(cases.EQUAL, [ref + 2.0 ** -30], [ref])[0]
    assert not judge.tolerance_check(cases.argmax(0.98), [swapped], [ref])[0]
    assert not judge.tolerance_check(cases.Tolerance("mae", limit=9e-3), [ref + 0.01], [ref])[0]


@pytest.mark.parametrize("item", [_param(i) for i in selected()])
def test_peer(item, tmp_path):
    result = judge.run_hlsflow(item, tmp_path)
    if result.verdict == "skipped":
        pytest.skip(result.detail)
    assert result.passed, f"{result.verdict}: {result.detail}"
