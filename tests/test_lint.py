"""The synthesizability lint: each problem class is caught in a small
firmware snippet, a clean snippet and the generated projects pass, the tcl
scripts use only documented commands and options, and `hlsflow lint`."""
import subprocess
import sys

import pytest

import hlsflow
from conftest import jet_tagger_mlp
from hlsflow.backend import documented
from hlsflow.backend.lint import KINDS, problems, tcl_problems

HEADER = """#include "ap_fixed.h"
typedef ap_fixed<8,3> data_t;
typedef ap_fixed<24,10> acc_t;
"""
# Pragmas as each tool documents them: the partition type and the interface mode.
SPELLING = {"vitis": {"complete": "type=complete", "mode": "mode="},
            "vivado": {"complete": "complete", "mode": ""}}

# Every construct the instance checks follow: a template layer unrolled
# inside, a layer folded by a pipelined loop (II=1, RF iterations) indexing
# with % and / by N_OUT, arrays partitioned, constant weights.
CLEAN = HEADER + """
template <class T, int N>
void relu(const T x[N], T y[N]) {
#pragma HLS INLINE
    for (int i = 0; i < N; i++) {
#pragma HLS UNROLL
        y[i] = x[i] > 0 ? x[i] : T(0);
    }
}

template <int N_IN, int N_OUT, int RF>
void folded(const data_t x[N_IN], acc_t y[N_OUT], const data_t w[N_IN * N_OUT]) {
    const int MULT = N_IN * N_OUT / RF;
    acc_t acc[N_OUT];
#pragma HLS ARRAY_PARTITION variable=acc {complete}
    for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
        acc[j] = 0;
    }
    for (int r = 0; r < RF; r++) {
#pragma HLS PIPELINE II=1
        for (int k = 0; k < MULT; k++) {
#pragma HLS UNROLL
            const int index = r * MULT + k;
            acc[index % N_OUT] += x[index / N_OUT] * w[index];
        }
    }
    for (int j = 0; j < N_OUT; j++) {
#pragma HLS UNROLL
        y[j] = acc[j];
    }
}

static const data_t weights[16 * {n_out}] = {{0}};

void top(const data_t x[16], acc_t y[{n_out}]) {
#pragma HLS INTERFACE {mode}ap_vld port=y
    data_t h[16];
#pragma HLS ARRAY_PARTITION variable=h {complete}
    relu<data_t, 16>(x, h);
    folded<16, {n_out}, 4>(h, y, weights);
}
"""


def lint_snippet(tmp_path, code, backend, name="top.cpp"):
    firmware = tmp_path / "firmware"
    firmware.mkdir(exist_ok=True)
    (firmware / name).write_text(code)
    return problems(tmp_path, backend)


def _fill(code, backend, n_out=8):
    for key, value in {**SPELLING[backend], "n_out": str(n_out)}.items():
        code = code.replace("{" + key + "}", value)
    return code.replace("{{0}}", "{0}")


@pytest.mark.parametrize("backend", ["vitis", "vivado"])
def test_clean_snippet_passes(tmp_path, backend):
    assert lint_snippet(tmp_path, _fill(CLEAN, backend), backend) == []


@pytest.mark.parametrize("backend", ["vitis", "vivado"])
def test_remainder_of_a_pipelined_index_by_a_non_power_of_two(tmp_path, backend):
    """The folded layer with 10 outputs: `index % 10` and `index / 10` on the
    pipelined loop's run-time index are dividers (issue 13 point 6)."""
    found = lint_snippet(tmp_path, _fill(CLEAN, backend, n_out=10), backend)
    assert {p.kind for p in found} == {"index-divide"}, found
    text = "\n".join(map(str, found))
    assert "index % N_OUT" in text and "index / N_OUT" in text and "by 10, not a power of two" in text
    code = _fill(CLEAN, backend, n_out=10)
    line = code[:code.index("acc[index % N_OUT]")].count("\n") + 1
    call = code[:code.index("folded<16, 10, 4>")].count("\n") + 1
    assert text.startswith(f"firmware/top.cpp:{line}: ") and f"(called at firmware/top.cpp:{call})" in text


def _top(body, pragma="#pragma HLS PIPELINE", params="const data_t x[16], acc_t y[4]"):
    return HEADER + f"\nvoid top({params}) {{\n{pragma}\n{body}\n}}\n"


