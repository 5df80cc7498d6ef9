"""The hlsflow command: fast help, clear one-line errors, no overwriting."""
import subprocess
import sys
import time

import pytest

from conftest import jet_tagger_mlp


def hlsflow(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hlsflow", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_help_is_fast_and_lists_verbs():
    start = time.monotonic()
    result = hlsflow("--help")
    assert time.monotonic() - start < 1.0 + 0.5  # interpreter start included; TensorFlow alone takes ~5 s
    assert result.returncode == 0
    for verb in ("convert", "csim", "dump"):
        assert verb in result.stdout


def test_light_commands_do_not_import_tensorflow():
    code = "import sys, hlsflow, hlsflow.cli; hlsflow.cli.build_parser(); print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "jet.h5"
    jet_tagger_mlp().save(path)
    return path


def test_convert_then_csim_from_the_command_line(saved_model, tmp_path):
    out = tmp_path / "prj"
    result = hlsflow("convert", saved_model, "-o", out)
    assert result.returncode == 0, result.stderr
    assert (out / "project.json").is_file()
    result = hlsflow("csim", out)
    assert result.returncode == 0, result.stderr
    assert "csim: 200/200 bit-exact (logits, C only)" in result.stdout


def test_existing_directory_is_not_overwritten(saved_model, tmp_path):
    out = tmp_path / "prj"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    result = hlsflow("convert", saved_model, "-o", out)
    assert result.returncode != 0
    assert "--force" in result.stderr and "Traceback" not in result.stderr
    assert (out / "mine.txt").read_text() == "keep me"
    assert hlsflow("convert", saved_model, "-o", out, "--force").returncode == 0
    assert not (out / "mine.txt").exists() and (out / "project.json").is_file()


def test_missing_model_file_is_one_line(tmp_path):
    result = hlsflow("convert", tmp_path / "nope.h5", "-o", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "nope.h5" in result.stderr


def test_unsupported_layer_names_layer_and_class(tmp_path):
    import tf_keras as keras

    model = keras.Sequential([keras.layers.InputLayer((4, 4, 1)), keras.layers.Conv2DTranspose(2, 3, name="my_deconv")])
    path = tmp_path / "conv.h5"
    model.save(path)
    result = hlsflow("convert", path, "-o", tmp_path / "out")
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line and "my_deconv" in line and "Conv2DTranspose" in line and "QDense" in line
    assert not (tmp_path / "out").exists()
