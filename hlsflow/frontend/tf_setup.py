"""Importing TensorFlow with the right Keras.

Two Keras live side by side in one process: tf-keras (Keras 2, what QKeras
builds on, reached as `tf_keras` and, with TF_USE_LEGACY_KERAS=1, as
`tf.keras`) and Keras 3 (the `keras` package, which most float models are
built with today). TensorFlow decides what `tf.keras` (and `tensorflow.keras.*`)
is when it is imported, from TF_USE_LEGACY_KERAS; the `keras` package stays
Keras 3 either way. So
hlsflow sets TF_USE_LEGACY_KERAS=1 as early as it can (`import hlsflow`),
and a model is always run by the Keras that built it (`keras_of`).
"""
import contextlib
import importlib
import os
import sys

from hlsflow import progress
from hlsflow.errors import HlsflowError

LEGACY_KERAS_FIX = ("import hlsflow before tensorflow and keras in your script, or set TF_USE_LEGACY_KERAS=1 "
                    "before TensorFlow is imported")


def prefer_legacy_keras() -> None:
    """Set TF_USE_LEGACY_KERAS=1 unless TensorFlow is imported already (it reads the
    variable when it is imported). Imports nothing."""
    if "tensorflow" not in sys.modules:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"


def import_tensorflow():
    """TensorFlow, imported quietly (its C++ start-up logs hidden) with a progress line."""
    if "tensorflow" not in sys.modules:
        prefer_legacy_keras()
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with progress.step("loading TensorFlow"), _quiet_stderr():
            import tensorflow as tf

            tf.config.list_physical_devices()  # device probing logs too
    import tensorflow as tf

    return tf


def import_keras():
    """(tf, tf_keras) for QKeras and tf-keras models; HlsflowError naming the fix
    when TensorFlow already made tf.keras Keras 3 (QKeras cannot work then)."""
    prefer_legacy_keras()
    tf = import_tensorflow()
    import tf_keras

    layers = importlib.import_module("tensorflow.keras.layers")  # as QKeras imports them
    if not layers.Dense.__module__.startswith("tf_keras"):
        raise HlsflowError(f"TensorFlow was imported with Keras 3 as tf.keras, and QKeras needs tf-keras: "
                           f"{LEGACY_KERAS_FIX}")
    _restore_moved_names()
    return tf, tf_keras


def import_keras3():
    """The Keras 3 package (`keras`), for models built with it."""
    import_tensorflow()
    import keras

    if not keras.__version__.startswith("3."):
        raise HlsflowError(f"the installed keras package is {keras.__version__}, not Keras 3")
    return keras


def is_keras3(model) -> bool:
    """Whether a model (or layer) was built with Keras 3 rather than tf-keras."""
    return any(cls.__module__.split(".")[0] == "keras" for cls in type(model).__mro__)


def keras_of(model):
    """The Keras module that built `model`: tf_keras or Keras 3's keras."""
    return import_keras3() if is_keras3(model) else import_keras()[1]


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
