"""Errors raised by schemas/."""


class InvalidMessage(ValueError):
    """A message that cannot become a document; ``reason`` goes to the dead-letter topic."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
