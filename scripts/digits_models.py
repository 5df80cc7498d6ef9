"""Float Keras models trained on scikit-learn's 8x8 digits (1797 samples), for the
quantization tests and benchmark: an MLP and a small CNN with a depthwise conv."""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def digits():
    """(x_train, y_train, x_test, y_test): pixels 0..16 as float32, a fixed 75/25 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x.astype(np.float32), y, test_size=0.25, random_state=0,
                                                        stratify=y)
    return x_train, y_train, x_test, y_test


def mlp(seed=0):
    """64-32-BN-ReLU-16-ReLU-10 MLP."""
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
    keras.utils.set_random_seed(seed)
    L = keras.layers
    return keras.Sequential([
        L.InputLayer((64,), name="pixels"),
        L.Dense(32, name="fc1"), L.BatchNormalization(name="bn1"), L.ReLU(name="relu1"),
        L.Dense(16, activation="relu", name="fc2"),
        L.Dense(10, activation="softmax", name="fc3"),
    ], name="digits_mlp")


def cnn(seed=0):
    """8x8x1 -> conv3x3(8)-BN-ReLU -> depthwise3x3-BN-ReLU -> conv1x1(16)-ReLU -> maxpool -> dense(10)."""
    from hlsflow.frontend.tf_setup import import_keras

    _, keras = import_keras()
    keras.utils.set_random_seed(seed)
    L = keras.layers
    return keras.Sequential([
        L.InputLayer((8, 8, 1), name="image"),
        L.Conv2D(8, 3, padding="same", name="conv1"), L.BatchNormalization(name="bn1"), L.ReLU(name="relu1"),
        L.DepthwiseConv2D(3, padding="same", name="dw2"), L.BatchNormalization(name="bn2"), L.ReLU(name="relu2"),
        L.Conv2D(16, 1, activation="relu", name="pw3"),
        L.MaxPooling2D(2, name="pool"), L.Flatten(name="flatten"),
        L.Dense(10, activation="softmax", name="fc"),
    ], name="digits_cnn")


def trained(build, epochs=40, seed=0):
    """(model, data) with the model trained on the digits training split."""
    x_train, y_train, x_test, y_test = digits()
    model = build(seed)
    shape = (-1,) + tuple(model.input_shape[1:])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.reshape(shape), y_train, epochs=epochs, batch_size=32, verbose=0)
    return model, (x_train.reshape(shape), y_train, x_test.reshape(shape), y_test)


def accuracy(model, x, y) -> float:
    """Top-1 accuracy in percent."""
    return float(np.mean(np.argmax(model.predict(x, verbose=0, batch_size=512), axis=-1) == y) * 100)
