"""`hlsflow.convert` and the Project it returns."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from hlsflow import boundary
from hlsflow.backend import csim, writer
from hlsflow.emulate import cast_inputs, emulate
from hlsflow.errors import OptionError, ProjectError
from hlsflow.files import fit_samples, load_json
from hlsflow.ir import Graph
from hlsflow.progress import step

TB_SAMPLES = 200  # reference samples saved in tb_data when none are given
TB_LIMIT = 500  # at most this many of the given samples go into tb_data
TB_SEED = 1234


class Project:
    """A generated HLS project: its IR, the numpy emulator and the compiled csim."""

    def __init__(self, directory, graph: Graph):
        self.directory = Path(directory)
        self.graph = graph
        self.name = graph.meta["project"]["name"]
        self._library = None

    @classmethod
    def load(cls, directory) -> "Project":
        path = Path(directory) / "project.json"
        if not path.is_file():
            raise ProjectError(f"{directory}: not an hlsflow project (no project.json)")
        return cls(directory, Graph.loads(path.read_text()))

    # -- executors ---------------------------------------------------------------
    def cast_inputs(self, x):
        """Raw inputs cast to the input types: the values the hardware receives."""
        cast = cast_inputs(self.graph, self._inputs(x))
        return cast[0] if len(cast) == 1 else cast

    def emulate(self, x, logits: bool = False):
        """Numpy executor of the IR: bit-exact with csim. `logits=True` returns
        the input of a final softmax instead of its output."""
        x = self._inputs(x)
        if logits:
            return emulate(self.graph, x, tensors=[self._logits_tensor()])[self._logits_tensor()]
        return emulate(self.graph, x)

    def compile(self, progress: bool = True) -> Path:
        """Build the csim library with g++ (cached by content hash); returns its path."""
        path = csim.compile_library(self.directory, self.name, progress=progress)
        sizes = self._sizes()
        self._library = csim.CsimLibrary(path, *sizes)
        return path

    def predict(self, x, logits: bool = False, progress: bool = False) -> np.ndarray:
        """Run the compiled C++ on a batch of raw inputs (cast like the hardware's inputs):
        the top function's outputs, or with `logits=True` those of <top>_logits."""
        x = self._inputs(x)
        if logits:
            self._logits_tensor()
        if self._library is None:
            self.compile(progress=progress)
        cast = np.concatenate([a.reshape(len(a), -1) for a in cast_inputs(self.graph, x)], axis=1)
        out, lg = self._library.run(cast, progress=progress, outputs=not logits, logits=logits)
        return lg if logits else self._split_outputs(out)

    # -- helpers -----------------------------------------------------------------
    def _inputs(self, x) -> list:
        return fit_samples(x, input_shapes(self.graph), option="x")

    def _logits_tensor(self) -> str:
        if not self._has_softmax():
            raise OptionError("logits=True: the model does not end in a softmax")
        return self.graph.nodes[-1].inputs[0]

    def _has_softmax(self) -> bool:
        last = self.graph.nodes[-1] if self.graph.nodes else None
        return last is not None and last.op == "softmax" and self.graph.outputs == last.outputs

    def _sizes(self):
        tensors = self.graph.tensors
        logits = tensors[self._logits_tensor()].size if self._has_softmax() else 0
        return (sum(tensors[t].size for t in self.graph.inputs), sum(tensors[t].size for t in self.graph.outputs),
                logits)

    def _split_outputs(self, out: np.ndarray):
        arrays, offset = [], 0
        for t in self.graph.outputs:
            tensor = self.graph.tensors[t]
            arrays.append(out[:, offset:offset + tensor.size].reshape((len(out),) + tensor.shape))
            offset += tensor.size
        return arrays[0] if len(arrays) == 1 else arrays

    def csim(self, progress: bool = True) -> tuple[list[str], bool]:
        """Run tb_data through the compiled C++ and check it as the testbench does:
        the summary lines of `make csim` and the verdict."""
        tb = self.directory / "tb_data"
        if not (tb / "emulated.txt").is_file() or "tolerance" not in self.graph.meta["project"]:
            raise ProjectError(f"{self.directory}: written by an older hlsflow (no tb_data/emulated.txt): "
                               f"convert the model again")
        inputs = np.loadtxt(tb / "inputs.txt", ndmin=2)
        if self._library is None:
            self.compile(progress=progress)
        check_logits = self._has_softmax() and self.graph.tensors[self._logits_tensor()].exact
        out, lg = self._library.run(inputs, progress=progress, logits=check_logits)
        exact, columns, offset = [], {}, 0
        labels = dict(csim.inexact_outputs(self.graph))
        for t in self.graph.outputs:
            size = self.graph.tensors[t].size
            exact += [t not in labels] * size
            if t in labels:
                columns[labels[t]] = slice(offset, offset + size)
            offset += size
        rows = csim.compare(out, np.loadtxt(tb / "outputs.txt", ndmin=2), np.loadtxt(tb / "emulated.txt", ndmin=2),
                            columns, np.array(exact, bool), lg,
                            np.loadtxt(tb / "logits.txt", ndmin=2) if check_logits else None,
                            np.loadtxt(tb / "boundary.txt", ndmin=1).astype(bool) if (tb / "boundary.txt").is_file()
                            else None)
        tolerances = self.graph.meta["project"]["tolerance"]
        return csim.verdict(rows, {labels[t]: tol for t, tol in tolerances.items()}, any(exact))


def convert(model, output_dir, backend: str = "vitis", io_type: str = "io_parallel", samples=None, config=None,
            force: bool = False, weights=None, part: str = writer.DEFAULT_PART,
            clock_period: float = writer.DEFAULT_CLOCK_NS, error_target=None, input_range=None, top=None) -> Project:
    """Convert a Keras/QKeras model (object or file path) into an HLS project in output_dir.
    With `samples`, the types Keras leaves float are calibrated on them to meet
    `error_target` (see hlsflow.passes.profile); without, a float model gets
    data-free types from its weights and `input_range`. `top` (or config
    "top") names the top function (default: from the model's name). The
    folding options of `hlsflow convert` are config keys: "strategy",
    "reuse_factor", "parallelization_factor", model-wide or per layer under
    config["layers"][name]."""
    io_type = {"parallel": "io_parallel", "stream": "io_stream"}.get(io_type, io_type)
    config = load_json(config, "--config") if isinstance(config, (str, Path)) else config
    top = top if top is not None else (config or {}).get("top")
    settings = writer.check_settings(backend, part, clock_period, io_type, top)
    writer.check_output_dir(output_dir, force)  # before any conversion work
    model, graph = typed_graph(model, samples, config, weights, error_target, input_range)
    with step(f"writing {output_dir}"):
        tb_data = reference_data(model, graph, _first_rows(samples, TB_LIMIT))
        settings["tolerance"] = csim.output_tolerances(graph, tb_data["outputs"], tb_data["emulated"])
        writer.write_project(graph, output_dir, settings, tb_data, force=force)
    return Project(output_dir, graph)


def typed_graph(model, samples=None, config=None, weights=None, error_target=None, input_range=None):
    """(Keras model, IR after every pass), calibrated on `samples` when given."""
    from hlsflow.frontend.keras import load_model, to_graph
    from hlsflow.passes import hardware, profile, run_passes

    config = dict((load_json(config, "--config") if isinstance(config, (str, Path)) else config) or {})
    if error_target is not None:
        config["profile"] = {**config.get("profile", {}), "error_target": float(error_target)}
    if input_range is not None:
        config["input_range"] = input_range
    if isinstance(model, (str, Path)):
        model = load_model(model, weights)
    with step(f"reading {model.name}"):
        original = to_graph(model)
    summary = {}
    if samples is not None:
        samples = fit_samples(samples, input_shapes(original))
        with step(f"calibrating types on {len(samples[0])} samples"):
            config, summary = profile.calibrate(model, original, samples, config)
    graph = run_passes(original, config)
    hardware.warn_replaced(graph)
    if summary:
        graph.meta["profile"] = summary
    if samples is None and not config.get("layers") and config.get("default_precision") is None:
        _warn_data_free(graph, config)
    return model, graph


def input_shapes(graph: Graph) -> dict:
    """{input name: shape} of a graph."""
    return {name: graph.tensors[name].shape for name in graph.inputs}


def _warn_data_free(graph: Graph, config: dict) -> None:
    """Warn that the inputs of a float model or float tensors got types without data
    (inputs typed by a quantizer, exact tensors and softmax tables aside)."""
    chosen = [n for n, keys in graph.meta.get("chosen", {}).items() if "output_type" in keys
              and (n in graph.inputs or graph.node(n).op != "softmax")]
    floats = [n for n in chosen if n in graph.inputs or not graph.tensors[graph.node(n).outputs[0]].exact]
    if not floats:
        return
    inputs = ", ".join(f"input {n!r} {graph.tensors[n].type}" for n in graph.inputs if n in floats)
    declared = f"input range {config['input_range']}" if config.get("input_range") is not None else \
        "no input range declared"
    listed = ", ".join(floats[:4]) + (", ..." if len(floats) > 4 else "")
    warnings.warn(f"{graph.name}: without samples, float tensors ({listed}) get data-free types "
                  f"({inputs + '; ' if inputs else ''}{declared}); pass samples (--samples) to calibrate them",
                  stacklevel=5)  # the caller of hlsflow.convert


def _first_rows(samples, n):
    if samples is None:
        return None
    if isinstance(samples, (list, tuple)):
        return [np.asarray(a)[:n] for a in samples]
    return np.asarray(samples)[:n]


def reference_data(model, graph: Graph, samples=None) -> dict:
    """Inputs as the hardware receives them, the Keras outputs on them and the
    C model's (the emulator's) outputs."""
    arrays = stress_samples(graph) if samples is None else fit_samples(samples, input_shapes(graph))
    arrays = [np.asarray(a, np.float32) for a in arrays]  # what Keras sees (and quantizes itself)
    cast = cast_inputs(graph, arrays)  # from the same float32 values
    # Quantizer-fed inputs: Keras sees the raw values and quantizes them itself;
    # otherwise Keras sees the same cast values as the hardware.
    quantized = set(graph.meta.get("quantized_inputs", []))
    keras_in = [np.asarray(a, np.float32) if n in quantized else c.astype(np.float32)
                for n, a, c in zip(graph.inputs, arrays, cast)]
    keras_in = [k.reshape((len(k),) + tuple(model.inputs[i].shape[1:])) for i, k in enumerate(keras_in)]
    outputs = _keras_call(model, keras_in)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    emulated = emulate(graph, cast)
    emulated = emulated if isinstance(emulated, list) else [emulated]
    data = {
        "inputs": np.concatenate([c.reshape(len(c), -1) for c in cast], axis=1),
        "outputs": np.concatenate([np.asarray(o, np.float64).reshape(len(o), -1) for o in outputs], axis=1),
        "emulated": np.concatenate([e.reshape(len(e), -1) for e in emulated], axis=1),  # the C model's bits
    }
    logits = keras_logits(model, keras_in)
    if logits is not None:
        data["logits"] = logits
    flags = boundary.flags(graph, cast)  # rows where Keras's float32 rounding may cross a quantization step
    if flags is not None:
        data["boundary"] = flags.astype(np.float64)[:, None]
    return data


def stress_samples(graph: Graph) -> list:
    """Default inputs: mostly within the input types' range, a fifth of the values up to 4x outside it
    (an Embedding's indices: uniform over its table's rows, the only ones Keras accepts)."""
    rng = np.random.default_rng(TB_SEED)
    samples = []
    for name in graph.inputs:
        rows = graph.meta.get("index_inputs", {}).get(name)
        if rows is not None:
            samples.append(rng.integers(0, rows, (TB_SAMPLES,) + graph.tensors[name].shape).astype(np.float64))
            continue
        t = graph.tensors[name].type
        spread = max(abs(t.min_value), abs(t.max_value))
        x = rng.normal(0, spread / 2, (TB_SAMPLES,) + graph.tensors[name].shape)
        x[rng.random(x.shape) < 0.2] *= 8
        samples.append(x)
    return samples


def keras_logits(model, keras_in):
    """Keras's values before a final softmax (None when the model has none)."""
    last = model.layers[-1]
    activation = getattr(last, "activation", None)
    if getattr(activation, "__name__", None) != "softmax" and type(last).__name__ != "Softmax":
        return None
    from hlsflow.frontend.tf_setup import keras_of

    keras = keras_of(model)
    if type(last).__name__ in ("Activation", "Softmax"):
        logits = _keras_call(keras.Model(model.inputs, last.input), keras_in)
    else:
        last.activation = keras.activations.linear
        try:
            logits = _keras_call(model, keras_in)
        finally:
            last.activation = activation
    return np.asarray(logits, np.float64).reshape(len(logits), -1)


def _keras_call(model, keras_in, batch=4096):
    """Keras outputs (numpy), by direct eager calls: no tracing, unlike predict()."""
    n = len(keras_in[0])
    chunks = [model([k[i:i + batch] for k in keras_in] if len(keras_in) > 1 else keras_in[0][i:i + batch],
                    training=False) for i in range(0, n, batch)]
    if isinstance(chunks[0], (list, tuple)):
        return [np.concatenate([np.asarray(c[j]) for c in chunks]) for j in range(len(chunks[0]))]
    return np.concatenate([np.asarray(c) for c in chunks])
