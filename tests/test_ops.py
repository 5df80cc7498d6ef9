"""Element-wise and layout ops: ThresholdedReLU compared in fixed point, and
every computing op's C++ agreeing with the emulator when its output type is
chosen (config or calibration) rather than derived by its type rule."""
import re

import numpy as np
import pytest

import hlsflow
from conftest import check_outputs_bit_exact

IO_TYPES = ["io_parallel", "io_stream"]


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_thresholded_relu_compares_in_fixed_point(io_type, tmp_path):
    """theta between two grid values, on a grid value, and outside the range:
    bit-exact with QKeras, and no double in the generated firmware."""
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits

    inp = keras.Input((12,), name="x_in")
    q = QActivation(quantized_bits(6, 2), name="q_in")(inp)
    outs = [keras.layers.ThresholdedReLU(theta, name=f"thr{k}")(q) for k, theta in enumerate((0.3, 0.5, 9.0, 0.0))]
    model = keras.Model(inp, outs)
    x = np.random.default_rng(0).uniform(-5, 5, (400, 12)).astype(np.float32)
    project = hlsflow.convert(model, tmp_path / "prj", io_type=io_type)
    check_outputs_bit_exact(model, project, x)
    firmware = (tmp_path / "prj" / "firmware" / f"{project.name}.cpp").read_text()
    firmware += (tmp_path / "prj" / "firmware" / "nnet" / "nnet_common.h").read_text()
    assert not re.search(r"\b(double|float)\b", firmware)
