"""The `hlsflow` command. Heavy imports (TensorFlow) happen inside the verbs."""
from __future__ import annotations

import argparse
import sys
import time

from hlsflow.files import fit_samples, load_json, load_samples


def _convert(args) -> int:
    from hlsflow.project import convert

    start = time.monotonic()
    samples = load_samples(args.samples) if args.samples else None
    config = load_json(args.config, "--config") if args.config else {}
    for key in ("strategy", "reuse_factor", "parallelization_factor"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    project = convert(args.model, args.output, backend=args.backend, io_type=f"io_{args.io}", samples=samples,
                      config=config, force=args.force, weights=args.weights, part=args.part,
                      clock_period=args.clock_period, error_target=args.error_target, input_range=args.input_range,
                      top=args.top)
    print(f"hlsflow: wrote {project.directory} ({args.backend}, io_{args.io}) in {time.monotonic() - start:.1f} s")
    if "profile" in project.graph.meta:
        print(_calibration_line(project.graph))
    print(f"hlsflow: next: make -C {project.directory} csim   or   hlsflow csim {project.directory}")
    return 0


def _calibration_line(graph) -> str:
    from hlsflow.passes.profile import mean_width

    if "profile" not in graph.meta:
        return "hlsflow: nothing to calibrate: every type is exact or set by the model's quantizers"
    m = graph.meta["profile"]
    errors = ", ".join(f"{t} {e:.2%}" for t, e in m["max_error"].items())
    line = (f"hlsflow: calibrated on {m['samples']} samples: max error / range {errors} "
            f"(target {m['error_target']:.2%}), argmax agreement {m['argmax_agreement']:.2%}, "
            f"mean width {mean_width(graph):.1f} bits")
    if "softmax_error" in m:
        line += f"; the softmax tables leave a max error of {m['softmax_error']:.2g}"
    if "input_rounding" in m:
        chosen = ", ".join(f"{name} {graph.tensors[name].type}" for name in m["input_rounding"])
        line += (f"; input types chosen on their own rounding and the argmax agreement ({chosen}): the outputs are "
                 f"exact from the cast inputs (quantizers downstream)")
    return line


def _graph_for(args, samples):
    """The typed graph of a project directory, or of a model converted with the given options."""
    from pathlib import Path

    from hlsflow.project import Project, typed_graph

    if Path(args.model).is_dir():
        return None, Project.load(args.model).graph
    return typed_graph(args.model, samples, args.config, args.weights, args.error_target, args.input_range)


def _profile(args) -> int:
    from hlsflow.frontend.keras import to_graph
    from hlsflow.passes import profile
    from hlsflow.passes.check import overflow_counts
    from hlsflow.progress import step
    from hlsflow.project import input_shapes

    samples = load_samples(args.samples)
    model, graph = _graph_for(args, samples)
    if model is None:
        from hlsflow.errors import OptionError

        raise OptionError(f"profile {args.model}: needs a model file, not a project directory")
    samples = fit_samples(samples, input_shapes(graph))
    with step(f"profiling on {len(samples[0])} samples"):
        values = profile.record(model, graph, samples, set(graph.tensors))
        rows = profile.quantization_table(graph, to_graph(model), values)
        # overflow as `check` counts it: values the hardware's type cuts off, including a
        # quantizer's saturation (the values Keras records after a quantizer never lie outside)
        counts = overflow_counts(graph, samples)
    for row in rows:
        row["overflow"], row["count"] = counts.get(row["tensor"], (row["overflow"], row["count"]))
    print(profile.format_table(rows))
    print(_calibration_line(graph))
    if args.plot:
        from hlsflow.plot import profile_plot

        profile_plot(rows, args.plot, graph.name)
        print(f"hlsflow: wrote {args.plot}")
    return 0


def _check(args) -> int:
    from pathlib import Path

    import numpy as np

    from hlsflow.passes.check import report
    from hlsflow.progress import step
    from hlsflow.project import input_shapes, stress_samples

    samples = load_samples(args.samples) if args.samples else None
    _, graph = _graph_for(args, samples)
    if samples is None:
        tb = Path(args.model) / "tb_data" / "inputs.txt"
        samples = np.loadtxt(tb, ndmin=2) if tb.is_file() else stress_samples(graph)
    samples = fit_samples(samples, input_shapes(graph))
    with step(f"checking on {len(samples[0])} samples"):
        lines, ok = report(graph, samples, args.threshold)
    print("\n".join(lines))
    return 0 if ok else 1


def _config(args) -> int:
    import json

    from hlsflow.passes.profile import default_config

    model, graph = _graph_for(args, load_samples(args.samples) if args.samples else None)
    config = default_config(graph)
    if model is not None:
        from hlsflow.ptq.api import layer_config

        quantization = layer_config(model)
        if quantization["layers"]:
            config["quantization"] = quantization
    with open(args.output, "w") as f:
        f.write(json.dumps(config, indent=1) + "\n")
    print(f"hlsflow: wrote {args.output}: edit any type, then `hlsflow convert ... --config {args.output}`"
          + (f" (or re-quantize the float model: `hlsflow quantize ... -c {args.output}`)" if "quantization" in config
             else ""))
    return 0


def _csim(args) -> int:
    from hlsflow.project import Project

    project = Project.load(args.project)
    lines, ok = project.csim(progress=True)
    print("\n".join(lines))
    return 0 if ok else 1


def _lint(args) -> int:
    import json
    from pathlib import Path

    from hlsflow.backend.lint import problems
    from hlsflow.errors import ProjectError

    backend = args.backend
    if backend is None:
        path = Path(args.project) / "project.json"
        if not path.is_file():
            raise ProjectError(f"{args.project}: not an hlsflow project (no project.json); give --backend")
        backend = json.loads(path.read_text())["meta"]["project"]["backend"]
    found = problems(Path(args.project), backend)
    for problem in found:
        print(problem)
    if not found:
        print(f"lint: no findings ({backend} rules)")
    return 1 if found else 0


def _report(args) -> int:
    import json

    from hlsflow.backend.report import estimate, format_report, read_csynth
    from hlsflow.project import Project

    project = Project.load(args.project)
    result = estimate(project.graph, project.graph.meta["project"]["clock_period"])
    csynth = read_csynth(project.directory)
    if args.json:
        print(json.dumps({"estimate": result, "synthesis": csynth}, indent=1))
    else:
        print(format_report(result, csynth))
    return 0


def _dump(args) -> int:
    from hlsflow.project import Project

    print(Project.load(args.project).graph.dump())
    return 0


def _quantize(args) -> int:
    from hlsflow.frontend.keras import load_model
    from hlsflow.progress import step
    from hlsflow.ptq.api import quantize

    start = time.monotonic()
    samples = load_samples(args.samples) if args.samples else None
    if isinstance(samples, list):  # an .npz of several arrays: the inputs are "x" (or the first)
        samples = samples[0]
    model = load_model(args.model)
    with step(f"quantizing {model.name}"):
        qmodel = quantize(model, weight_bits=args.weight_bits, activation_bits=args.activation_bits,
                          input_weight_bits=args.input_weight_bits, samples=samples,
                          per_channel=not args.per_tensor_weights, per_tensor_activations=args.per_tensor_activations,
                          calibration=args.calibration, cle=args.cle, bias_correction=args.bias_correction,
                          adaround=args.adaround, batch_size=args.batch_size, config=args.config)
    _save(qmodel, args.output)
    print(f"hlsflow: wrote {args.output} (W{args.weight_bits}A{args.activation_bits}, first layer "
          f"{args.input_weight_bits}-bit weights) in {time.monotonic() - start:.1f} s")
    return 0


def _insert_rescaling(args) -> int:
    from hlsflow.frontend.keras import load_model
    from hlsflow.ptq.api import insert_rescaling

    _save(insert_rescaling(load_model(args.model), args.scale, args.offset), args.destination)
    print(f"hlsflow: wrote {args.destination} (Rescaling scale={args.scale} offset={args.offset} in front)")
    return 0


def _cache(args) -> int:
    from hlsflow.backend import cache

    if args.clear:
        print(f"hlsflow: removed the build cache {cache.cache_dir()} ({cache.clear() / 2 ** 20:.1f} MB)")
        return 0
    held, files = cache.usage()
    print(f"hlsflow: build cache {cache.cache_dir()}: {held / 2 ** 20:.1f} MB in {files} files "
          f"(kept under {cache.limit_bytes() / 2 ** 20:.0f} MB, HLSFLOW_CACHE_LIMIT_MB; moved by HLSFLOW_CACHE_DIR)")
    print("hlsflow: `hlsflow cache --clear` empties it; builds then start from scratch once")
    return 0


def _sweep(args) -> int:
    from hlsflow.sweep import sweep

    start = time.monotonic()
    result = sweep(args.model, args.samples, args.labels, args.space, args.output, weights=args.weights,
                   calibration=args.calibration, search=args.search, points=args.points, seed=args.seed,
                   cpus_per_point=args.cpus_per_point, spot_check=args.spot_check, synthesis=not args.no_synthesis,
                   address=args.address, cpus=args.cpus)
    failed = [r for r in result.records if r["status"] != "ok"]
    print((result.directory / "pareto.txt").read_text(), end="")
    for r in failed:
        print(f"hlsflow: point {r['key']} failed: {r['error']}")
    print(f"hlsflow: this run evaluated {result.evaluated} points ({result.failed} failed) and skipped "
          f"{result.skipped} done before, in {time.monotonic() - start:.0f} s; {result.directory} holds "
          f"{len(result.records)} points ({len(failed)} failed): points.jsonl, points.csv, pareto.txt, pareto.png")
    return 0


def _save(model, path) -> None:
    from hlsflow.errors import OptionError

    if not str(path).endswith((".h5", ".keras")):
        raise OptionError(f"output {path}: expected a .h5 or .keras file name")
    model.save(path)


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error: `hlsflow: error: ...` and exit status 2."""

    def error(self, message):
        self.exit(2, f"hlsflow: error: {self.prog}: {message}\n")


def _conversion_options(p, samples: str, required: bool = False) -> None:
    p.add_argument("--samples", required=required, help=samples)
    p.add_argument("--config", help="conversion config JSON (as `hlsflow config` writes): per-layer type overrides")
    p.add_argument("--error-target", type=float,
                   help="max |output error| / output range on the samples (default 0.0025, with >= 99.9%% argmax agreement)")
    p.add_argument("--input-range", type=float, metavar="R",
                   help="without samples: inputs of a float model lie within +-R (sets a 16-bit input type)")
    p.add_argument("--weights", help="weights .h5 for a .json model (default: <model>_weights.h5)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hlsflow", description="Quantized Keras/QKeras models to bit-exact HLS projects.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_Parser)
    parser.verb_parsers = verbs.choices  # for naming a verb's flags in error messages

    p = verbs.add_parser("convert", help="convert a model into an HLS project")
    p.add_argument("model", help="model file: .h5, .keras, or .json (with --weights)")
    p.add_argument("-o", "--output", required=True, help="project directory to write")
    p.add_argument("--backend", default="vitis", choices=["vitis", "vivado"])
    p.add_argument("--io", default="parallel", choices=["parallel", "stream"],
                   help="I/O style: io_parallel arrays or io_stream FIFOs")
    _conversion_options(p, samples="calibration inputs (.npy or .npz): types from their ranges; "
                                      "the first 500 also go into tb_data")
    p.add_argument("--part", default="xcvu9p-flga2104-2-e", help="FPGA part")
    p.add_argument("--clock-period", type=float, default=5.0, help="clock period in ns")
    p.add_argument("--strategy", choices=["latency", "resource"],
                   help="default strategy of dense and conv layers: latency (constant weights in the logic) or "
                        "resource (weights in ROMs) (default: latency)")
    p.add_argument("--reuse-factor", type=int,
                   help="default reuse factor of dense and conv layers and recurrent cells: clocks per input "
                        "vector, output pixel or time step, each multiplier used that many times; above 1 selects "
                        "the resource strategy")
    p.add_argument("--parallelization-factor", type=int,
                   help="io_parallel: output pixels each conv/pool layer computes at once (default 1; up to the "
                        "output width, one row at a time; at least the output pixels: the whole layer at once)")
    p.add_argument("--top", help="name of the top function (default: from the model's name), e.g. to put two IPs "
                                 "of one model in a design")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    p.set_defaults(run=_convert)

    p = verbs.add_parser("profile", help="per-tensor ranges, chosen types, errors and overflow on samples")
    p.add_argument("model", help="model file: .h5, .keras, or .json (with --weights)")
    p.add_argument("--plot", help="write a picture of the distributions and chosen types (.png)")
    _conversion_options(p, samples="calibration inputs (.npy or .npz)", required=True)
    p.set_defaults(run=_profile)

    p = verbs.add_parser("check", help="overflow per tensor (emulator) and lossy weights; exit 1 on overflow")
    p.add_argument("model", help="project directory, or model file converted as `convert` would")
    p.add_argument("--threshold", type=float, default=0.01,
                   help="report weights whose rounding loses more than this fraction of max |w| (default 0.01)")
    _conversion_options(p, samples="inputs to check with (default: the project's tb_data, or generated ones); "
                                   "for a model file also its calibration inputs")
    p.set_defaults(run=_check)

    p = verbs.add_parser("config", help="write the per-layer config JSON: every type hlsflow chose and, for a "
                                        "quantized model, its quantization (for quantize -c)")
    p.add_argument("model", help="model file, or project directory")
    p.add_argument("-o", "--output", required=True, help="JSON file to write")
    _conversion_options(p, samples="calibration inputs (.npy or .npz)")
    p.set_defaults(run=_config)

    p = verbs.add_parser("csim", help="compile a project with g++ and compare with its Keras outputs")
    p.add_argument("project", help="project directory")
    p.set_defaults(run=_csim)

    p = verbs.add_parser("lint", help="synthesizability lint of a project's firmware, pragmas and tcl: one line "
                                      "per problem, exit 1 when any")
    p.add_argument("project", help="project directory")
    p.add_argument("--backend", choices=["vitis", "vivado"], help="the tool to check for (default: the project's)")
    p.set_defaults(run=_lint)

    p = verbs.add_parser("report", help="estimated resources and latency (beside synthesis results when present)")
    p.add_argument("project", help="project directory")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_report)

    p = verbs.add_parser("quantize", help="post-training quantization of a float model into QKeras")
    p.add_argument("model", help="float model file: .h5, .keras, or .json")
    p.add_argument("-i", "--input-weight-bits", type=int, default=8, help="weight bits of the first layer")
    p.add_argument("-w", "--weight-bits", type=int, default=8, help="weight bits of the other layers")
    p.add_argument("-a", "--activation-bits", type=int, default=8, help="activation bits")
    p.add_argument("--samples", help="calibration inputs (.npy, or .npz with the inputs first); "
                                     "default: 1024 random inputs")
    p.add_argument("-bs", "--batch-size", type=int, default=128, help="batch size for calibration")
    p.add_argument("--per-tensor-activations", action="store_true", help="one range per activation tensor")
    p.add_argument("--per-tensor-weights", action="store_true", help="one weight scale per layer (default: per channel)")
    p.add_argument("--calibration", default="minmax", choices=["minmax", "percentile", "entropy", "mse"])
    p.add_argument("--cle", action="store_true", help="cross-layer equalization first")
    p.add_argument("--bias-correction", action="store_true", help="correct the mean shift caused by quantization")
    p.add_argument("--adaround", action="store_true", help="learn the rounding of each weight on the samples")
    p.add_argument("-c", "--config", help="per-layer settings JSON (from `hlsflow config`)")
    p.add_argument("-o", "--output", required=True, help="quantized model to write (.h5)")
    p.set_defaults(run=_quantize)

    p = verbs.add_parser("insert-rescaling", help="put a Rescaling layer (x * scale + offset) in front of a model")
    p.add_argument("model", help="model file")
    p.add_argument("-s", "--scale", type=float, required=True)
    p.add_argument("-o", "--offset", type=float, default=0.0)
    p.add_argument("-d", "--destination", required=True, help="model file to write (.h5)")
    p.set_defaults(run=_insert_rescaling)

    p = verbs.add_parser("sweep", help="design-space sweep on Ray: accuracy against estimated cost per point, "
                                       "Pareto fronts")
    p.add_argument("model", help="float or QKeras model file: .h5, .keras, or .json (with --weights)")
    p.add_argument("--weights", help="weights .h5 for a .json model (default: <model>_weights.h5)")
    p.add_argument("--samples", required=True, help="labelled inputs (.npy; read in chunks) for the accuracy")
    p.add_argument("--labels", required=True, help="their classes (.npy: indices or one-hot rows)")
    p.add_argument("--space", required=True, help="YAML: values per knob, model-wide or per layer (see README)")
    p.add_argument("-o", "--output", required=True, help="results directory; rerunning with it resumes")
    p.add_argument("--calibration", help="inputs for PTQ and calibration (default: the first 1024 samples)")
    p.add_argument("--search", default="grid", choices=["grid", "random", "optuna"],
                   help="grid: every point; random / optuna (when installed): --points of them")
    p.add_argument("--points", type=int, help="points to evaluate with --search random|optuna")
    p.add_argument("--seed", type=int, default=0, help="seed of the random and optuna searches")
    p.add_argument("--cpus-per-point", type=float, default=1, help="Ray CPU request of each point (default 1)")
    p.add_argument("--spot-check", type=int, default=32, metavar="N",
                   help="rows checked in csim (g++) against the emulator per point (default 32; 0: no g++)")
    p.add_argument("--no-synthesis", action="store_true", help="skip vitis_hls C synthesis even when on PATH")
    p.add_argument("--address", help="existing Ray cluster (e.g. auto, ray://head:10001); default: local Ray")
    p.add_argument("--cpus", type=int, help="CPUs of the local Ray instance (default: all)")
    p.set_defaults(run=_sweep)

    p = verbs.add_parser("dump", help="print a project's IR as text")
    p.add_argument("project", help="project directory")
    p.set_defaults(run=_dump)

    p = verbs.add_parser("cache", help="where the build cache (compiled csim libraries) is and its size")
    p.add_argument("--clear", action="store_true", help="remove the whole build cache")
    p.set_defaults(run=_cache)
    return parser


def main(argv=None) -> int:
    import warnings

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    from hlsflow.errors import HlsflowError, OptionError

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("always", message="quantize:")
            warnings.showwarning = _warning_printer(args.debug)
            return args.run(args)
    except HlsflowError as exc:
        if args.debug:
            raise
        message = _as_typed(parser.verb_parsers[args.verb], argv, args, exc) if isinstance(exc, OptionError) \
            else str(exc)
        print(f"hlsflow: error: {message}", file=sys.stderr)
        return 2


def _warning_printer(debug: bool):
    """hlsflow's own warnings as one line each (no source line); other
    libraries' warnings only with --debug."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__") == "warnings":
            frame = frame.f_back  # up to the code that called warnings.warn
        if frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "hlsflow":
            print(f"hlsflow: warning: {message}", file=sys.stderr)
        elif debug:
            print(warnings.formatwarning(message, category, filename, lineno, line), end="", file=sys.stderr)
    return show


API_NAMES = {"io_type": "io", "per_channel": "per_tensor_weights"}  # Python argument -> command-line dest


def _as_typed(verb_parser, argv, args, exc) -> str:
    """An OptionError's message naming the flag the user typed and its value
    ("-w 0: ...") rather than the Python argument ("weight_bits=0: ...")."""
    dest = API_NAMES.get(exc.option, exc.option)
    action = next((a for a in verb_parser._actions if a.dest == dest), None)
    if action is None or getattr(args, dest, None) is None:
        return str(exc)
    value = getattr(args, dest)
    if not action.option_strings:  # a positional argument: its value
        return f"{value}: {exc.reason}"
    typed = next((s for s in action.option_strings for token in argv if token == s or token.startswith(s + "=")),
                 action.option_strings[-1])
    return f"{typed}: {exc.reason}" if isinstance(value, bool) else f"{typed} {value}: {exc.reason}"
