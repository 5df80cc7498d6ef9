"""Import TensorFlow with legacy Keras (tf-keras), as QKeras requires."""
import os
import sys

from hlsflow.errors import HlsflowError


def import_keras():
    """Return (tf, tf_keras) after making sure TensorFlow uses Keras 2 (tf-keras)."""
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf_keras

    if not tf_keras.__version__.startswith("2.") or "keras.src" in type(tf.keras.layers.Dense).__module__:
        raise HlsflowError(
            "TensorFlow was imported with Keras 3 before hlsflow; set TF_USE_LEGACY_KERAS=1 "
            "before importing TensorFlow (QKeras needs tf-keras)"
        )
    return tf, tf_keras


def custom_objects() -> dict:
    """QKeras layer and quantizer classes, for deserializing saved models."""
    import_keras()
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects
