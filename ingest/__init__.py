"""Producer-side sources for finsent: the synthetic feed and file replay."""

from ingest.generator import Burst, FeedConfig, FeedGenerator, FeedStats
from ingest.messages import OutgoingMessage
from ingest.replay import count_lines, read_messages

__all__ = [
    "Burst",
    "FeedConfig",
    "FeedGenerator",
    "FeedStats",
    "OutgoingMessage",
    "count_lines",
    "read_messages",
]
