"""The hardware architecture, read from the generated C++ as the HLS tools
will (tests/cppscan.py): folding under DATAFLOW rather than a whole-function
pipeline, one kernel per pixel computed at once, partitions within the
tool's limit, one pixel per io_stream beat, stream read/write schedules equal
to the model that sizes the FIFOs, ROM-order weights without run-time
division, and memories counted by width and depth. Each is checked beside
bit-exactness in csim with reuse and parallelization factors."""
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import hlsflow
from conftest import check_bit_exact, check_outputs_bit_exact, example_model, jet_tagger_mlp, make_csim, stress_inputs
from cppscan import Design
from hlsflow.backend import dataflow
from hlsflow.backend.report import bram18k, estimate, format_report
from hlsflow.backend.writer import PARTITION_LIMIT, PIXELWISE, build_context
from hlsflow.passes.hardware import fold, window_geometry

LIBRARY = Path(__file__).resolve().parent.parent / "templates" / "firmware" / "nnet"
# per-layer reuse factors of small_cnn: both fold directions (r_in, r_out > 1), groups, a dense
REUSE = {"conv": 4, "skip": 4, "dw": 3, "fc": 12}


def small_cnn(seed=0):
    """A residual 3x3 / 1x1 conv pair, 'same' max pooling, a depthwise conv, padded
    average pooling, a dense layer and softmax, on a 10 x 12 x 2 input."""
    import tf_keras as keras
    from qkeras import QActivation, QConv2D, QDense, QDepthwiseConv2D, quantized_bits, quantized_relu

    L = keras.layers
    keras.utils.set_random_seed(seed)
    qb = lambda: quantized_bits(6, 0, alpha=1)  # noqa: E731
    x = L.Input((10, 12, 2))
    q = QActivation(quantized_bits(8, 2, alpha=1), name="q")(x)
    c = QActivation(quantized_relu(6, 2), name="conv_q")(
        QConv2D(4, 3, padding="same", kernel_quantizer=qb(), bias_quantizer=qb(), name="conv")(q))
    s = QActivation(quantized_bits(6, 2), name="skip_q")(QConv2D(4, 1, kernel_quantizer=qb(), bias_quantizer=qb(),
                                                                  name="skip")(q))
    p = L.MaxPooling2D(2, padding="same", name="pool")(L.Add(name="add")([c, s]))
    d = QActivation(quantized_bits(8, 3), name="dw_q")(
        QDepthwiseConv2D(3, depthwise_quantizer=qb(), bias_quantizer=qb(), name="dw")(p))
    g = QActivation(quantized_bits(8, 3), name="avg_q")(L.AveragePooling2D(2, strides=1, padding="same",
                                                                            name="avg")(d))
    y = QDense(6, kernel_quantizer=qb(), bias_quantizer=qb(), name="fc")(L.Flatten(name="flat")(g))
    model = keras.Model(x, L.Activation("softmax", name="softmax")(y), name="small_cnn")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.uniform(-1, 1, layer.bias.shape))
    return model


@pytest.fixture(scope="module")
def cnn():
    return small_cnn()


@pytest.fixture(scope="module")
def folded_stream(cnn, tmp_path_factory):
    config = {"layers": {k: {"reuse_factor": v} for k, v in REUSE.items()}}
    return hlsflow.convert(cnn, tmp_path_factory.mktemp("cnn") / "stream", io_type="io_stream", config=config)


@pytest.fixture(scope="module")
def folded_parallel(cnn, tmp_path_factory):
    config = {"layers": {k: {"reuse_factor": v} for k, v in REUSE.items()}, "parallelization_factor": 3}
    return hlsflow.convert(cnn, tmp_path_factory.mktemp("cnn") / "parallel", config=config)


def _ident(project, layer) -> str:
    nodes = build_context(project.graph, project.graph.meta["project"])["nodes"]
    return next(n["id"] for n in nodes if n["attrs"] is project.graph.node(layer).attrs)


def _mac_sites(project, layer):
    """The kernel clocks of a layer, as reached from the top function."""
    sites, _ = Design(project.directory).walk()
    return [s for s in sites if s.callee == "kernel_clock" and s.config == f"{_ident(project, layer)}_config"]


