"""Exceptions raised by hlsflow; the CLI prints their message as one line."""


class HlsflowError(Exception):
    """Base class: a problem with the user's input, stated in one line."""


class ModelLoadError(HlsflowError):
    """A model file is missing, unreadable or not a Keras model."""


class UnsupportedError(HlsflowError):
    """A layer, quantizer or setting hlsflow cannot convert."""


class OptionError(HlsflowError):
    """An option value is invalid. Raised as OptionError(reason, option=name, value=v)
    it reads "name=v: reason" (or "name: reason" without a value) from Python, and
    the command line names the flag the user typed instead ("-w 0: reason")."""

    def __init__(self, message: str, option: str | None = None, value=None):
        self.option, self.value, self.reason = option, value, message
        if option is not None:
            message = f"{option}={value!r}: {message}" if value is not None else f"{option}: {message}"
        super().__init__(message)


class ProjectError(HlsflowError):
    """A generated project is missing, incomplete, or would overwrite user files."""


class BuildError(HlsflowError):
    """The C++ compiler failed or is missing."""
