"""hlsflow: quantized Keras/QKeras networks to bit-exact Vivado/Vitis HLS projects.

Importing hlsflow is light: TensorFlow loads only when a model is loaded or converted.
Import it before TensorFlow: it sets TF_USE_LEGACY_KERAS=1 (without importing
TensorFlow) so that QKeras works in the same script; Keras 3 (`import keras`)
stays available for float models.
"""
from hlsflow.errors import HlsflowError
from hlsflow.frontend.tf_setup import prefer_legacy_keras

prefer_legacy_keras()
from hlsflow.sweep import sweep  # light; keeps `hlsflow.sweep` the function, not the subpackage

__version__ = "0.1.0"
__all__ = ["convert", "quantize", "sweep", "load_model", "load_project", "HlsflowError", "__version__"]


def convert(model, output_dir, **kwargs):
    """Convert a Keras/QKeras model (object or path) into an HLS project; returns a Project.
    See hlsflow.project.convert for the options."""
    from hlsflow.project import convert as _convert

    return _convert(model, output_dir, **kwargs)


def quantize(model, **kwargs):
    """Post-training quantization of a float Keras model (object or path) into a
    QKeras model that convert() turns into HLS bit-exactly.
    See hlsflow.ptq.api.quantize for the options."""
    from hlsflow.ptq.api import quantize as _quantize

    return _quantize(model, **kwargs)


def load_model(path, weights=None):
    """Load a Keras/QKeras model from .h5, .keras, or .json plus a weights .h5."""
    from hlsflow.frontend.keras import load_model as _load

    return _load(path, weights)


def load_project(directory):
    """Open a generated project (its project.json) without TensorFlow."""
    from hlsflow.project import Project

    return Project.load(directory)