def _clocks(project, layer):
    return {r["layer"]: r for r in estimate(project.graph, 5.0)["rows"]}[layer]


# ----------------------------------------------------------------- blocker 1

def test_a_reuse_factor_folds_io_parallel_under_dataflow(tmp_path):
    """RF 4: the top is a DATAFLOW region; every dense layer's products run in a
    loop pipelined at II 1 with RF iterations that no whole-function PIPELINE
    unrolls; the II those pragmas imply is what `report` says; the bits are Keras's."""
    model = jet_tagger_mlp()
    project = hlsflow.convert(model, tmp_path / "rf4", config={"reuse_factor": 4})
    design = Design(project.directory)
    top = design.functions["jet_tagger"]
    assert ("DATAFLOW", "") in top.pragmas and not any(k == "PIPELINE" for k, _ in top.pragmas)
    for layer in ("fc1", "fc2", "fc3", "output"):
        (site,) = _mac_sites(project, layer)
        assert not site.pipelined_function, site.chain
        (loop,) = site.loops
        assert loop == (4, ["PIPELINE"])  # RF iterations, one weight ROM word each
        row = _clocks(project, layer)  # read the input beat, 4 clocks, write the output beat
        assert row["clocks"] == 1 + 4 + 1 and row["ii"] == row["clocks"] + row["depth"]
        assert row["lut_multipliers"] + row["dsp"] == fold(project.graph.node(layer))["lanes"]
    cpp = (project.directory / "firmware" / "jet_tagger.cpp").read_text()
    assert "folded by its reuse factor" in cpp and "latency strategy" not in cpp.split("#include")[0]
    x = stress_inputs(np.random.default_rng(5), 300, (16,), 32)
    check_bit_exact(model, project, x)
    code, output = make_csim(project.directory)
    assert code == 0 and "csim: 200/200 bit-exact (logits, C only)" in output, output
    latency = hlsflow.convert(model, tmp_path / "rf1")  # nothing folded: one pipeline, as before
    top = Design(latency.directory).functions["jet_tagger"]
    assert ("PIPELINE", "") in top.pragmas and all(s.pipelined_function for s in _mac_sites(latency, "fc1"))


# ----------------------------------------------------------------- blocker 2

@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_mnist_cnn_partitions_stay_within_the_limit(io_type, tmp_path):
    """Every completely partitioned array of the firmware, as instantiated, is within
    the 8,192 elements the project's tcl allows (the old io_parallel CNN had 10,816)."""
    project = hlsflow.convert(hlsflow.load_model(example_model("qkeras_mnist_cnn")), tmp_path / "p", io_type=io_type)
    _, partitions = Design(project.directory).walk()
    assert partitions and max(p[2] for p in partitions) <= PARTITION_LIMIT, max(partitions, key=lambda p: p[2])
    assert "does not fit" not in format_report(estimate(project.graph, 5.0))


def test_io_parallel_port_above_the_limit_converts_with_a_warning(tmp_path):
    """An io_parallel port is the user's interface, one register per value at any
    size (hls4ml converts these too): a port above the partition limit is the
    lint's partition-limit warning on convert, naming io_stream, and csim is bit-exact."""
    import tf_keras as keras
    from qkeras import QActivation, quantized_bits

    shape = (64, 66, 2)  # 8,448 input values
    x = keras.layers.Input(shape)
    model = keras.Model(x, keras.layers.MaxPooling2D(2, name="pool")(QActivation(quantized_bits(8, 2), name="q")(x)))
    with pytest.warns(UserWarning, match=r"partition-limit.*\(8448 elements\) completely partitioned.*io_stream"):
        project = hlsflow.convert(model, tmp_path / "p")
    check_outputs_bit_exact(model, project, stress_inputs(np.random.default_rng(2), 20, shape, 4))


