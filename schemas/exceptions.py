"""Errors raised by schemas/."""

from config.errors import FinsentError


class InvalidMessage(FinsentError, ValueError):
    """A message that cannot become a document; ``reason`` goes to the dead-letter topic (bad input: exit status 2)."""

    exit_code = 2

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
