"""Import TensorFlow with legacy Keras (tf-keras), as QKeras requires."""
import contextlib
import os
import sys

from hlsflow.errors import HlsflowError


def import_keras():
    """Return (tf, tf_keras) after making sure TensorFlow uses Keras 2 (tf-keras)."""
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _quiet_stderr():
        import tensorflow as tf
        import tf_keras

        tf.config.list_physical_devices()  # device probing logs too

    if not tf_keras.__version__.startswith("2.") or "keras.src" in type(tf.keras.layers.Dense).__module__:
        raise HlsflowError(
            "TensorFlow was imported with Keras 3 before hlsflow; set TF_USE_LEGACY_KERAS=1 "
            "before importing TensorFlow (QKeras needs tf-keras)"
        )
    _restore_moved_names()
    return tf, tf_keras


def _restore_moved_names():
    """QKeras 0.9's QSimpleRNN and QGRU cells call two TensorFlow functions by
    names later TensorFlow versions moved: `nest.is_sequence` (now
    `nest.is_nested`) and `array_ops.unstack` (now in `array_ops_stack`).
    Without the old names those cells cannot run at all."""
    from tensorflow.python.ops import array_ops, array_ops_stack
    from tensorflow.python.util import nest

    if not hasattr(nest, "is_sequence"):
        nest.is_sequence = nest.is_nested
    if not hasattr(array_ops, "unstack"):
        array_ops.unstack = array_ops_stack.unstack


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the C++ log lines TensorFlow writes to file descriptor 2 while it
    loads (no environment variable turns them off); HLSFLOW_DEBUG=1 keeps them."""
    if os.environ.get("HLSFLOW_DEBUG") or "tensorflow" in sys.modules:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def custom_objects() -> dict:
    """QKeras layer and quantizer classes, for deserializing saved models."""
    import_keras()
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    objects["QActivation"] = _qactivation_from_config(objects["QActivation"])
    return objects


def _qactivation_from_config(qactivation):
    """QActivation whose from_config accepts the quantizer dict that the .keras
    format stores (QKeras 0.9 keeps that dict as if it were the quantizer)."""
    from qkeras.quantizers import get_quantizer

    class QActivationLoader:
        @classmethod
        def from_config(cls, config):
            if isinstance(config.get("activation"), dict):
                config = dict(config, activation=get_quantizer(config["activation"]))
            return qactivation.from_config(config)

    return QActivationLoader