def test_folded_cnn_io_parallel(cnn, folded_parallel):
    """Convolutions fold by RF and compute `pf` pixels at once: the kernel is
    instantiated pf times (an unrolled loop inside the one pipelined loop of the
    layer), as many as `report` counts, and the bits are Keras's."""
    project = folded_parallel
    for layer, pf in (("conv", 3), ("skip", 3), ("dw", 3)):
        graph = project.graph
        a, f = graph.node(layer).attrs, fold(graph.node(layer))
        assert a["parallelization_factor"] == pf
        (site,) = _mac_sites(project, layer)
        assert not site.pipelined_function
        (clocks, kinds), *inner = site.loops
        g = window_geometry(a, pf)
        assert kinds == ["PIPELINE"] and clocks == g["ph"] + a["out_hwc"][0] * g["steps"] * REUSE[layer]
        assert inner == [(pf, ["UNROLL"])]  # the kernel instances
        row = _clocks(project, layer)
        assert row["clocks"] == clocks and row["lut_multipliers"] + row["dsp"] == f["lanes"] * pf
    x = stress_inputs(np.random.default_rng(3), 300, (10, 12, 2), 4)
    check_bit_exact(cnn, project, x)


def test_whole_layer_io_parallel_is_the_unrolled_pipeline(cnn, tmp_path):
    """A parallelization factor of all the pixels and reuse factor 1: one pipeline
    with every kernel built per pixel; same bits."""
    project = hlsflow.convert(cnn, tmp_path / "whole", config={"parallelization_factor": 10 ** 6})
    assert ("PIPELINE", "") in Design(project.directory).functions["small_cnn"].pragmas
    (site,) = _mac_sites(project, "conv")
    assert site.pipelined_function and site.loops[:2] == [(10, ["UNROLL"]), (12, ["UNROLL"])]  # every pixel
    check_bit_exact(cnn, project, stress_inputs(np.random.default_rng(4), 200, (10, 12, 2), 4))


# ----------------------------------------------------------------- blocker 5

def test_io_stream_moves_one_pixel_per_beat(cnn, folded_stream):
    """Streams carry a pixel's channels; a convolution is one loop pipelined at II 1
    over the padded input pixels, RF clocks each (II = RF per pixel); its line
    buffers are shift registers (only the row dimension partitioned); every
    layer process has a pipelined loop or is a pipelined function; DATAFLOW top."""
    project = folded_stream
    design = Design(project.directory)
    header = (project.directory / "firmware" / "small_cnn.h").read_text()
    # 2 channels per input beat (the input 'q' under whatever name the allocator gave it)
    assert re.search(r"hls::stream<nnet::array<(q\w*)_t, 2> > &\1\b", header), header
    cpp = (project.directory / "firmware" / "small_cnn.cpp").read_text()
    assert "hls::stream<nnet::array<conv_q_t, 4> > conv_q" in cpp
    assert ("DATAFLOW", "") in design.functions["small_cnn"].pragmas
    a = project.graph.node("conv").attrs
    g = window_geometry(a)
    (site,) = _mac_sites(project, "conv")
    assert site.loops == [(g["ph"] * g["pw"] * REUSE["conv"], ["PIPELINE"])] and not site.pipelined_function
    assert (g["ph"], g["pw"]) == (12, 14)  # 'same' padding scanned as zeros
    _, partitions = design.walk()
    lines = [size for fn, var, size, config in partitions if var == "lines" and config == "conv_config"]
    assert lines == [(g["khs"] - 1) * a["in_hwc"][2]]  # rows x channels: the depth is a shift register
    assert "#pragma HLS ARRAY_PARTITION variable=lines complete dim=1" in (LIBRARY / "nnet_stream.h").read_text()
    sites, _ = design.walk()
    processes = [f for name, f in design.firmware.items() if name.endswith(("_stream", "_split"))]
    assert len(processes) > 8
    for process in processes:  # the process, or a function it inlines, carries a PIPELINE
        reached = [process] + [design.functions[s.callee] for s in sites if process.name in s.chain[:-1]]
        pipelined = any(any(k == "PIPELINE" for k, _ in f.pragmas) or any("PIPELINE" in kinds for *_, kinds in f.loops)
                        for f in reached)
        assert pipelined and ("INLINE", "off") in process.pragmas, process.name
    report = estimate(project.graph, 5.0)
    pixels = a["in_hwc"][0] * a["in_hwc"][1]
    assert report["total"]["ii"] <= 2 * pixels * REUSE["conv"]  # within 2x of one pixel per RF clocks
    check_bit_exact(cnn, project, stress_inputs(np.random.default_rng(5), 300, (10, 12, 2), 4))
    code, output = make_csim(project.directory)
    assert code == 0 and "csim: 200/200 bit-exact (logits, C only)" in output, output


