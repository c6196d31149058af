"""Errors a user can cause. Each carries one sentence and an exit code; the CLI prints
the sentence and exits with the code, never a traceback."""


class MCUForgeError(Exception):
    """Base class: a problem with the user's input, stated in one sentence."""

    exit_code = 2


class ModelFormatError(MCUForgeError):
    """The file is missing, truncated, corrupted or not a TFLite model."""


class UnsupportedError(MCUForgeError):
    """The model uses an operator, dtype or option mcuforge does not support."""


class InputError(MCUForgeError):
    """An input array has the wrong shape or dtype, or cannot be read."""


class GraphError(MCUForgeError):
    """A graph violates an IR invariant (found by ir.verify)."""


class DataError(InputError):
    """A data set is missing, malformed, or too small to split (files, arrays, labels)."""
