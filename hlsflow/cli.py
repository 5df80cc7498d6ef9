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
    p.add_argument("--io", default="parallel", choices=["parallel", "stream"], help="I/O style: io_parallel arrays or io_stream FIFOs")
    p.add_argument("--samples", help="inputs for tb_data (.npy or .npz)")
    p.add_argument("--config", help="conversion config JSON")
    p.add_argument("--part", default="xcvu9p-flga2104-2-e", help="FPGA part")
    p.add_argument("--clock-period", type=float, default=5.0, help="clock period in ns")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    p.set_defaults(run=_convert)

    p = verbs.add_parser("csim", help="compile a project with g++ and compare with its Keras outputs")
    p.add_argument("project", help="project directory")
    p.set_defaults(run=_csim)

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
