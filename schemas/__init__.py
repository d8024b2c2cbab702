"""Wire and table contracts for finsent. Of ours, this package imports only ``config.errors`` (the error root)."""

from schemas.documents import (
    SCHEMA_VERSION,
    Document,
    DocumentKind,
    NewsArticle,
    SocialPost,
    hash_author,
    parse_document,
)
from schemas.exceptions import InvalidMessage
from schemas.records import DeadLetter, DocumentRow, ScoreRecord

__all__ = [
    "SCHEMA_VERSION",
    "DeadLetter",
    "Document",
    "DocumentKind",
    "DocumentRow",
    "InvalidMessage",
    "NewsArticle",
    "ScoreRecord",
    "SocialPost",
    "hash_author",
    "parse_document",
]
