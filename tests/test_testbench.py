"""The testbench's verdict rests on what the top function outputs (the RTL in
co-simulation): a top that writes zeros fails `make csim` and `hlsflow csim`;
inexact outputs are held to the tolerance stated at conversion; `make csim`
builds the firmware as the HLS tools do; --top names the top function."""
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import hlsflow
from conftest import jet_tagger_mlp, make_csim
from hlsflow.backend import csim
from hlsflow.errors import OptionError
from hlsflow.project import Project


def quantized_mlp():
    """A QKeras MLP without softmax: every output exact."""
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    keras.utils.set_random_seed(4)
    return keras.Sequential([keras.layers.InputLayer((10,)), QActivation(quantized_bits(8, 3, alpha=1)),
                             QDense(12, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="d1"),
                             QActivation(quantized_relu(6, 2)),
                             QDense(3, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="d2")], name="qmlp")


def float_mlp():
    """A plain Keras MLP: its outputs are computed in float by Keras, so inexact."""
    import tf_keras as keras

    keras.utils.set_random_seed(5)
    return keras.Sequential([keras.layers.InputLayer((8,)), keras.layers.Dense(6, activation="relu"),
                             keras.layers.Dense(2)], name="float_mlp")


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb")
    with pytest.warns(UserWarning):
        return {
            "jet": hlsflow.convert(jet_tagger_mlp(), root / "jet"),
            "qmlp_stream": hlsflow.convert(quantized_mlp(), root / "qmlp", backend="vivado", io_type="io_stream"),
            "float": hlsflow.convert(float_mlp(), root / "float", input_range=4.0),
        }


def hlsflow_csim(directory):
    result = subprocess.run([sys.executable, "-m", "hlsflow", "csim", str(directory)], capture_output=True,
                            text=True)
    return result.returncode, result.stdout


def zeroed_copy(project, tmp_path) -> Project:
    """A copy of the project whose top function writes zeros (and reads its inputs)."""
    directory = tmp_path / project.directory.name
    shutil.copytree(project.directory, directory, ignore=shutil.ignore_patterns("build"))
    source = directory / "firmware" / f"{project.name}.cpp"
    text = source.read_text()
    head = re.search(rf"^void {project.name}\((.*)\) {{\n", text, re.M)
    graph = project.graph
    if project.graph.meta["project"]["io_type"] == "io_stream":
        ports = re.findall(r"hls::stream<(.+?)\s*> &(\w+)", head.group(1))  # (beat type, name)

        def beats(k, t):  # how many beats of how many values port k carries
            width = re.fullmatch(r"nnet::array<.+, (\d+)>", ports[k][0])
            return graph.tensors[t].size // int(width.group(1)) if width else graph.tensors[t].size, width
        body = "".join(f"    for (int i = 0; i < {beats(k, t)[0]}; i++) {ports[k][1]}.read();\n"
                       for k, t in enumerate(graph.inputs))
        for k, t in enumerate(graph.outputs, len(graph.inputs)):
            count, width = beats(k, t)
            zero = f"{{ {ports[k][0]} b; for (int j = 0; j < {width.group(1)}; j++) b[j] = 0; " \
                   f"{ports[k][1]}.write(b); }}" if width else f"{ports[k][1]}.write(0);"
            body += f"    for (int i = 0; i < {count}; i++) {zero}\n"
    else:
        ids = re.findall(r"(\w+)\[\d+\]", head.group(1))
        body = "".join(f"    for (int i = 0; i < {graph.tensors[t].size}; i++) {ids[len(graph.inputs) + k]}[i] = 0;\n"
                       for k, t in enumerate(graph.outputs))
    source.write_text(text[:head.end()] + body + "    return;\n" + text[head.end():])
    return Project.load(directory)


@pytest.mark.parametrize("name", ["jet", "qmlp_stream"])
def test_a_top_that_writes_zeros_fails(projects, name, tmp_path):
    """With a final softmax the logits (C only) still match Keras; the verdict fails on the top's outputs."""
    zeroed = zeroed_copy(projects[name], tmp_path)
    code, output = make_csim(zeroed.directory)
    assert code != 0 and "csim: 0/200 match the C model bit for bit" in output, output
    if name == "jet":
        assert "csim: 200/200 bit-exact (logits, C only)" in output
        assert re.search(r"probabilities within 0\.\d+ of Keras \(tolerance 0\.00\d\)", output)
    else:
        assert "csim: 0/200 bit-exact\n" in output
    lines, ok = zeroed.csim(progress=False)
    assert not ok and all(line in output for line in lines), (lines, output)
    code, printed = hlsflow_csim(zeroed.directory)
    assert code == 1 and printed.splitlines() == lines