LOGGING_STREAM = r"""
// hls::stream for the architecture tests: records every read and write, in order.
#ifndef X_HLS_STREAM_SIM_H
#define X_HLS_STREAM_SIM_H
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>
inline std::vector<std::string> &stream_log() { static std::vector<std::string> log; return log; }
namespace hls {
template <class T>
class stream {
    std::deque<T> data;
    std::string label;
  public:
    stream() {}
    explicit stream(const char *name) : label(name) {}
    T read() {
        if (data.empty()) { std::fprintf(stderr, "read of empty %s\n", label.c_str()); std::exit(3); }
        stream_log().push_back("R " + label);
        T v = data.front();
        data.pop_front();
        return v;
    }
    void write(const T &v) { stream_log().push_back("W " + label); data.push_back(v); }
    bool empty() const { return data.empty(); }
};
}
#endif
"""


def _logged_schedule(project, tmp_path) -> list:
    """The stream operations of one inference of the firmware, compiled with g++."""
    ctx = build_context(project.graph, project.graph.meta["project"])
    name, stream_io = ctx["name"], ctx["io_type"] == "io_stream"
    (tmp_path / "hls_stream.h").write_text(LOGGING_STREAM)
    body = []
    for t in ctx["inputs"] + ctx["outputs"]:
        body.append(f"    static {t['t']} {t['id']}[{t['size']}];")
        if stream_io:
            body.append(f"    hls::stream<nnet::array<{t['t']}, {t['beat']}> > {t['id']}_port(\"{t['id']}\");")
    for t in ctx["inputs"]:
        if stream_io:
            body.append(f"    nnet::pack<{t['t']}, {t['size']}, {t['beat']}>({t['id']}, {t['id']}_port);")
    args = ", ".join(t["id"] + ("_port" if stream_io else "") for t in ctx["inputs"] + ctx["outputs"])
    body.append(f"    stream_log().clear();\n    {name}({args});")
    body.append('    for (size_t i = 0; i < stream_log().size(); i++) std::printf("%s\\n", stream_log()[i].c_str());')
    (tmp_path / "main.cpp").write_text(f'#include "{project.directory}/firmware/{name}.cpp"\n'
                                       "int main() {\n" + "\n".join(body) + "\n    return 0;\n}\n")
    firmware = project.directory / "firmware"
    subprocess.run(["g++", "-std=c++14", "-O0", "-I", str(tmp_path), "-I", str(firmware), "-I",
                    str(firmware / "ap_types"), str(tmp_path / "main.cpp"), "-o", str(tmp_path / "run")], check=True)
    return subprocess.run([str(tmp_path / "run")], capture_output=True, text=True, check=True).stdout.split("\n")[:-1]


@pytest.mark.parametrize("which", ["folded_stream", "folded_parallel"])
def test_every_process_reads_and_writes_as_the_fifo_model_says(which, request, tmp_path):
    """The FIFO depths are proven deadlock-free on a model of each process's
    read and write order (hlsflow/backend/dataflow.py); this checks the model
    against the firmware itself: each process's stream operations, logged by
    g++, come in exactly the model's order."""
    project = request.getfixturevalue(which)
    ctx = build_context(project.graph, project.graph.meta["project"])
    net = dataflow.network(project.graph, ctx["io_type"], PIXELWISE, bool(ctx["softmax"]))
    expected, owner = {}, {}
    for p, c in zip([p for p in net.processes if p.kind != "port"], ctx["processes"]):
        names = {s: v["id"] for s, v in [*zip(p.ins, c["ins"]), *zip(p.outs, c["outs"])]
                 if not net.streams[s].array}  # (arrays between processes are not streams)
        events = [(clock, 0, p.ins.index(s), f"R {names[s]}") for s, clocks in p.reads.items() if s in names
                  for clock in clocks.tolist()]
        events += [(clock, 1, p.outs.index(s), f"W {names[s]}") for s, clocks in p.writes.items() if s in names
                   for clock in clocks.tolist()]
        expected[c["fn"]] = [e[3] for e in sorted(events)]
        for e in expected[c["fn"]]:
            owner[e] = c["fn"]
    actual = {fn: [] for fn in expected}
    for op in _logged_schedule(project, tmp_path):
        if op in owner:  # (the testbench's own writes and reads of the ports are not the firmware's)
            actual[owner[op]].append(op)
    assert len(expected) > 8
    for fn in expected:
        assert actual[fn] == expected[fn], fn


