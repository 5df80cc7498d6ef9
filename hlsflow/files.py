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
