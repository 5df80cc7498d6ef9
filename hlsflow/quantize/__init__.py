"""Post-training quantization: float Keras -> QKeras (see api.quantize).

Importing a submodule binds `hlsflow.quantize` to this package, shadowing the
function of the same name in hlsflow/__init__.py; the package is therefore
callable and does the same thing.
"""
import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, model, **kwargs):
        from hlsflow.quantize.api import quantize

        return quantize(model, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
