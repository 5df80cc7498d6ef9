"""`hlsflow.convert` and the Project it returns."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from hlsflow.backend import csim, writer
from hlsflow.emulate import cast_inputs, emulate
from hlsflow.errors import OptionError, ProjectError
from hlsflow.files import load_json
from hlsflow.ir import Graph
from hlsflow.passes.precision import DEFAULTS

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
        cast = cast_inputs(self.graph, x)
        return cast[0] if len(cast) == 1 else cast

    def emulate(self, x, logits: bool = False):
        """Numpy executor of the IR: bit-exact with csim. `logits=True` returns
        the input of a final softmax instead of its output."""
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
        """Run the compiled C++ on a batch of raw inputs (cast like the hardware's inputs)."""
        if self._library is None:
            self.compile(progress=progress)
        cast = np.concatenate([a.reshape(len(a), -1) for a in cast_inputs(self.graph, x)], axis=1)
        out, lg = self._library.run(cast, progress=progress)
        if logits:
            self._logits_tensor()
            return lg
        return self._split_outputs(out)

    # -- helpers -----------------------------------------------------------------
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
        """Run tb_data through the compiled C++; the summary lines of `make csim` and the verdict."""
        tb = self.directory / "tb_data"
        inputs = np.loadtxt(tb / "inputs.txt", ndmin=2)
        reference = np.loadtxt(tb / "outputs.txt", ndmin=2)
        if self._library is None:
            self.compile(progress=progress)
        out, lg = self._library.run(inputs, progress=progress)
        softmax = self._has_softmax()
        exact = np.concatenate([np.full(self.graph.tensors[t].size, self.graph.tensors[t].exact)
                                for t in self.graph.outputs])
        logits_ref = np.loadtxt(tb / "logits.txt", ndmin=2) if softmax else None
        logits_exact = softmax and self.graph.tensors[self._logits_tensor()].exact
        return csim.summary(out, reference, exact, lg if softmax else None, logits_ref, logits_exact,
                            self.graph.tensors[self.graph.outputs[0]].size, softmax)


def convert(model, output_dir, backend: str = "vitis", io_type: str = "io_parallel", samples=None, config=None,
            force: bool = False, weights=None, part: str = writer.DEFAULT_PART,
            clock_period: float = writer.DEFAULT_CLOCK_NS, error_target=None, input_range=None) -> Project:
    """Convert a Keras/QKeras model (object or file path) into an HLS project in output_dir.
    With `samples`, the types Keras leaves float are calibrated on them to meet
    `error_target` (see hlsflow.passes.profile); without, a float model gets
    data-free types from its weights and `input_range`."""
    io_type = {"parallel": "io_parallel", "stream": "io_stream"}.get(io_type, io_type)
    settings = writer.check_settings(backend, part, clock_period, io_type)
    model, graph = typed_graph(model, samples, config, weights, error_target, input_range)
    tb_data = reference_data(model, graph, _first_rows(samples, TB_LIMIT))
    writer.write_project(graph, output_dir, settings, tb_data, force=force)
    return Project(output_dir, graph)


def typed_graph(model, samples=None, config=None, weights=None, error_target=None, input_range=None):
    """(Keras model, IR after every pass), calibrated on `samples` when given."""
    from hlsflow.frontend.keras import load_model, to_graph
    from hlsflow.passes import profile, run_passes

    config = dict((load_json(config, "--config") if isinstance(config, (str, Path)) else config) or {})
    if error_target is not None:
        config["profile"] = {**config.get("profile", {}), "error_target": float(error_target)}
    if input_range is not None:
        config["input_range"] = input_range
    if isinstance(model, (str, Path)):
        model = load_model(model, weights)
    original = to_graph(model)
    summary = {}
    if samples is not None:
        config, summary = profile.calibrate(model, original, samples, config)
    graph = run_passes(original, config)
    if summary:
        graph.meta["profile"] = summary
    chosen = [n for n, keys in graph.meta.get("chosen", {}).items() if "output_type" in keys
              and (n in graph.inputs or graph.node(n).op != "softmax")]
    if samples is None and chosen and not config.get("layers"):
        where = f"input range {config['input_range']}" if config.get("input_range") is not None else \
            f"input type {config.get('input_type', DEFAULTS['input_type'])}, no input range declared"
        warnings.warn(f"{graph.name}: float tensors ({', '.join(chosen[:4])}{', ...' if len(chosen) > 4 else ''}) "
                      f"get data-free types ({where}); pass samples (--samples) to calibrate them", stacklevel=3)
    return model, graph


def _first_rows(samples, n):
    if samples is None:
        return None
    if isinstance(samples, (list, tuple)):
        return [np.asarray(a)[:n] for a in samples]
    return np.asarray(samples)[:n]


def reference_data(model, graph: Graph, samples=None) -> dict:
    """Inputs as the hardware receives them and the Keras outputs on them."""
    if samples is None:
        samples = stress_samples(graph)
    arrays = samples if isinstance(samples, (list, tuple)) else [samples]
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
    data = {
        "inputs": np.concatenate([c.reshape(len(c), -1) for c in cast], axis=1),
        "outputs": np.concatenate([np.asarray(o, np.float64).reshape(len(o), -1) for o in outputs], axis=1),
    }
    logits = keras_logits(model, keras_in)
    if logits is not None:
        data["logits"] = logits
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
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
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
