"""hls4ml 1.3.0's pytest suite, re-created (cases.py), judged with hlsflow
(judge.py). `make test` runs the FAST subset: every layer family, both io
types; HLSFLOW_PEER=all runs the whole port. Items known to fail today are
strict xfails (known_failures.py)."""
import os

import numpy as np
import pytest

from peer import cases, judge
from peer.known_failures import KNOWN_FAILURES

# Every layer family in both io types and one item of most issue 17 failure
# classes and of later fixes (they guard them), chosen to stay within ~3
# minutes on 2 cores.
FAST = (
    "qkeras.single_dense_activation_exact[4-1]-parallel-exact",
    "qkeras.qdepthwiseconv2d-stream-exact",
    "bit_exact_zeropadding.bit_exact_zeropadding1d-stream-exact",
    "qkeras.quantizer[quantized_relu(4,2)]-stream-exact",
    "qkeras.qactivation_kwarg[binary-binary]-stream-exact",
    "qkeras.btnn[6-ternary(alpha=auto)-ternary(threshold=0.8)-bn]-parallel-exact",
    "activations.activations[relu-8x8x3]-stream-calibrated",
    "activations.activations[tanh-8]-parallel-calibrated",
    "activations.activations[relu-8]-stream-stated",
    "keras_api.conv1d[same]-parallel-calibrated",
    "keras_api.pooling[AveragePooling2D-same]-parallel-calibrated",
    "depthconv2d.depthconv2d[same-s2-k3]-stream-calibrated",
    "sepconv1d.sepconv1d[valid-s1-k2]-parallel-calibrated",
    "globalpooling.global_pool1d[max-keepdimsTrue]-stream-calibrated",
    "globalpooling.global_pool2d[avg-keepdimsFalse]-parallel-calibrated",
    "merge.concatenate3d[axis2]-stream-calibrated",
    "merge.merge[Multiply-in_order]-parallel-calibrated",
    "merge.merge[Add-in_order]-parallel-stated",
    "batchnorm.batchnorm[center_scaleTrue]-stream-calibrated",
    "zeropadding.zeropadding[2d]-stream-calibrated",
    "cropping.cropping[2d]-parallel-calibrated",
    "upsampling.upsampling[1d]-stream-calibrated",
    "reshape.reshape_parallel-stream-calibrated",
    "transpose_concat.accuracy-parallel-calibrated",
    "multiout_network.multi_output_nn_corner_cases[latency]-stream-calibrated",
    "dense_unrolled.resource_unrolled_dense[rf4]-stream-calibrated",
    "softmax.softmax[in16,6-8-table18,8]-stream-calibrated",
    "multi_dense.multi_dense[2x3x2-latency]-parallel-calibrated",
    "rnn.rnn_accuracy[LSTM-return_sequencesFalse]-parallel-calibrated",
    "sepconv1d.sepconv1d[valid-s1-k2]-parallel-stated",
    "transpose_concat.accuracy-parallel-stated",
    "pointwiseconv.pointwiseconv2d[valid-s1]-parallel-stated",
    "dense_unrolled.resource_unrolled_streaming_conv[1d-rf9]-stream-calibrated",
    "keras_nested_model.nested_model-parallel-calibrated",
    "einsum_dense.einsum_dense[bi,io->bo-bias_None]-parallel-calibrated",
    "rnn.rnn_accuracy[SimpleRNN-return_sequencesFalse]-parallel-stated",
    "rnn.rnn_accuracy[LSTM-return_sequencesFalse]-stream-stated",
    "stream_clone.multi_clone-stream-stated",
    "embed.embedding_accuracy-parallel-stated",
    "time_distributed.time_distributed_layer[h5False]-parallel-calibrated",
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


def test_stated_config_carries_the_tests_precisions():
    """hls4ml's per-layer precisions reach hlsflow's layer keys: a Sequential's
    input, one type for all of a layer's, hls4ml-internal layers dropped, and
    under granularity='name' "auto" for every other result."""
    by_id = {item.id: item for item in cases.items()}
    softmax = by_id["softmax.softmax[in9,6-8-table18,8]-parallel-stated"]
    assert judge.hlsflow_config(softmax, softmax.case.model()) == {
        "default_precision": "ap_fixed<16,6>", "layers": {"softmax_input": {"output_type": "ap_fixed<9,6>"},
                                                 "softmax": {"output_type": "auto"}}}
    clone = by_id["stream_clone.clone_precision_inheritance-stream-stated"]
    t = "ap_fixed<32,5>"
    assert judge.hlsflow_config(clone, clone.case.model()) == {"default_precision": "ap_fixed<1,0>", "layers": {
        "inp": {"output_type": t}, "x": {"output_type": t, "weight_type": t, "bias_type": t},
        "y": {"output_type": t, "weight_type": t, "bias_type": t}, "out": {"output_type": t}}}


def test_only_float_activations_at_the_output_are_judged_by_error():
    """A QLSTM with tanh (its last h is o * tanh(c), unquantized in QKeras) is a
    float output; quantized activations, a linear QDense or a QBatchNormalization
    followed by a quantizer are not."""
    by_id = {item.id: item for item in cases.items()}
    assert judge.float_output(by_id["qkeras.qlstm-parallel-exact"].case.model())
    for exact in ("qkeras.qactivation_kwarg[binary-binary]-stream-exact",
                  "qkeras.single_dense_activation_exact[4-1]-parallel-exact",
                  "qkeras.btnn[6-ternary(alpha=auto)-ternary(threshold=0.8)-bn]-parallel-exact"):
        assert not judge.float_output(by_id[exact].case.model()), exact


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