def test_fifo_depths_cannot_deadlock_and_are_not_whole_tensors(folded_stream):
    """With every FIFO at the tools' default depth 2 the residual branch deadlocks;
    at the generated depths it completes, and the FIFO on the short (1x1) branch
    holds less than the tensor."""
    graph = folded_stream.graph
    net = dataflow.network(graph, "io_stream", PIXELWISE, True)
    dataflow.size_fifos(net)
    shallow = dataflow.simulate(net, {s.name: 0 if s.port else 2 for s in net.streams.values()},
                                lambda p: dataflow.SIZING_DEPTH)
    assert not shallow.complete and shallow.blocked
    sized = dataflow.simulate(net, {s.name: s.depth for s in net.streams.values()}, lambda p: dataflow.SIZING_DEPTH)
    assert sized.complete
    deep = {s.tensor: s.depth for s in net.streams.values() if s.depth > 2}
    pixels = 10 * 12
    assert deep and all(d < pixels for d in deep.values()), deep
    cpp = (folded_stream.directory / "firmware" / "small_cnn.cpp").read_text()
    for s in net.streams.values():
        if not s.port and s.depth > 2:
            assert re.search(rf"#pragma HLS STREAM variable=\w+ depth={s.depth}\n", cpp)


# ------------------------------------------------------- blocker 6: % and /

def _operand(code: str, at: int, step: int) -> str:
    """The operand next to the operator at `at`: an identifier or a parenthesized group."""
    i = at + step
    while code[i].isspace():
        i += step
    close, open_ = (")", "(") if step < 0 else ("(", ")")
    if code[i] == close:
        depth, j = 0, i
        while True:
            depth += {close: 1, open_: -1}.get(code[j], 0)
            if depth == 0:
                return code[min(i, j):max(i, j) + 1]
            j += step
    j = i
    while code[j].isalnum() or code[j] in "_:":
        j += step
    return code[min(i, j + 1):max(i, j - 1) + 1] if step > 0 else code[j + 1:i + 1]


def test_layer_library_divides_only_constants():
    """No division or remainder on a value known only at run time (a pipelined
    index, a counter): both operands of every `/` and `%` in the kernel,
    convolution and stream code are compile-time constants (literals, template
    parameters, CFG::members, or sums and products of them)."""
    constant = r"(?:\d+|[A-Z_][A-Z0-9_]*|\w+::\w+)"
    operand = re.compile(rf"\(?\s*{constant}(?:\s*[-+*]\s*{constant})*\s*\)?")
    found = 0
    for header in ("nnet_dense.h", "nnet_conv.h", "nnet_stream.h"):
        code = re.sub(r"//[^\n]*", "", (LIBRARY / header).read_text())
        for m in re.finditer(r"(?<=[\w)\s])([/%])(?=[\s\w(])", code):
            left, right = _operand(code, m.start(), -1), _operand(code, m.start(), 1)
            assert operand.fullmatch(left) and operand.fullmatch(right), f"{header}: {left} {m.group(1)} {right}"
            found += 1
    assert found > 3  # e.g. CFG::c / CFG::groups


