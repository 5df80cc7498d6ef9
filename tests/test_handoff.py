"""Synthesis handoff: reuse factor / strategy, the estimate report, the
synthesizability lint, and the vendor-tool targets."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import hlsflow
from conftest import jet_tagger_mlp, stress_inputs
from hlsflow.backend.lint import lint_project, problems
from hlsflow.backend.report import csd_digits, estimate, format_report, read_csynth
from hlsflow.errors import OptionError
from hlsflow.project import keras_logits

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def model():
    return jet_tagger_mlp()


def test_resource_strategy_is_bit_exact(model, tmp_path):
    config = {"layers": {"fc1": {"reuse_factor": 8}, "fc2": {"strategy": "resource", "reuse_factor": 1}}}
    project = hlsflow.convert(model, tmp_path / "rf", config=config)
    assert project.graph.node("fc1").attrs["strategy"] == "resource"
    assert "BIND_STORAGE variable=fc1_w type=rom_1p" in (project.directory / "firmware" / "jet_tagger.cpp").read_text()
    x = stress_inputs(np.random.default_rng(5), 500, (16,), 32)
    logits = project.predict(x, logits=True)
    assert np.array_equal(logits, project.emulate(x, logits=True))
    assert np.array_equal(logits, keras_logits(model, [project.cast_inputs(x).astype(np.float32)]))


def test_reuse_factor_that_does_not_divide_the_work_is_replaced(model, tmp_path):
    """Like hls4ml: the nearest divisor of the layer's multiplications (the
    smaller of two equally near), with a warning; the report and the C++ use it."""
    with pytest.warns(UserWarning, match=r"^layer 'fc1': reuse factor 7 does not divide its 1024 multiplications; "
                                         r"using 8, the nearest that does$"):
        project = hlsflow.convert(model, tmp_path / "rf7", config={"layers": {"fc1": {"reuse_factor": 7}}})
    assert project.graph.node("fc1").attrs["reuse_factor"] == 8
    assert next(r for r in estimate(project.graph, 5.0)["rows"] if r["layer"] == "fc1")["reuse"] == 8
    assert "static const int reuse = 8;" in (project.directory / "firmware" / "parameters.h").read_text()
    with pytest.warns(UserWarning, match="reuse factor 3 does not divide its 1024 multiplications; using 2,"):
        graph = hlsflow.project.typed_graph(model, config={"layers": {"fc1": {"reuse_factor": 3}}})[1]
    assert graph.node("fc1").attrs["reuse_factor"] == 2  # 2 and 4 are equally near: the smaller
    for bad in (0, -1, 2.5, True):
        with pytest.raises(OptionError, match=rf"'fc1': reuse factor {bad!r} must be a positive integer"):
            hlsflow.convert(model, tmp_path / "bad", config={"layers": {"fc1": {"reuse_factor": bad}}})
    assert not (tmp_path / "bad").exists()


def test_csd_digits():
    assert list(csd_digits(np.array([0, 1, 2, 3, 7, -7, 0.75, 5]), 2)) == [0, 1, 1, 2, 2, 2, 2, 2]


def _qdense_model(kernel_quantizer, zero_fraction=0.0):
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.layers.InputLayer((12,)), QActivation(quantized_bits(8, 3, alpha=1)),
                              QDense(10, kernel_quantizer=kernel_quantizer, use_bias=False, name="d")])
    if zero_fraction:
        w = model.layers[-1].kernel.numpy()
        w[np.random.default_rng(0).random(w.shape) < zero_fraction] = 0
        model.layers[-1].kernel.assign(w)
    return model


@pytest.mark.parametrize("quantizer", ["binary(alpha=1)", "ternary(alpha=1)", "quantized_po2(4)"])
def test_binary_ternary_po2_weights_need_no_multipliers(quantizer, tmp_path):
    from qkeras.quantizers import get_quantizer

    from hlsflow.frontend.keras import to_graph
    from hlsflow.passes import run_passes

    graph = run_passes(to_graph(_qdense_model(get_quantizer(quantizer))))
    row = estimate(graph, 5.0)["rows"][0]
    assert row["lut_multipliers"] == 0 and row["dsp"] == 0
    assert row["shift_or_add"] + row["zero"] == row["multiplications"] == 120


def test_pruned_weights_are_counted_as_zero():
    from qkeras import quantized_bits

    from hlsflow.frontend.keras import to_graph
    from hlsflow.passes import run_passes

    graph = run_passes(to_graph(_qdense_model(quantized_bits(8, 0, alpha=1), zero_fraction=0.7)))
    row = estimate(graph, 5.0)["rows"][0]
    assert row["zero"] == int(np.sum(graph.node("d").params["weight"] == 0)) > 60


def test_report_of_jet_mlp_with_synthesis_fixture(model, tmp_path):
    project = hlsflow.convert(model, tmp_path / "jet")
    shutil.copy(DATA / "csynth.xml", project.directory / "jet_tagger_csynth.xml")
    result = estimate(project.graph, 5.0)
    assert result["total"]["multiplications"] == 4256 and result["total"]["ii"] == 1
    text = format_report(result, read_csynth(project.directory))
    assert "synthesis" in text and "63872" in text and "uncertainty +-50%" in text
    cli = subprocess.run(["python", "-m", "hlsflow", "report", str(project.directory)], capture_output=True,
                         text=True)
    assert cli.returncode == 0 and "total" in cli.stdout and "14" in cli.stdout
    assert problems(project.directory, "vitis") == []
    vivado = hlsflow.convert(model, tmp_path / "jet_vivado", backend="vivado")
    assert problems(vivado.directory, "vivado") == []
    assert lint_project(vivado.directory, "vitis")  # Vivado spelling is wrong for Vitis


def test_lint_finds_each_problem(tmp_path):
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    (firmware / "bad.cpp").write_text(
        "#include <vector>\n"
        "int f(int n) { return n ? f(n - 1) : 0; }\n"
        "void g(int n, int *y) {\n"
        "#pragma HLS INTERFACE ap_vld port=y\n"
        "#pragma HLS PIPELIN\n"
        "    int *p = new int[4];\n"
        "    for (int i = 0; i < n; i++) y[i] = p[i];\n"
        "    while (n) n--;\n"
        "}\n")
    problems = "\n".join(lint_project(tmp_path, "vitis"))
    for what in ("dynamic memory", "non-synthesizable header", "recursive", "loop bound is not static",
                 "loop without a static bound", "unknown HLS pragma PIPELIN", "not spelled for vitis"):
        assert what in problems, what


def test_vendor_targets_explain_missing_tools(model, tmp_path):
    project = hlsflow.convert(model, tmp_path / "jet")
    if shutil.which("vitis_hls"):
        pytest.skip("vitis_hls is installed here")
    result = subprocess.run(["make", "-C", str(project.directory), "synth"], capture_output=True, text=True)
    assert result.returncode != 0 and "vitis_hls is not on PATH" in result.stdout
    tcl = (project.directory / "build_prj.tcl").read_text()
    for step in ("csim_design", "csynth_design", "cosim_design", "export_design", "vivado_synth.tcl"):
        assert step in tcl
    assert "xcvu9p" in (project.directory / "vivado_synth.tcl").read_text()


def test_part_names_with_low_power_speed_grades_are_accepted():
    from hlsflow.backend.writer import check_settings

    assert check_settings("vitis", "xcvu9p-flga2104-2L-e", 5.0)["part"] == "xcvu9p-flga2104-2L-e"
    with pytest.raises(OptionError, match="--part"):
        check_settings("vitis", "XCVU9P; rm", 5.0)
