"""The `hlsflow` command. Heavy imports (TensorFlow) happen inside the verbs."""
from __future__ import annotations

import argparse
import sys
import time

from hlsflow.files import load_json, load_samples


def _convert(args) -> int:
    from hlsflow.project import convert

    start = time.monotonic()
    samples = load_samples(args.samples) if args.samples else None
    config = load_json(args.config, "--config") if args.config else {}
    for key in ("strategy", "reuse_factor"):
        if getattr(args, key) is not None:
            config[key] = getattr(args, key)
    project = convert(args.model, args.output, backend=args.backend, io_type=f"io_{args.io}", samples=samples,
                      config=config, force=args.force, weights=args.weights, part=args.part,
                      clock_period=args.clock_period, error_target=args.error_target, input_range=args.input_range)
    print(f"hlsflow: wrote {project.directory} ({args.backend}, io_{args.io}) in {time.monotonic() - start:.1f} s")
    if "profile" in project.graph.meta:
        print(_calibration_line(project.graph))
    print(f"hlsflow: next: make -C {project.directory} csim   or   hlsflow csim {project.directory}")
    return 0


def _calibration_line(graph) -> str:
    from hlsflow.passes.profile import mean_width

    m = graph.meta["profile"]
    errors = ", ".join(f"{t} {e:.2%}" for t, e in m["max_error"].items())
    line = (f"hlsflow: calibrated on {m['samples']} samples: max error / range {errors} "
            f"(target {m['error_target']:.2%}), argmax agreement {m['argmax_agreement']:.2%}, "
            f"mean width {mean_width(graph):.1f} bits")
    if "softmax_error" in m:
        line += f"; the softmax tables leave a max error of {m['softmax_error']:.2g}"
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

    samples = load_samples(args.samples)
    model, graph = _graph_for(args, samples)
    if model is None:
        from hlsflow.errors import OptionError

        raise OptionError(f"profile {args.model}: needs a model file, not a project directory")
    values = profile.record(model, graph, samples, set(graph.tensors))
    rows = profile.quantization_table(graph, to_graph(model), values)
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
    from hlsflow.project import stress_samples

    samples = load_samples(args.samples) if args.samples else None
    _, graph = _graph_for(args, samples)
    if samples is None:
        tb = Path(args.model) / "tb_data" / "inputs.txt"
        samples = np.loadtxt(tb, ndmin=2) if tb.is_file() else stress_samples(graph)
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
    import warnings

    from hlsflow.frontend.keras import load_model
    from hlsflow.ptq.api import quantize

    start = time.monotonic()
    samples = load_samples(args.samples) if args.samples else None
    if isinstance(samples, list):  # an .npz of several arrays: the inputs are "x" (or the first)
        samples = samples[0]
    with warnings.catch_warnings():
        warnings.filterwarnings("always", message="quantize:")
        warnings.showwarning = lambda message, *rest, **kw: print(f"hlsflow: warning: {message}", file=sys.stderr)
        qmodel = quantize(load_model(args.model), weight_bits=args.weight_bits, activation_bits=args.activation_bits,
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
                   help="default strategy of dense layers (default: latency)")
    p.add_argument("--reuse-factor", type=int,
                   help="default reuse factor of dense layers and recurrent cells; above 1 selects the "
                        "resource strategy (convolutions stay unrolled)")
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

    p = verbs.add_parser("dump", help="print a project's IR as text")
    p.add_argument("project", help="project directory")
    p.set_defaults(run=_dump)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from hlsflow.errors import HlsflowError

    try:
        return args.run(args)
    except HlsflowError as exc:
        if args.debug:
            raise
        print(f"hlsflow: error: {exc}", file=sys.stderr)
        return 2
