"""Errors raised by models/."""


class ModelError(Exception):
    """Root of every error models/ raises."""


class ModelConfigError(ModelError, ValueError):
    """A model directory, label map or training option is wrong."""


class EmptyTextError(ModelError, ValueError):
    """A text to classify is empty or only whitespace."""
