"""The search space of a sweep: values per knob, model-wide or per layer.

A space is a YAML file (or the same dict):

    weight_bits: [4, 6, 8]          # model-wide knobs: a list of values, or one value
    activation_bits: [6, 8]
    reuse_factor: [1, 2, 4]
    layers:                         # per-layer knobs, by layer name
      fc1: {weight_bits: [6, 8]}
      relu1: {activation_bits: [4, 8]}
    baseline:                       # optional: a hand-chosen point, evaluated too and compared with the front
      weight_bits: 8
      activation_bits: 8
      reuse_factor: 1

A point gives each knob one value; `null` (None) means "not set": the
default, or for a per-layer knob the model-wide value. Weight and
activation bits quantize a float model with hlsflow's PTQ (unset bits: 8);
a QKeras model states its own precisions, so bits knobs are an error there.
Per-layer `weight_bits` name a compute layer, per-layer `activation_bits` an
activation quantizer of the quantized model (as `hlsflow config` lists them:
a ReLU keeps its name, another layer's output is `<layer>_quant`, the input
`<input>_quant`), per-layer `reuse_factor`/`strategy` a layer of the IR.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from hlsflow.errors import OptionError

DEFAULT_BITS = 8


def _bits(v):
    return isinstance(v, int) and not isinstance(v, bool) and 2 <= v <= 16


def _positive_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _positive_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


IO_TYPES = {"io_parallel": "io_parallel", "parallel": "io_parallel", "io_stream": "io_stream", "stream": "io_stream"}
# knob -> (check, what a valid value is)
MODEL_KNOBS = {
    "weight_bits": (_bits, "an integer from 2 to 16"),
    "activation_bits": (_bits, "an integer from 2 to 16"),
    "error_target": (_positive_number, "a positive number (max output error / range of calibrated float tensors)"),
    "reuse_factor": (_positive_int, "a positive integer"),
    "strategy": (lambda v: v in ("latency", "resource"), "latency or resource"),
    "io_type": (lambda v: v in IO_TYPES, "io_parallel or io_stream"),
    "clock_period": (_positive_number, "a positive number of nanoseconds"),
}
LAYER_KNOBS = ("weight_bits", "activation_bits", "reuse_factor", "strategy")
BITS_KNOBS = ("weight_bits", "activation_bits")


class Space:
    """Knob name -> list of values. Model-wide knobs are named as in MODEL_KNOBS,
    per-layer knobs `<layer>.<knob>`; `baseline` is a point (or None)."""

    def __init__(self, knobs: dict[str, list], baseline: dict | None = None):
        self.knobs = knobs
        self.baseline = baseline

    @property
    def quantizes(self) -> bool:
        """Whether points run PTQ (the space has a bits knob, model-wide or per layer)."""
        return any(name.rsplit(".", 1)[-1] in BITS_KNOBS for name in self.knobs)

    def size(self) -> int:
        """Points in the full grid."""
        return math.prod(len(values) for values in self.knobs.values())

    def point(self, config: dict) -> dict:
        """The point (every knob of the space, in the space's order) of a Tune config."""
        return {name: config.get(name) for name in self.knobs}


def load_space(space, where: str | None = None) -> Space:
    """A Space from a YAML file path or a dict; OptionError naming the file and knob otherwise."""
    if isinstance(space, Space):
        return space
    where = where or (str(space) if isinstance(space, (str, Path)) else "space")
    if isinstance(space, (str, Path)):
        import yaml

        try:
            space = yaml.safe_load(Path(space).read_text())
        except (OSError, yaml.YAMLError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise OptionError(f"--space {where}: not a readable YAML file ({first})") from exc
    if not isinstance(space, dict) or not space:
        raise OptionError(f"{where}: expected a mapping of knobs to values (e.g. weight_bits: [4, 6, 8])")
    knobs = _knobs(space, where, values=True)
    if not knobs:
        raise OptionError(f"{where}: no knobs (known: {', '.join(MODEL_KNOBS)}, and `layers`)")
    baseline = None
    if space.get("baseline") is not None:
        single = _knobs(space["baseline"], f"{where}: baseline", values=False)
        extra = sorted(set(single) - set(knobs))
        if extra:
            raise OptionError(f"{where}: baseline sets {extra[0]!r}, which is not a knob of the space")
        baseline = {name: single.get(name, [None])[0] for name in knobs}
    return Space(knobs, baseline)


def _knobs(section, where: str, values: bool) -> dict[str, list]:
    if not isinstance(section, dict):
        raise OptionError(f"{where}: expected a mapping of knobs to values")
    knobs = {}
    for name, value in section.items():
        if name == "layers":
            if not isinstance(value, dict):
                raise OptionError(f"{where}: layers: expected a mapping of layer names to knobs")
            for layer, own in value.items():
                if not isinstance(own, dict) or not own:
                    raise OptionError(f"{where}: layers.{layer}: expected a mapping of knobs to values")
                for knob, v in own.items():
                    if knob not in LAYER_KNOBS:
                        raise OptionError(f"{where}: layers.{layer}.{knob}: not a per-layer knob "
                                          f"(known: {', '.join(LAYER_KNOBS)})")
                    knobs[f"{layer}.{knob}"] = _values(v, knob, f"{where}: layers.{layer}.{knob}", values)
        elif name == "baseline" and values:
            continue
        elif name in MODEL_KNOBS:
            knobs[name] = _values(value, name, f"{where}: {name}", values)
        else:
            raise OptionError(f"{where}: {name!r} is not a knob (known: {', '.join(MODEL_KNOBS)}, layers, baseline)")
    return knobs


def _values(value, knob: str, where: str, many: bool) -> list:
    if isinstance(value, list) and not many:
        raise OptionError(f"{where}: a baseline gives one value, not a list")
    values = value if isinstance(value, list) else [value]
    if not values:
        raise OptionError(f"{where}: empty list of values")
    check, meaning = MODEL_KNOBS[knob]
    out = []
    for v in values:
        if v is not None and not check(v):
            raise OptionError(f"{where}: {v!r} is not {meaning}")
        if knob == "io_type" and v is not None:
            v = IO_TYPES[v]
        elif knob in ("clock_period", "error_target") and v is not None:
            v = float(v)
        if v in out:
            raise OptionError(f"{where}: {v!r} is listed twice")
        out.append(v)
    return out


def point_key(point: dict) -> str:
    """A short stable name of a point: a hash of its knob values."""
    return hashlib.sha256(json.dumps(point, sort_keys=True).encode()).hexdigest()[:12]


def settings(point: dict) -> dict:
    """What a point asks of quantize and convert:
    {"bits": {"weight_bits", "activation_bits", "layers": {name: {...}}} or None,
     "io_type", "clock_period", "error_target", "config": convert's config}."""
    model = {k: v for k, v in point.items() if "." not in k and v is not None}
    layers: dict[str, dict] = {}
    for name, v in point.items():
        if "." in name and v is not None:
            layer, knob = name.rsplit(".", 1)
            layers.setdefault(layer, {})[knob] = v
    bits = None
    if any(k.rsplit(".", 1)[-1] in BITS_KNOBS for k in point):
        overrides = {}
        for layer, own in layers.items():
            if "weight_bits" in own:
                overrides.setdefault(layer, {})["weight_bits"] = own["weight_bits"]
            if "activation_bits" in own:
                overrides.setdefault(layer, {})["bits"] = own["activation_bits"]
        bits = {"weight_bits": model.get("weight_bits", DEFAULT_BITS),
                "activation_bits": model.get("activation_bits", DEFAULT_BITS), "layers": overrides}
    config = {k: model[k] for k in ("strategy", "reuse_factor") if k in model}
    hardware = {layer: {k: own[k] for k in ("strategy", "reuse_factor") if k in own} for layer, own in layers.items()}
    hardware = {layer: own for layer, own in hardware.items() if own}
    if hardware:
        config["layers"] = hardware
    return {"bits": bits, "io_type": model.get("io_type", "io_parallel"), "clock_period": model.get("clock_period"),
            "error_target": model.get("error_target"), "config": config}