CASES = {  # kind -> (snippet, backend, words the message has)
    "dynamic-memory": (_top("    data_t *p = new data_t[4];\n    y[0] = p[0];"), "vitis", "dynamic memory"),
    "container": ("#include <vector>\n" + _top("    y[0] = x[0];"), "vitis", "non-synthesizable header"),
    "unbounded-loop": (_top("    int n = x[0].to_int();\n    for (int i = 0; i < n; i++) y[0] += x[i];"), "vitis",
                       "loop bound is not static"),
    "exceptions": (_top("    try {\n        y[0] = x[0];\n    } catch (...) {\n    }"), "vitis", "exceptions"),
    "recursion": (HEADER + "int depth(int n) {\n    return n ? depth(n - 1) : 0;\n}\n", "vitis", "recursive"),
    "float": (_top("    double s = 0;\n    y[0] = s;"), "vitis", "double"),
    "math-call": (_top("    for (int i = 0; i < 4; i++) y[i] = std::exp(x[i].to_double());"), "vitis", "exp"),
    "vla": (HEADER + "void top(const data_t x[16], acc_t y[4], int n) {\n    data_t buffer[n];\n"
            "    y[0] = buffer[0];\n}\n", "vitis", "buffer has a run-time size (n)"),
    "pointer-to-pointer": (HEADER + "void top(data_t **rows, acc_t y[4]) {\n    y[0] = rows[0][0];\n}\n",
                           "vitis", "pointer to pointer"),
    "double-compare": (_top("    for (int i = 0; i < 4; i++) y[i] = x[i] > 0.5 ? acc_t(x[i]) : acc_t(0);"),
                       "vivado", "> 0.5"),
    "int64-divide": (_top("    long long a = x[0].to_int64(), b = x[1].to_int64() + 3;\n    y[0] = a / b;"),
                     "vivado", "a / b"),
    "huge-array": (HEADER + "static const data_t table[2000000] = {0};\n"
                   "void top(const data_t x[16], acc_t y[4]) {\n    y[0] = table[x[0].to_int()];\n}\n",
                   "vitis", "2000000 elements"),
    "partition-limit": (_top("    data_t big[9000];\n#pragma HLS ARRAY_PARTITION variable=big complete\n"
                             "    y[0] = big[x[0].to_int()];", pragma=""), "vivado", "9000 elements"),
    "unroll-limit": (HEADER + "template <int N, int M>\nvoid wide(const data_t x[16], acc_t &s) {\n"
                     "    for (int i = 0; i < N; i++) {\n        for (int j = 0; j < M; j++) {\n"
                     "            s += x[(i + j) % 16];\n        }\n    }\n}\n"
                     + _top("    acc_t s = 0;\n    wide<100, 50>(x, s);\n    y[0] = s;"), "vivado",
                     "5000 unrolled copies"),
    "pragma": (_top("    y[0] = x[0];", pragma="#pragma HLS PIPELINE II=1 flush\n#pragma HLS PIPELIN\n"
                    "#pragma HLS ARRAY_PARTITION variable=x type=diagonal"), "vitis",
               "unknown option 'flush'"),
    "pragma-spelling": (_top("    y[0] = x[0];", pragma="#pragma HLS INTERFACE ap_vld port=y\n"
                             "#pragma HLS RESOURCE variable=y core=RAM_1P"), "vitis", "not spelled for vitis"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_class_is_caught(tmp_path, kind):
    code, backend, words = CASES[kind]
    found = lint_snippet(tmp_path, code, backend)
    assert kind in {p.kind for p in found}, found
    assert any(words in str(p) for p in found if p.kind == kind), found


def test_each_class_has_a_case():
    assert set(CASES) | {"index-divide", "tcl"} == set(KINDS)


def test_vivado_spellings_are_wrong_for_vitis_and_back(tmp_path):
    vivado_code = _fill(CLEAN, "vivado")
    assert {p.kind for p in lint_snippet(tmp_path, vivado_code, "vitis")} == {"pragma-spelling"}
    assert {p.kind for p in lint_snippet(tmp_path, _fill(CLEAN, "vitis"), "vivado")} == {"pragma-spelling"}


def test_unroll_limits_per_tool(tmp_path):
    """5000 copies stop Vivado HLS (XFORM 203-504) but not Vitis HLS; 70000 exceed both limits."""
    code = CASES["unroll-limit"][0]
    assert "unroll-limit" not in {p.kind for p in lint_snippet(tmp_path, code, "vitis")}
    found = lint_snippet(tmp_path, code.replace("wide<100, 50>", "wide<700, 100>"), "vitis")
    assert any(p.kind == "unroll-limit" and "70000 unrolled copies" in str(p) for p in found), found


def test_partition_limit_is_the_one_the_script_sets(tmp_path):
    code = CASES["partition-limit"][0]
    assert "partition-limit" not in {p.kind for p in lint_snippet(tmp_path, code.replace("9000", "8192"), "vivado")}
    assert documented.PARTITION_LIMIT["vivado"].value == 8192


def test_huge_weights_file_is_caught(tmp_path):
    weights = tmp_path / "firmware" / "weights"
    weights.mkdir(parents=True)
    (weights / "w.h").write_text("HLSFLOW_WEIGHTS(w_t, dense_w, 2000000) = {\n};\n")
    found = problems(tmp_path, "vitis")
    assert [p.kind for p in found] == ["huge-array"] and "dense_w has 2000000" in str(found[0])


@pytest.fixture(scope="module")
def jet_projects(tmp_path_factory):
    model, root = jet_tagger_mlp(), tmp_path_factory.mktemp("jet")
    return {(backend, io): hlsflow.convert(model, root / f"{backend}_{io}", backend=backend, io_type=io)
            for backend in ("vitis", "vivado") for io in ("io_parallel", "io_stream")}


def test_generated_projects_have_no_findings(jet_projects):
    """No lint finding in generated firmware or tcl, for either tool's spelling."""
    for (backend, io), project in jet_projects.items():
        assert problems(project.directory, backend) == [], (backend, io)


@pytest.mark.parametrize("backend", ["vitis", "vivado"])
def test_generated_tcl_uses_documented_commands_and_options(jet_projects, backend):
    directory = jet_projects[(backend, "io_parallel")].directory
    for name, tool in documented.TCL_FILES.items():
        assert tcl_problems(directory / name, tool or backend) == [], name
    script = (directory / "build_prj.tcl").read_text()
    assert "export_design -format ip_catalog" in script and "set_clock_uncertainty" in script
    assert ("-maximum_size" in script) == (backend == "vivado")
    assert f"-std={'c++14' if backend == 'vitis' else 'c++0x'}" in script


def test_tcl_lint_catches_undocumented_options_and_commands(jet_projects, tmp_path):
    script = (jet_projects[("vitis", "io_parallel")].directory / "build_prj.tcl").read_text()
    bad = tmp_path / "build_prj.tcl"
    bad.write_text(script.replace("config_compile -name_max_length 80",
                                  "config_compile -name_max_length 80\nconfig_array_partition -maximum_size 8192\n"
                                  "set_directive_top top"))
    found = "\n".join(map(str, tcl_problems(bad, "vitis")))
    assert "config_array_partition -maximum_size: not a documented option" in found
    assert "set_directive_top: not a documented vitis command" in found
    assert tcl_problems(bad, "vivado")  # not a Vivado HLS script either


def test_vivado_synthesis_reads_the_clock_before_synthesis_and_every_file(jet_projects):
    directory = jet_projects[("vitis", "io_parallel")].directory
    script = (directory / "vivado_synth.tcl").read_text()
    order = [script.index(command) for command in ("read_verilog", "read_mem", "source $script", "read_xdc",
                                                   "synth_design")]
    assert order == sorted(order)
    assert "*.dat" in script and "*.tcl" in script and "-mode out_of_context" in script
    xdc = (directory / "vivado_synth.xdc").read_text()
    assert "create_clock -period 5.0 -name ap_clk [get_ports ap_clk]" in xdc


def test_lint_command(tmp_path):
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    (firmware / "top.cpp").write_text(CASES["float"][0])
    run = [sys.executable, "-m", "hlsflow", "lint", str(tmp_path)]
    result = subprocess.run(run + ["--backend", "vitis"], capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout.splitlines() == [
        "firmware/top.cpp:7: floating point in the datapath (double)"]
    (firmware / "top.cpp").write_text(_fill(CLEAN, "vivado"))
    result = subprocess.run(run + ["--backend", "vivado"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "lint: no findings (vivado rules)\n"
    result = subprocess.run(run, capture_output=True, text=True)
    assert result.returncode == 2 and "no project.json" in result.stderr and "Traceback" not in result.stderr
