"""Errors raised by models/."""

from config.errors import FinsentError


class ModelError(FinsentError):
    """Root of every error models/ raises."""

    exit_code = 4


class ModelConfigError(ModelError, ValueError):
    """A model directory, label map or training option is wrong."""

    exit_code = 2


class EmptyTextError(ModelError, ValueError):
    """A text to classify is empty or only whitespace."""


class TrainingStopped(ModelError):
    """A training run cut off between checkpoints, as by a kill (the ``stop_after_steps`` hook of tests)."""


class SpanError(ModelError, ValueError):
    """A mention span is not two integers ``0 <= start <= end <= len(text)``."""

    exit_code = 2
