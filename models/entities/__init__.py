"""Company mentions in text: symbols with their spans, how they were found, and broker flags.

Below ``streams`` (the classifier, the API and the stream all read mentions); see
``models.entities.mentions`` for the rules and ``models.entities.brokers`` for analyst notes.
"""

from models.entities.dictionary import load_rows, normalise_ticker
from models.entities.mentions import (
    DEFAULT_MAX_SYMBOLS,
    MAX_MENTIONS_PER_SYMBOL,
    Mention,
    MentionKind,
    SymbolExtractor,
    extract_mentions,
    extract_symbols,
)

__all__ = [
    "DEFAULT_MAX_SYMBOLS",
    "MAX_MENTIONS_PER_SYMBOL",
    "Mention",
    "MentionKind",
    "SymbolExtractor",
    "extract_mentions",
    "extract_symbols",
    "load_rows",
    "normalise_ticker",
]