def test_exact_outputs_pass_bit_for_bit(projects):
    project = projects["qmlp_stream"]
    code, output = make_csim(project.directory)
    assert code == 0, output
    assert output.splitlines()[-2:] == ["csim: 200/200 bit-exact", "csim: 200/200 match the C model bit for bit"]
    assert project.csim(progress=False) == (output.splitlines()[-2:], True)


def test_float_model_states_its_error_and_tolerance(projects):
    project = projects["float"]
    tolerance = project.graph.meta["project"]["tolerance"]
    out = project.graph.outputs[0]
    assert list(tolerance) == [out] and tolerance[out] > 0
    code, output = make_csim(project.directory)
    m = re.search(r"csim: outputs within ([\d.e-]+) of Keras \(tolerance ([\d.e-]+)\), argmax agreement (\d+)/200",
                  output)
    assert code == 0 and m, output
    assert float(m.group(1)) <= float(m.group(2)) == tolerance[out]
    keras = np.loadtxt(project.directory / "tb_data" / "outputs.txt")
    emulated = np.loadtxt(project.directory / "tb_data" / "emulated.txt")
    assert float(m.group(1)) == float("%.3g" % np.max(np.abs(keras - emulated)))  # what the C model achieves
    assert "csim: 200/200 match the C model bit for bit" in output
    lines, ok = project.csim(progress=False)
    assert ok and lines == [line for line in output.splitlines() if line.startswith("csim:")]


def test_outside_the_tolerance_fails(projects, tmp_path):
    """Keras's reference moved by twice the tolerance on one value: the C model's bits
    still match, the verdict fails."""
    project = projects["float"]
    directory = tmp_path / "moved"
    shutil.copytree(project.directory, directory, ignore=shutil.ignore_patterns("build"))
    reference = np.loadtxt(directory / "tb_data" / "outputs.txt")
    reference[7, 1] += 2 * project.graph.meta["project"]["tolerance"][project.graph.outputs[0]]
    (directory / "tb_data" / "outputs.txt").write_text("".join(" ".join(repr(float(v)) for v in row) + "\n"
                                                               for row in reference))
    code, output = make_csim(directory)
    assert code != 0 and "csim: 200/200 match the C model bit for bit" in output, output
    lines, ok = Project.load(directory).csim(progress=False)
    assert not ok and all(line in output for line in lines)


def test_tolerance_is_a_rounded_up_margin_over_the_c_models_error():
    assert csim.tolerance(0.0123, 2.0 ** -15) == 0.02
    assert csim.tolerance(0.0, 2.0 ** -15) == 5e-05  # one quantum at least
    assert csim.tolerance(0.3, 2.0 ** -8) == 0.5
    assert csim.tolerance(0.002, 2.0 ** -15) == 0.003


def test_verdict_from_row_comparisons():
    rows = csim.Rows(keras_exact=np.array([True, True]), model_exact=np.array([True, False]),
                     errors={"probabilities": np.array([0.001, 0.002])},
                     argmax_same={"probabilities": np.array([True, False])}, logits_exact=np.array([True, True]))
    lines, ok = csim.verdict(rows, {"probabilities": 0.004}, any_exact=False)
    assert not ok and lines == ["csim: probabilities within 0.002 of Keras (tolerance 0.004), argmax agreement 1/2",
                                "csim: 1/2 match the C model bit for bit", "csim: 2/2 bit-exact (logits, C only)"]
    rows.model_exact[:] = True
    assert csim.verdict(rows, {"probabilities": 0.004}, any_exact=False)[1]
    assert not csim.verdict(rows, {"probabilities": 0.0015}, any_exact=False)[1]


