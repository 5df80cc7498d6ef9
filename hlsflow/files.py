"""Reading the user's input files (config JSON, sample arrays) with one-line errors."""
import json

from hlsflow.errors import OptionError


def load_json(path, option: str):
    """A JSON file's content; OptionError naming the option and file otherwise."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise OptionError(f"{option} {path}: not a readable JSON file ({exc})") from exc


def load_samples(path, option: str = "--samples"):
    """An array from .npy, or the arrays of an .npz (one per model input)."""
    import numpy as np

    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise OptionError(f"{option} {path}: not a readable .npy/.npz file ({exc})") from exc
    if hasattr(data, "files"):
        return [data[k] for k in data.files] if len(data.files) > 1 else data[data.files[0]]
    return data


def fit_samples(samples, shapes: dict, option: str = "samples") -> list:
    """The samples as one array (N, *shape) per model input, from an
    array (one input) or a list of arrays; each sample may also come flattened.
    `shapes`: {input name: shape}. OptionError naming the option, the input,
    the expected and the given shape otherwise."""
    import math

    import numpy as np

    arrays = list(samples) if isinstance(samples, (list, tuple)) else [samples]
    if len(arrays) != len(shapes):
        raise OptionError(f"{len(arrays)} array(s) for the model's {len(shapes)} input(s) ({', '.join(shapes)}): "
                          "give one array per input (an .npz of several arrays)", option=option)
    fitted = []
    for (name, shape), array in zip(shapes.items(), arrays):
        array = np.asarray(array)
        expected = "(N, " + ", ".join(map(str, shape)) + ")"
        if array.dtype.kind not in "fiub":
            raise OptionError(f"input {name!r}: {array.dtype} values, not numbers", option=option)
        if array.ndim < 2 or math.prod(array.shape[1:]) != math.prod(shape):
            raise OptionError(f"shape {array.shape} does not fit input {name!r}: expected {expected}", option=option)
        fitted.append(array.reshape((len(array),) + tuple(shape)))
    if len({len(a) for a in fitted}) > 1:
        raise OptionError(f"arrays of different lengths {[len(a) for a in fitted]}: one sample per row in each",
                          option=option)
    return fitted
