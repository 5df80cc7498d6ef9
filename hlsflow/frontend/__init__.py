"""Keras/QKeras model loading and translation into the IR."""