def test_make_csim_compiles_the_firmware_as_the_tools_do(projects):
    """Separate units, the tool's C++ standard, and the weights as the firmware
    declares them (static const arrays), not the fast build's heap pointers."""
    for name, std in (("jet", "c++14"), ("qmlp_stream", "c++0x")):
        directory = projects[name].directory
        commands = subprocess.run(["make", "-n", "-B", "-C", str(directory), "build/csim"], capture_output=True,
                                  text=True).stdout
        assert f"-std={std}" in commands and "HLSFLOW" not in commands and "hlsflow_csim" not in commands
        compile_firmware = next(line for line in commands.splitlines() if "firmware/" in line and " -c " in line)
        flags = compile_firmware.split(" -c ")[0].split()[1:]
        expanded = subprocess.run(["g++", *flags, "-E", f"firmware/{projects[name].name}.cpp"], cwd=directory,
                                  capture_output=True, text=True).stdout
        assert re.search(r"static const d1_weight_t d1_w\[120\] =|static const fc1_weight_t fc1_w\[1024\] =",
                         expanded)
        assert "hlsflow_from_doubles" not in expanded


def test_vivado_backend_compiles_with_cxx0x(projects, tmp_path):
    """Vivado HLS 2020.1 compiles with -std=c++0x: whatever firmware and testbench
    are generated must too (g++'s C++11 front end stands in for it)."""
    project = hlsflow.convert(jet_tagger_mlp(), tmp_path / "jet_vivado", backend="vivado")
    for directory in (project.directory, projects["qmlp_stream"].directory):
        sources = sorted(map(str, (directory / "firmware").glob("*.cpp"))) + sorted(map(str, (directory / "tb").glob(
            "*_test.cpp")))
        result = subprocess.run(["g++", "-std=c++0x", "-fsyntax-only", "-Ifirmware", "-Ifirmware/ap_types", *sources],
                                cwd=directory, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr[-2000:]


def test_top_names_the_top_function_and_two_ips_coexist(tmp_path):
    model = quantized_mlp()
    a = hlsflow.convert(model, tmp_path / "a", top="ip_a", io_type="io_stream")
    b = hlsflow.convert(model, tmp_path / "b", config={"top": "ip_b"}, io_type="io_stream")
    assert (a.name, b.name) == ("ip_a", "ip_b")
    assert "set_top ip_a" in (a.directory / "build_prj.tcl").read_text()
    assert "-top ip_b" in (b.directory / "vivado_synth.tcl").read_text()
    assert (b.directory / "firmware" / "ip_b.cpp").is_file() and (b.directory / "tb" / "ip_b_test.cpp").is_file()
    code, output = make_csim(b.directory)
    assert code == 0 and "csim: 200/200 bit-exact" in output, output
    # both firmwares in one program: no symbol collides
    main = tmp_path / "both.cpp"
    main.write_text('#include "hls_stream.h"\n#include "ap_fixed.h"\n'
                    "void ip_a(hls::stream<ap_fixed<8,4> > &, hls::stream<ap_fixed<8,4> > &);\nint main() { return 0; }\n")
    objects = []
    for project in (a, b):
        obj = tmp_path / f"{project.name}.o"
        subprocess.run(["g++", "-std=c++14", "-c", f"-I{project.directory}/firmware",
                        f"-I{project.directory}/firmware/ap_types", str(project.directory / "firmware" / f"{project.name}.cpp"),
                        "-o", str(obj)], check=True)
        objects.append(str(obj))
    linked = subprocess.run(["g++", "-std=c++14", f"-I{a.directory}/firmware/ap_types", str(main), *objects,
                             "-o", str(tmp_path / "both")], capture_output=True, text=True)
    assert linked.returncode == 0, linked.stderr[-2000:]


@pytest.mark.parametrize("top", ["1st", "int", "ap_top", "a-b", ""])
def test_unusable_top_names_are_refused(top, tmp_path):
    with pytest.raises(OptionError, match="--top"):
        hlsflow.convert(quantized_mlp(), tmp_path / "x", top=top)
    assert not (tmp_path / "x").exists()


def test_top_on_the_command_line(tmp_path):
    path = tmp_path / "q.h5"
    quantized_mlp().save(path)
    result = subprocess.run([sys.executable, "-m", "hlsflow", "convert", str(path), "-o", str(tmp_path / "p"),
                             "--top", "my_ip"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "p" / "firmware" / "my_ip.cpp").is_file()
