"""Bad input gets one clear line and a non-zero exit; the user's files are never
damaged. Runs the CLI in-process (hlsflow.cli.main) to share one TensorFlow."""
import json
import os

import numpy as np
import pytest

import hlsflow
from conftest import jet_tagger_mlp
from hlsflow.cli import main


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "jet.h5"
    jet_tagger_mlp().save(path)
    return path


def run(capsys, *args):
    """(exit code, stderr) of the CLI; asserts the error is one line with no traceback."""
    code = main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    if code:
        errors = [line for line in err.splitlines() if "error" in line]
        assert len(errors) == 1 and errors[0] == err.splitlines()[-1] and "Traceback" not in err, err
        err = errors[0]
    return code, err


def _files(root):
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("content,expected", [
    (None, "no such model file"),
    (b"", "file is empty"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 20, "not a readable Keras model"),  # truncated HDF5
    (b'{"hello": 1}', "not a readable Keras model"),
])
def test_bad_model_files(capsys, tmp_path, content, expected):
    path = tmp_path / ("model.json" if content and content.startswith(b"{") else "model.h5")
    if content is not None:
        path.write_bytes(content)
    (tmp_path / "model_weights.h5").write_bytes(b"")
    before = _files(tmp_path)
    code, err = run(capsys, "convert", path, "-o", tmp_path / "out")
    assert code == 2 and expected in err and path.name in err
    assert _files(tmp_path) == before


@pytest.mark.parametrize("args,expected", [
    (["--backend", "quartus"], "--backend"),
    (["--io", "serial"], "--io"),
    (["--part", "not a part; rm -rf /"], "--part"),
    (["--clock-period", "-3"], "--clock-period"),
    (["--reuse-factor", "-3"], "reuse factor -3 must be a positive integer"),
    (["--reuse-factor", "0"], "reuse factor 0 must be a positive integer"),
    (["--strategy", "fastest"], "--strategy"),
])
def test_bad_option_values(capsys, tmp_path, model_file, args, expected):
    with pytest.raises(SystemExit) if args[0] in ("--backend", "--io", "--strategy") else _no_exit() as caught:
        code, err = run(capsys, "convert", model_file, "-o", tmp_path / "out", *args)
    if caught is not None and getattr(caught, "value", None) is not None:
        code, err = caught.value.code, capsys.readouterr().err.strip()
    assert code == 2 and expected in err, err
    assert not (tmp_path / "out").exists()


class _no_exit:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_malformed_samples_and_config(capsys, tmp_path, model_file):
    (tmp_path / "s.npy").write_text("not numpy")
    (tmp_path / "c.json").write_text("{broken")
    code, err = run(capsys, "convert", model_file, "-o", tmp_path / "a", "--samples", tmp_path / "s.npy")
    assert code == 2 and "--samples" in err and "s.npy" in err
    code, err = run(capsys, "convert", model_file, "-o", tmp_path / "b", "--config", tmp_path / "c.json")
    assert code == 2 and "--config" in err and "c.json" in err
    (tmp_path / "c.json").write_text(json.dumps({"input_typ": "ap_fixed<8,3>"}))
    code, err = run(capsys, "convert", model_file, "-o", tmp_path / "c", "--config", tmp_path / "c.json")
    assert code == 2 and "input_typ" in err
    (tmp_path / "c.json").write_text(json.dumps({"input_type": "ap_fixed<8"}))
    code, err = run(capsys, "convert", model_file, "-o", tmp_path / "d", "--config", tmp_path / "c.json")
    assert code == 2 and "input_type" in err


def test_unsupported_quantizer_names_layer(capsys, tmp_path):
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits

    model = keras.Sequential([keras.layers.InputLayer((4,)),
                              QActivation(quantized_bits(8, 0, alpha="auto", symmetric=1), name="auto_act")])
    path = tmp_path / "m.h5"
    model.save(path)
    code, err = run(capsys, "convert", path, "-o", tmp_path / "out")
    assert code == 2 and "auto_act" in err and "alpha" in err


