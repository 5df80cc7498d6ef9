"""Post-training quantization: float Keras -> QKeras (see api.quantize)."""
