"""Wire and table contracts for finsent. This package imports nothing else of ours."""

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
from schemas.tables import TABLES, ddl_statements

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "DeadLetter",
    "Document",
    "DocumentKind",
    "DocumentRow",
    "InvalidMessage",
    "NewsArticle",
    "ScoreRecord",
    "SocialPost",
    "ddl_statements",
    "hash_author",
    "parse_document",
]