def test_not_a_project(capsys, tmp_path):
    for verb in ("csim", "report", "dump"):
        code, err = run(capsys, verb, tmp_path)
        assert code == 2 and "not an hlsflow project" in err


def test_missing_compiler_is_a_clear_error(capsys, tmp_path, model_file, monkeypatch):
    assert run(capsys, "convert", model_file, "-o", tmp_path / "p")[0] == 0
    capsys.readouterr()
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setenv("HLSFLOW_CACHE_DIR", str(tmp_path / "cache"))
    code, err = run(capsys, "csim", tmp_path / "p")
    assert code == 2 and "no-such-compiler" in err and "not found" in err


def test_failing_compiler_points_to_its_log(capsys, tmp_path, model_file, monkeypatch):
    assert run(capsys, "convert", model_file, "-o", tmp_path / "p")[0] == 0
    capsys.readouterr()
    (tmp_path / "p" / "firmware" / "jet_tagger.cpp").write_text("this is not C++\n")
    monkeypatch.setenv("HLSFLOW_CACHE_DIR", str(tmp_path / "cache"))
    code, err = run(capsys, "csim", tmp_path / "p")
    assert code == 2 and "failed" in err and "compile.log" in err
    assert (tmp_path / "p" / "build" / "compile.log").read_text().count("error") > 0


def test_interrupted_convert_keeps_the_old_project(tmp_path, monkeypatch):
    model = jet_tagger_mlp()
    out = tmp_path / "prj"
    hlsflow.convert(model, out)
    before = _files(out)
    from hlsflow.backend import writer

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "problems", broken)
    with pytest.raises(KeyboardInterrupt):
        hlsflow.convert(model, out, force=True, config={"reuse_factor": 2})
    assert _files(out) == before
    assert sorted(os.listdir(tmp_path)) == ["prj"]  # no temporary directories left behind


def test_hostile_layer_names_stay_inside_the_project(tmp_path):
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    names = ["class", "1st", "x-y.z", "int"]  # Keras itself refuses spaces, quotes and semicolons
    model = keras.Sequential([keras.layers.InputLayer((4,), name="main"),
                              QDense(3, kernel_quantizer=quantized_bits(4, 0, alpha=1), name=names[0]),
                              QActivation(quantized_relu(4, 1), name=names[1]),
                              QDense(2, kernel_quantizer=quantized_bits(4, 0, alpha=1), name=names[2]),
                              QActivation(quantized_relu(4, 1), name=names[3])], name="new")
    project = hlsflow.convert(model, tmp_path / "prj")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(str(p).startswith(str(tmp_path / "prj")) for p in written)
    x = np.random.default_rng(0).normal(size=(64, 4)) * 4
    keras_out = model.predict(project.cast_inputs(x).astype(np.float32), verbose=0)
    assert np.array_equal(project.predict(x), keras_out)
    assert np.array_equal(project.emulate(x), keras_out)


def test_cache_size_survives_builds_removing_their_work_folders(tmp_path, monkeypatch):
    """Two builds at once (parallel conversions, sweep workers): one measures the
    cache while the other removes its temporary work folder; that must not fail."""
    import shutil
    import threading

    from hlsflow.backend import cache

    monkeypatch.setenv("HLSFLOW_CACHE_DIR", str(tmp_path))
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            work = tmp_path / "model-work" / "a" / "b"
            work.mkdir(parents=True, exist_ok=True)
            (work / "unit.o").write_bytes(b"x" * 100)
            shutil.rmtree(tmp_path / "model-work", ignore_errors=True)

    (tmp_path / "lib.so").write_bytes(b"y" * 1000)
    other = threading.Thread(target=churn)
    other.start()
    try:
        for _ in range(3000):
            held, files = cache.usage()
            assert held >= 1000 and files >= 1
    finally:
        stop.set()
        other.join()
