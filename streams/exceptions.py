"""Errors raised by streams/."""

from config.errors import FinsentError


class StreamError(FinsentError):
    """Root of every error streams/ raises."""

    exit_code = 6


class BrokerError(StreamError):
    """The Kafka broker cannot be started or reached."""


class ClassifierUnavailable(StreamError):
    """The model fails on every input, a known-good one included: an infrastructure failure, not bad documents."""


class MessageTooLarge(StreamError):
    """The broker (or the producer's own limit) refused a message for its size."""
