"""A non-editable install (wheel) in a fresh venv finds its templates, converts
and runs csim; converting twice gives byte-identical projects."""
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np

import hlsflow
from conftest import REPO, jet_tagger_mlp


def _tree(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_model_twice_gives_identical_projects(tmp_path):
    model = jet_tagger_mlp()
    a = hlsflow.convert(model, tmp_path / "a").directory
    b = hlsflow.convert(model, tmp_path / "b").directory
    assert _tree(a) == _tree(b)


def test_wheel_install_in_fresh_venv_converts_and_csims(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheel_dir), str(REPO)], check=True, capture_output=True)
    (wheel,) = wheel_dir.glob("hlsflow-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    # dependencies (TensorFlow, QKeras, hls4ml) come from this interpreter's site-packages
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", purelib, str(wheel)],
                   check=True, capture_output=True)
    model_path = tmp_path / "jet.h5"
    jet_tagger_mlp().save(model_path)
    script = (
        "import hlsflow, numpy as np, sys\n"
        f"assert hlsflow.__file__.startswith({purelib!r}), hlsflow.__file__\n"
        f"p = hlsflow.convert({str(model_path)!r}, {str(tmp_path / 'prj')!r})\n"
        "lines, ok = p.csim(progress=False)\n"
        "print('\\n'.join(lines)); sys.exit(0 if ok else 1)\n"
    )
    result = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "csim: 200/200 bit-exact (logits, C only)" in result.stdout
