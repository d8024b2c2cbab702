"""Errors raised by streams/."""


class StreamError(Exception):
    """Root of every error streams/ raises."""


class BrokerError(StreamError):
    """The Kafka broker cannot be started or reached."""
