"""Exceptions raised by hlsflow; the CLI prints their message as one line."""


class HlsflowError(Exception):
    """Base class: a problem with the user's input, stated in one line."""


class ModelLoadError(HlsflowError):
    """A model file is missing, unreadable or not a Keras model."""


class UnsupportedError(HlsflowError):
    """A layer, quantizer or setting hlsflow cannot convert."""


class OptionError(HlsflowError):
    """An option value is invalid."""


class ProjectError(HlsflowError):
    """A generated project is missing, incomplete, or would overwrite user files."""


class BuildError(HlsflowError):
    """The C++ compiler failed or is missing."""
