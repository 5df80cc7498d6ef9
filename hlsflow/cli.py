"""The `hlsflow` command. Heavy imports (TensorFlow) happen inside the verbs."""
from __future__ import annotations

import argparse
import sys
import time


def _convert(args) -> int:
    from hlsflow.project import convert

    start = time.monotonic()
    samples = _load_samples(args.samples) if args.samples else None
    project = convert(args.model, args.output, backend=args.backend, io_type=f"io_{args.io}", samples=samples,
                      config=args.config, force=args.force, weights=args.weights, part=args.part,
                      clock_period=args.clock_period)
    print(f"hlsflow: wrote {project.directory} ({args.backend}, io_{args.io}) in {time.monotonic() - start:.1f} s")
    print(f"hlsflow: next: make -C {project.directory} csim   or   hlsflow csim {project.directory}")
    return 0


def _csim(args) -> int:
    from hlsflow.project import Project

    project = Project.load(args.project)
    lines, ok = project.csim(progress=True)
    print("\n".join(lines))
    return 0 if ok else 1


def _dump(args) -> int:
    from hlsflow.project import Project

    print(Project.load(args.project).graph.dump())
    return 0


def _quantize(args) -> int:
    import warnings

    from hlsflow.frontend.keras import load_model
    from hlsflow.quantize.api import quantize

    start = time.monotonic()
    samples = _load_samples(args.samples) if args.samples else None
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


def _config(args) -> int:
    import json
    from pathlib import Path

    from hlsflow.frontend.keras import load_model
    from hlsflow.quantize.api import layer_config

    Path(args.output).write_text(json.dumps(layer_config(load_model(args.model)), indent=2) + "\n")
    print(f"hlsflow: wrote {args.output}; edit it and re-quantize the float model with -c {args.output}")
    return 0


def _insert_rescaling(args) -> int:
    from hlsflow.frontend.keras import load_model
    from hlsflow.quantize.api import insert_rescaling

    _save(insert_rescaling(load_model(args.model), args.scale, args.offset), args.destination)
    print(f"hlsflow: wrote {args.destination} (Rescaling scale={args.scale} offset={args.offset} in front)")
    return 0


def _save(model, path) -> None:
    from hlsflow.errors import OptionError

    if not str(path).endswith((".h5", ".keras")):
        raise OptionError(f"output {path}: expected a .h5 or .keras file name")
    model.save(path)


def _load_samples(path):
    import numpy as np

    from hlsflow.errors import OptionError

    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise OptionError(f"--samples {path}: not a readable .npy/.npz file ({exc})") from exc
    if hasattr(data, "files"):
        return [data[k] for k in data.files] if len(data.files) > 1 else data[data.files[0]]
    return data


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hlsflow", description="Quantized Keras/QKeras models to bit-exact HLS projects.")
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser("convert", help="convert a model into an HLS project")
    p.add_argument("model", help="model file: .h5, .keras, or .json (with --weights)")
    p.add_argument("--weights", help="weights .h5 for a .json model (default: <model>_weights.h5)")
    p.add_argument("-o", "--output", required=True, help="project directory to write")
    p.add_argument("--backend", default="vitis", choices=["vitis", "vivado"])
    p.add_argument("--io", default="parallel", choices=["parallel"], help="I/O style (io_stream: not yet)")
    p.add_argument("--samples", help="inputs for tb_data (.npy or .npz)")
    p.add_argument("--config", help="conversion config JSON")
    p.add_argument("--part", default="xcvu9p-flga2104-2-e", help="FPGA part")
    p.add_argument("--clock-period", type=float, default=5.0, help="clock period in ns")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    p.set_defaults(run=_convert)

    p = verbs.add_parser("csim", help="compile a project with g++ and compare with its Keras outputs")
    p.add_argument("project", help="project directory")
    p.set_defaults(run=_csim)

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

    p = verbs.add_parser("config", help="write the per-layer quantization of a quantized model as JSON")
    p.add_argument("model", help="quantized model file")
    p.add_argument("-o", "--output", required=True, help="JSON file to write")
    p.set_defaults(run=_config)

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
