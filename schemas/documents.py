"""Input messages (news articles and social posts) and the normalised document they become."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

import orjson
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from schemas.exceptions import InvalidMessage

SCHEMA_VERSION: Final = 1
MAX_ID_CHARS = 256
MAX_HEADLINE_CHARS = 2_000
MAX_BODY_CHARS = 200_000
MAX_TICKERS = 100
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# Control and invisible characters that carry no meaning in text and confuse people and tools:
# C0/C1 controls other than tab/newline, zero-width characters, bidi overrides.
_STRIP = (
    {c for c in range(0x20) if c not in (0x09, 0x0A)}
    | set(range(0x7F, 0xA0))
    | {
        0x200B,
        0x200C,
        0x200D,
        0x2060,
        0xFEFF,
        0x202A,
        0x202B,
        0x202C,
        0x202D,
        0x202E,
        0x2066,
        0x2067,
        0x2068,
        0x2069,
        0x200E,
        0x200F,
    }
)
_STRIP_TABLE = dict.fromkeys(_STRIP)


class DocumentKind(StrEnum):
    NEWS = "news"
    SOCIAL = "social"


def clean_text(value: str) -> str:
    """NFC-normalise, drop control and invisible characters, trim."""
    return unicodedata.normalize("NFC", value).translate(_STRIP_TABLE).strip()


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"timestamp {value.isoformat()} is outside {EARLIEST.year}..{LATEST.year}")
    return value.astimezone(UTC)


CleanStr = Annotated[str, AfterValidator(clean_text)]
Identifier = Annotated[CleanStr, Field(min_length=1, max_length=MAX_ID_CHARS)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
Ticker = Annotated[str, Field(min_length=1, max_length=12, pattern=r"^\$?[A-Za-z]{1,5}([.\-][A-Za-z]{1,2})?$")]
Count = Annotated[int, Field(ge=0, le=2**32 - 1)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_max_length=MAX_BODY_CHARS)

    schema_version: Literal[1] = SCHEMA_VERSION


class NewsArticle(_Message):
    """A news article or headline from a wire or publisher."""

    id: Identifier
    source: Identifier
    published_at: Timestamp
    headline: Annotated[CleanStr, Field(min_length=1, max_length=MAX_HEADLINE_CHARS)]
    body: Annotated[CleanStr, Field(max_length=MAX_BODY_CHARS)] | None = None
    url: Annotated[str, Field(max_length=2_048, pattern=r"^https?://\S+$")] | None = None
    tickers: Annotated[list[Ticker], Field(max_length=MAX_TICKERS)] = []


class Engagement(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    likes: Count = 0
    reposts: Count = 0
    replies: Count = 0


class SocialPost(_Message):
    """A post from a social platform; the author handle is hashed before it is stored."""

    id: Identifier
    platform: Identifier
    author: Identifier
    created_at: Timestamp
    text: Annotated[CleanStr, Field(min_length=1, max_length=MAX_BODY_CHARS)]
    tickers: Annotated[list[Ticker], Field(max_length=MAX_TICKERS)] = []
    engagement: Engagement = Engagement()


_NEWS = TypeAdapter(NewsArticle)
_SOCIAL = TypeAdapter(SocialPost)
_NO_ENGAGEMENT = Engagement()


@dataclass(frozen=True, slots=True)
class Document:
    """What the pipeline classifies and stores, whatever the input kind."""

    doc_id: str
    kind: DocumentKind
    source: str
    event_time: datetime
    headline: str
    body: str
    url: str
    author_hash: str
    tickers: tuple[str, ...]
    likes: int
    reposts: int
    replies: int
    content_hash: str

    @property
    def text(self) -> str:
        """The text the classifiers read."""
        return classifier_text(self.headline, self.body)


def classifier_text(headline: str, body: str) -> str:
    """What the classifiers read of a document: its headline, then its body if it has one."""
    return f"{headline}\n{body}" if body else headline


def hash_author(author: str, key: bytes) -> str:
    """Keyed hash of an author handle (HMAC-SHA256, hex, first 32 chars)."""
    return hmac.new(key, author.encode(), hashlib.sha256).hexdigest()[:32]


def parse_document(raw: bytes, kind: DocumentKind, author_key: bytes = b"") -> Document:
    """Parse and validate one raw message; raise InvalidMessage with a readable reason."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidMessage(f"invalid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InvalidMessage(f"expected a JSON object, got {type(payload).__name__}")
    try:
        if kind is DocumentKind.NEWS:
            return _from_news(_NEWS.validate_python(payload))
        return _from_social(_SOCIAL.validate_python(payload), author_key)
    except ValidationError as exc:
        raise InvalidMessage(f"invalid {kind.value} message: {_summarise(exc)}") from None


def _summarise(exc: ValidationError, limit: int = 3) -> str:
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"
        for err in exc.errors(include_url=False, include_input=False)[:limit]
    ]
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _content_hash(*parts: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


def _normalise_tickers(tickers: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.lstrip("$").upper().replace("-", ".") for t in tickers))


def _document(
    kind: DocumentKind,
    source: str,
    msg: NewsArticle | SocialPost,
    event_time: datetime,
    headline: str,
    content_key: str,
    *,
    body: str = "",
    url: str = "",
    author_hash: str = "",
    engagement: Engagement = _NO_ENGAGEMENT,
) -> Document:
    """The document of ``msg``, a ``kind`` message from ``source``, with what its kind does not carry left empty.

    Every kind's id, tickers and content hash are made here, the one way. ``content_key`` is what, with the
    headline and the time, makes two messages the same content: a news article's body, a post's author.
    """
    return Document(
        doc_id=f"{kind.value}:{source}:{msg.id}",
        kind=kind,
        source=source,
        event_time=event_time,
        headline=headline,
        body=body,
        url=url,
        author_hash=author_hash,
        tickers=_normalise_tickers(msg.tickers),
        likes=engagement.likes,
        reposts=engagement.reposts,
        replies=engagement.replies,
        content_hash=_content_hash(headline, content_key, event_time.isoformat()),
    )


def _from_news(msg: NewsArticle) -> Document:
    body = msg.body or ""
    return _document(
        DocumentKind.NEWS, msg.source, msg, msg.published_at, msg.headline, body, body=body, url=msg.url or ""
    )


def _from_social(msg: SocialPost, author_key: bytes) -> Document:
    author_hash = hash_author(msg.author, author_key)
    return _document(
        DocumentKind.SOCIAL,
        msg.platform,
        msg,
        msg.created_at,
        msg.text,
        msg.author,
        author_hash=author_hash,
        engagement=msg.engagement,
    )
