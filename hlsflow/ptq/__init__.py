"""Post-training quantization: float Keras -> QKeras (public entry: `hlsflow.quantize`,
implemented in api.quantize). The package is `ptq`, not `quantize`, so that it
does not shadow the `hlsflow.quantize` function."""
