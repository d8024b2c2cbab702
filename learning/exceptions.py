"""Errors of the learning loop, with messages meant for the operator."""

from config.errors import FinsentError


class LearningError(FinsentError):
    """A label, registry or retraining request that cannot be done as asked."""

    exit_code = 7
