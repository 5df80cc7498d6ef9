"""What a new user meets first (issue 14): the command line on one's own
models gives one-line errors naming the flag or file, refuses a non-empty
output directory before any work, agrees with itself (profile and check),
warns only about real approximations, shows progress only on a terminal; the
import rule for QKeras scripts; the build cache can be seen, bounded and cleared."""
import os
import pty
import re
import subprocess
import sys
import tomllib

import numpy as np
import pytest

import hlsflow
from conftest import REPO, jet_tagger_mlp


def hlsflow_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "hlsflow", *map(str, args)], capture_output=True, text=True,
                          env=env)


def fully_quantized():
    """Input quantizer, quantized layers, no softmax: every type is set by QKeras."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    keras.utils.set_random_seed(3)
    bits = dict(kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1))
    return keras.Sequential([keras.layers.InputLayer((16,), name="x"),
                             QActivation(quantized_bits(8, 3, alpha=1), name="inq"),
                             QDense(8, name="fc1", **bits), QActivation(quantized_relu(4, 1), name="r1"),
                             QDense(4, name="fc2", **bits), QActivation(quantized_bits(8, 2, alpha=1), name="outq")],
                            name="fq")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_hour")
    fully_quantized().save(root / "fq.h5")
    jet_tagger_mlp().save(root / "jet.h5")
    import tf_keras as keras

    keras.Sequential([keras.Input((16,), name="inputs"), keras.layers.Dense(4, name="fc")]).save(root / "float.h5")
    rng = np.random.default_rng(0)
    np.save(root / "s16.npy", rng.normal(0, 2, (300, 16)).astype(np.float32))
    np.save(root / "s5.npy", rng.normal(0, 2, (300, 5)).astype(np.float32))
    return root


def _one_line_error(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("hlsflow: error: "), line
    for word in words:
        assert word in line, f"{word!r} not in {line!r}"
    return line


def _overflow_columns(text) -> dict:
    """{tensor: "bad/total"} from the last column of profile's or check's table."""
    return {m[1]: m[2] for m in re.finditer(r"^(\S+)[ \t].*?[ \t](\d+/\d+)(?:[ \t].*)?$", text, re.M)}


def test_profile_of_a_fully_quantized_model_prints_its_table_and_plot(files, tmp_path):
    result = hlsflow_cli("profile", files / "fq.h5", "--samples", files / "s16.npy", "--plot", tmp_path / "p.png")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "nothing to calibrate" in result.stdout
    assert (tmp_path / "p.png").stat().st_size > 0


def test_profile_and_check_count_the_same_overflow(files):
    profile = hlsflow_cli("profile", files / "fq.h5", "--samples", files / "s16.npy")
    check = hlsflow_cli("check", files / "fq.h5", "--samples", files / "s16.npy")
    assert profile.returncode == 0 and check.returncode == 0, profile.stderr + check.stderr
    in_profile, in_check = _overflow_columns(profile.stdout), _overflow_columns(check.stdout)
    assert set(in_check) <= set(in_profile)
    assert in_check == {t: in_profile[t] for t in in_check}
    assert in_check["r1"] != "0/2400"  # the quantized_relu saturates: both say so


def test_a_fully_quantized_model_converts_without_warnings(files, tmp_path):
    result = hlsflow_cli("convert", files / "fq.h5", "-o", tmp_path / "prj")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower(), result.stderr


def test_data_free_warning_is_one_line_naming_the_real_input_type(files, tmp_path):
    result = hlsflow_cli("convert", files / "jet.h5", "-o", tmp_path / "prj")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hlsflow: warning: "), result.stderr
    assert "--samples" in lines[0] and ".py" not in lines[0]
    real = hlsflow.load_project(tmp_path / "prj").graph.tensors["inputs"].type
    assert f"input 'inputs' {real}" in lines[0]


@pytest.mark.parametrize("verb", ["convert", "profile", "check", "quantize"])
def test_samples_of_the_wrong_shape_give_one_line(files, tmp_path, verb):
    extra = {"convert": ["-o", tmp_path / "prj"], "quantize": ["-o", tmp_path / "q.h5"]}.get(verb, [])
    model = files / ("float.h5" if verb == "quantize" else "jet.h5")
    result = hlsflow_cli(verb, model, "--samples", files / "s5.npy", *extra)
    _one_line_error(result, "--samples", "s5.npy", "(300, 5)", "(N, 16)")


def test_samples_of_the_wrong_shape_from_python(files, tmp_path):
    from hlsflow.errors import OptionError

    model = hlsflow.load_model(files / "jet.h5")
    with pytest.raises(OptionError, match=r"samples: shape \(300, 5\) does not fit input 'inputs': expected \(N, 16\)"):
        hlsflow.convert(model, tmp_path / "prj", samples=np.load(files / "s5.npy"))
    project = hlsflow.convert(model, tmp_path / "prj")
    with pytest.raises(OptionError, match=r"x: shape \(2, 5\)"):
        project.emulate(np.zeros((2, 5)))


def test_non_empty_output_directory_is_refused_before_any_conversion_work(files, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    code = ("import sys, hlsflow.cli\n"
            f"code = hlsflow.cli.main(['convert', {str(files / 'jet.h5')!r}, '-o', {str(out)!r}])\n"
            "print(code, 'tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["2", "False"], result.stdout + result.stderr  # refused, TensorFlow never loaded
    assert "mine: directory is not empty (use --force, or force=True in Python, to replace it)" in result.stderr
    assert (out / "notes.txt").read_text() == "keep"


def test_errors_name_the_flag_the_user_typed(files, tmp_path):
    line = _one_line_error(hlsflow_cli("quantize", files / "jet.h5", "-w", "0", "-o", tmp_path / "q.h5"), "-w 0:")
    assert "weight_bits" not in line
    line = _one_line_error(hlsflow_cli("quantize", files / "jet.h5", "--activation-bits=1", "-o", tmp_path / "q.h5"),
                           "--activation-bits 1:")
    assert "activation_bits" not in line


def test_import_hlsflow_first_makes_qkeras_work_in_ones_own_script(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    script = ("import os, sys\n"
              "import hlsflow\n"
              "assert 'tensorflow' not in sys.modules and os.environ['TF_USE_LEGACY_KERAS'] == '1'\n"
              "import tensorflow as tf\n"
              "from qkeras import QDense, quantized_bits\n"
              "model = tf.keras.Sequential([tf.keras.Input((4,)), QDense(2, kernel_quantizer=quantized_bits(4, 0, "
              "alpha=1), name='fc')])\n"
              f"hlsflow.convert(model, {str(tmp_path / 'prj')!r})\n"
              "print('ok')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "ok", result.stderr[-3000:]


def test_tensorflow_imported_first_gives_the_fix_in_one_line(files):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    script = ("import keras\n"  # Keras 3 first: TensorFlow is imported with Keras 3 as tf.keras
              "import hlsflow\n"
              "try:\n"
              f"    hlsflow.load_model({str(files / 'jet.h5')!r})\n"
              "except hlsflow.HlsflowError as exc:\n"
              "    print(exc)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    line = result.stdout.strip()
    assert "\n" not in line and "import hlsflow before tensorflow" in line and "TF_USE_LEGACY_KERAS=1" in line, \
        result.stdout + result.stderr[-2000:]


def _on_a_terminal(args) -> str:
    """What `hlsflow ARGS` shows on a terminal (a pseudo-terminal for stdout and stderr)."""
    main, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "hlsflow", *map(str, args)], stdout=secondary,
                               stderr=secondary, stdin=subprocess.DEVNULL, env=dict(os.environ, COLUMNS="120"))
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait()
    os.close(main)
    return b"".join(chunks).decode(errors="replace")


def test_progress_shows_on_a_terminal_and_nowhere_else(files, tmp_path):
    args = ["convert", files / "jet.h5", "-o", tmp_path / "a", "--samples", files / "s16.npy"]
    shown = _on_a_terminal(args)
    for step in ("loading TensorFlow", "loading jet.h5", "calibrating types on 300 samples", "writing"):
        assert f"hlsflow: {step}" in shown, shown[-2000:]
    assert "hlsflow: wrote" in shown
    piped = hlsflow_cli(*args[:3], tmp_path / "b", *args[4:])
    assert piped.returncode == 0
    assert piped.stderr == "", piped.stderr  # no progress, no noise


def test_build_cache_is_shown_bounded_and_cleared(files, tmp_path, monkeypatch):
    from hlsflow.backend import cache

    env = dict(os.environ, HLSFLOW_CACHE_DIR=str(tmp_path / "cache"))
    assert hlsflow_cli("convert", files / "jet.h5", "-o", tmp_path / "prj", env=env).returncode == 0
    assert hlsflow_cli("csim", tmp_path / "prj", env=env).returncode == 0
    shown = hlsflow_cli("cache", env=env)
    assert shown.returncode == 0 and str(tmp_path / "cache") in shown.stdout and "--clear" in shown.stdout
    megabytes = float(re.search(r"([\d.]+) MB in (\d+) files", shown.stdout)[1])
    assert megabytes > 0
    # bounded: beyond the limit, the least recently used libraries go first
    old, new = tmp_path / "cache" / "old-0.so", tmp_path / "cache" / "new-0.so"
    for path, age in ((old, 1000), (new, 0)):
        path.write_bytes(b"\0" * 2 ** 20)
        os.utime(path, (path.stat().st_atime - age, path.stat().st_mtime - age))
    monkeypatch.setenv("HLSFLOW_CACHE_DIR", env["HLSFLOW_CACHE_DIR"])
    held, _ = cache.usage()
    cache.prune(held - 1)
    assert not old.exists() and new.exists()
    cleared = hlsflow_cli("cache", "--clear", env=env)
    assert cleared.returncode == 0 and "removed" in cleared.stdout
    assert not (tmp_path / "cache").exists()


def test_every_templates_folder_is_a_listed_package():
    """setuptools warns (40 lines each) about package folders missing from `packages`."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    folders = {"hlsflow.templates" + "".join(f".{part}" for part in p.relative_to(REPO / "templates").parts)
               for p in (REPO / "templates").rglob("*") if p.is_dir() and "__pycache__" not in p.parts}
    assert folders <= listed, sorted(folders - listed)
    assert all(name in config["package-data"] for name in folders)