def test_weights_are_stored_in_the_order_the_kernel_reads_them(folded_parallel):
    """ROM word t of a folded layer holds exactly the weights its clock t multiplies:
    lane (g * bi + a) * bo + b of word ro * r_in + ri is weight (ri * bi + a) of
    group g into output ro * bo + b; the reshape makes a word one memory row."""
    project = folded_parallel
    for layer in REUSE:
        node = project.graph.node(layer)
        f = fold(node)
        ident = _ident(project, layer)
        text = (project.directory / "firmware" / "weights" / f"{ident}_w.h").read_text()
        rom = np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?", text.split(") = {")[1])])
        words = rom.reshape(f["reuse"], f["groups"], f["bi"], f["bo"])
        w = node.params["weight"].reshape(f["inputs"], f["groups"], f["outputs"])
        for t in range(f["reuse"]):
            ro, ri = divmod(t, f["r_in"])
            expected = w[ri * f["bi"]:(ri + 1) * f["bi"], :, ro * f["bo"]:(ro + 1) * f["bo"]].transpose(1, 0, 2)
            assert np.array_equal(words[t], expected), (layer, t)
        cpp = (project.directory / "firmware" / "small_cnn.cpp").read_text()
        assert f"ARRAY_RESHAPE variable={ident}_w type=cyclic factor={f['lanes']}" in cpp  # (Vitis spelling)


# ----------------------------------------------------------------- blocker 8

def test_block_ram_is_counted_by_width_and_depth():
    assert bram18k(100, 40000) == 1112  # 36 bits wide per block at <= 512 words: not 40,000 x 100 / 18K = 218
    assert bram18k(1024, 18) == 1 and bram18k(1025, 18) == 2 and bram18k(4096, 4) == 1 and bram18k(512, 37) == 2


def test_weight_roms_and_their_estimate(tmp_path):
    """A deep ROM (RF 128) goes to block RAM and a shallow one (RF 4) to LUTs, by
    the storage pragma each backend spells, and `report` counts the same memory."""
    model = jet_tagger_mlp()
    config = {"layers": {"fc1": {"reuse_factor": 128}, "fc2": {"reuse_factor": 4}}}
    vitis = hlsflow.convert(model, tmp_path / "vitis", config=config)
    vivado = hlsflow.convert(model, tmp_path / "vivado", config=config, backend="vivado")
    v_cpp, h_cpp = ((p.directory / "firmware" / "jet_tagger.cpp").read_text() for p in (vitis, vivado))
    assert "BIND_STORAGE variable=fc1_w type=rom_1p impl=bram" in v_cpp
    assert "BIND_STORAGE variable=fc2_w type=rom_1p impl=lutram" in v_cpp
    assert "RESOURCE variable=fc1_w core=ROM_1P_BRAM" in h_cpp and "RESOURCE variable=fc2_w core=ROM_1P_LUTRAM" in h_cpp
    rows = {r["layer"]: r for r in estimate(vitis.graph, 5.0)["rows"]}
    (f1, w1), (f2, w2) = ((fold(vitis.graph.node(n)), vitis.graph.node(n).attrs["weight_type"].width)
                          for n in ("fc1", "fc2"))
    assert f1["reuse"] == 128 and f1["lanes"] * w1 > 36  # words wider than one block's 36 bits
    assert rows["fc1"]["bram18k"] == bram18k(128, f1["lanes"] * w1) == 2 and rows["fc1"]["lutram"] == 0
    assert rows["fc2"]["bram18k"] == 0 and rows["fc2"]["lutram"] == f2["lanes"] * w2  # one LUT6 per bit of a word


def test_wide_accumulators_are_remarked(tmp_path):
    import tf_keras as keras
    from qkeras import QActivation, QDense, quantized_bits

    from hlsflow.frontend.keras import to_graph
    from hlsflow.passes import run_passes

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.InputLayer((64,)), QActivation(quantized_bits(24, 8, alpha=1)),
                              QDense(4, kernel_quantizer=quantized_bits(24, 2, alpha=1), name="wide")])
    graph = run_passes(to_graph(model))
    assert graph.node("wide").attrs["accum_type"].width > 48
    assert "layer wide: its" in format_report(estimate(graph, 5.0)) and "48-bit accumulator" in format_report(
        estimate(graph, 5.0))


# ------------------------------------------------------------ reproducibility

def test_dataflow_projects_are_byte_identical(cnn, tmp_path):
    config = {"layers": {k: {"reuse_factor": v} for k, v in REUSE.items()}, "parallelization_factor": 3}
    a = hlsflow.convert(cnn, tmp_path / "a", config=config).directory
    b = hlsflow.convert(cnn, tmp_path / "b", config=config).directory
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
