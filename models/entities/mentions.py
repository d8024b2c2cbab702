"""Company mentions in documents (tweets, news headlines and bodies), with their character spans.

A mention is a symbol, where the text names it (``text[start:end]`` is the matched surface; no
span for a ticker given only in the message's explicit field) and how it was found:

* ``cashtag``: ``$`` followed by 1-5 ASCII letters, optionally ``.`` and 1-2 letters (``$BRK.B``),
  not preceded or followed by a letter or digit, so ``$100``, ``$5B`` and ``US$5`` are not
  tickers. A two-letter title-case suffix (``$AAPL.It rose``) is read as the next sentence and
  dropped. Any well-formed cashtag counts, listed in the dictionary or not. The span covers the
  ``$`` and the ticker as written (``$brk.b``; ``$AAPL`` of ``$AAPL.It``);
* ``ticker``: an exchange-qualified ticker in the text: a Reuters RIC with a US exchange suffix
  (``Johnson & Johnson <JNJ.N>``, ``<GOOGL.O>``, ``<BRKb.N>`` -> BRK.B; the span is the code
  inside the brackets) or ``(NYSE: F)`` / ``NASDAQ:AAPL`` (the span is the ticker). Non-US RICs
  (``<SIEGn.DE>``) are not US tickers and are skipped;
* ``name``: a dictionary name or alias (see ``models.entities.dictionary``). At each position the
  longest name wins, so ``GE Vernova`` yields GEV, not GE as well. Possessives (``Apple's``: the
  span is ``Apple``) match, curly apostrophes count as straight ones, and zero-width and
  bidirectional control characters are ignored (spans still index the original text). Context
  names (Target, Visa, GM, Snap, Block) are found only where a business word or a Reuters code
  follows, a company noun precedes, or the name is listed with another company;
* ``explicit``: the document's explicit tickers, normalised like ``schemas.documents`` does
  (leading ``$`` removed, ``-`` read as ``.``, upper-cased), kept only if they fit the ticker
  pattern. They have no span.

A name mention of a bank or broker that only rates the stock of another ("Citi reiterates neutral
on Pfizer") is flagged ``broker`` (``models.entities.brokers`` gives the rule) and yields no
symbol by itself.

``SymbolExtractor.extract`` returns the sorted symbols of a document: explicit tickers and
non-broker mentions. It holds at most ``max_symbols``: when more are found, explicit tickers are
kept first, then symbols of known companies, then other cashtags and tickers in sorted order (so a
flood of made-up cashtags cannot push out ``$NVDA``). ``mentions`` returns the mentions of those
symbols, and the broker mentions, in text order (explicit ones last), at most
``MAX_MENTIONS_PER_SYMBOL`` per symbol (the earliest). Long texts are scanned in bounded chunks, so
memory stays flat whatever the input size.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from models.entities import brokers
from models.entities.dictionary import (
    CONTEXT_NAMES,
    CUES_AFTER,
    CUES_BEFORE,
    JOINERS,
    STOP_PHRASES,
    TOKEN_RE,
    CleanText,
    Index,
    build_index,
    bundled_csv,
    load_rows,
    normalise_ticker,
    row_phrases,
)

DEFAULT_MAX_SYMBOLS = 50
MAX_MENTIONS_PER_SYMBOL = 32
_CASHTAG_RE = re.compile(r"(?<![A-Za-z0-9])\$([A-Za-z]{1,5})(?:\.([A-Za-z]{1,2}))?(?![A-Za-z0-9])")
# Reuters RICs of US listings: .N NYSE, .O/.OQ Nasdaq, .A NYSE American, .K consolidated, .P Arca.
_RIC_RE = re.compile(r"<([A-Z]{1,5})([a-z])?\.(?:N|O|OQ|A|K|P)>")
# "(NYSE: F)" as press releases write it, or "NASDAQ:AAPL" without a space; not "Nasdaq: FAANG stocks fall".
_EXCHANGE_RE = re.compile(
    r"\(\s?(?:NYSE|NASDAQ|Nasdaq|AMEX)\s?:\s?([A-Z]{1,5}(?:\.[A-Z])?)\s?[),;]"
    r"|\b(?:NYSE|NASDAQ|Nasdaq|AMEX):([A-Z]{1,5}(?:\.[A-Z])?)\b"
)
_NON_WORD_RE = re.compile(r"\W")
_SPLIT_RE = re.compile(f"({TOKEN_RE.pattern})")
_CHUNK_CHARS = 65_536


class MentionKind(StrEnum):
    """How a mention was found."""

    CASHTAG = "cashtag"
    TICKER = "ticker"
    NAME = "name"
    EXPLICIT = "explicit"


@dataclass(frozen=True, slots=True)
class Mention:
    """One mention of ``symbol``: ``text[start:end]`` is what was matched (None for explicit ones)."""

    symbol: str
    start: int | None
    end: int | None
    kind: MentionKind
    broker: bool = False
    """A bank or broker that rates another company's stock here: not a subject of the text."""


@dataclass
class _Found:
    """Mentions collected while scanning, by tier (known companies, other tickers), bounded."""

    cap: int
    known: dict[str, list[Mention]] = field(default_factory=dict)
    others: dict[str, list[Mention]] = field(default_factory=dict)
    brokers: dict[str, list[Mention]] = field(default_factory=dict)

    def add(self, mention: Mention, tier: dict[str, list[Mention]]) -> None:
        found = tier.setdefault(mention.symbol, [])
        if len(found) < MAX_MENTIONS_PER_SYMBOL:
            found.append(mention)
        if len(tier) > 4 * self.cap + 64:
            # Only the ``cap`` smallest symbols of a tier can reach the output.
            for symbol in set(tier) - set(heapq.nsmallest(self.cap, tier)):
                del tier[symbol]


def _text_order(mention: Mention) -> tuple[int, int]:
    return mention.start or 0, mention.end or 0


def _cashtag_symbol(base: str, suffix: str | None) -> str:
    """Upper-case a cashtag; a title-case suffix (``$AAPL.It``) starts a sentence and is dropped."""
    if suffix and not (suffix[0].isupper() and suffix[1:].islower()):
        return f"{base}.{suffix}".upper()
    return base.upper()


def _tagged_tickers(text: str) -> Iterator[tuple[str, int, int, MentionKind]]:
    """Cashtags, RICs and exchange-qualified tickers in ``text``: symbol, span, kind."""
    if "$" in text:
        for match in _CASHTAG_RE.finditer(text):
            symbol = _cashtag_symbol(match[1], match[2])
            end = match.end() if "." in symbol else match.end(1)
            yield symbol, match.start(), end, MentionKind.CASHTAG
    if "<" in text:
        for match in _RIC_RE.finditer(text):
            symbol = match[1] + (f".{match[2].upper()}" if match[2] else "")
            yield symbol, match.start() + 1, match.end() - 1, MentionKind.TICKER
    if ":" in text:
        for match in _EXCHANGE_RE.finditer(text):
            group = 1 if match[1] else 2
            yield match[group], match.start(group), match.end(group), MentionKind.TICKER


def _explicit_tickers(explicit: Iterable[str] | str | None, cap: int) -> list[str]:
    """Valid tickers among ``explicit`` (at most ``cap``, smallest first); a bare string counts as
    one ticker, None as none."""
    if explicit is None:
        return []
    if isinstance(explicit, str):
        explicit = (explicit,)
    found: set[str] = set()
    for value in explicit:
        ticker = normalise_ticker(value)
        if ticker is not None:
            found.add(ticker)
            if len(found) > 4 * cap + 64:
                found = set(heapq.nsmallest(cap, found))
    return sorted(found)[:cap]


def _chunks(text: str) -> Iterator[tuple[int, str, bool]]:
    """Split ``text`` into pieces of about ``_CHUNK_CHARS`` at token boundaries: offset, piece and
    whether it is the last.

    A cut is made just before a non-word character, which always starts a new token, so the
    pieces tokenise exactly as the whole text does.
    """
    start = 0
    while len(text) - start > _CHUNK_CHARS:
        match = _NON_WORD_RE.search(text, start + _CHUNK_CHARS)
        if match is None:
            break
        yield start, text[start : match.start()], False
        start = match.start()
    yield start, (text[start:] if start else text), True


@dataclass
class _Tokens:
    """Tokens of the text being scanned, with their offsets in the clean text.

    Offsets are only worked out (``locate``) once a name is found: most texts name none, and
    finding the words alone is about twice as fast.
    """

    words: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    _pending: list[tuple[str, int]] = field(default_factory=list)

    def extend(self, piece: str, offset: int) -> None:
        self.words += TOKEN_RE.findall(piece)
        self._pending.append((piece, offset))

    def locate(self) -> None:
        """Fill ``starts`` and ``ends`` for every word."""
        for piece, offset in self._pending:
            # split() with the token pattern as its group alternates gap, token, gap, ..., gap; the
            # running sum of their lengths gives every offset without a Python-level loop per token.
            parts = _SPLIT_RE.split(piece)
            bounds = list(itertools.accumulate(map(len, parts), initial=offset))
            self.starts += bounds[1:-1:2]
            self.ends += bounds[2::2]
        self._pending.clear()

    def drop_before(self, k: int) -> None:
        self.locate()
        del self.words[:k], self.starts[:k], self.ends[:k]


@dataclass(frozen=True)
class SymbolExtractor:
    """Finds company mentions in text: cashtags, exchange tickers, known company names, explicit tickers.

    ``forms`` pairs every company name or alias with its ticker; build one with ``from_rows`` or
    use ``default()`` for the bundled dictionary. Instances are immutable and thread-safe.
    """

    forms: tuple[tuple[str, str], ...]
    stop_phrases: tuple[str, ...] = STOP_PHRASES
    max_symbols: int = DEFAULT_MAX_SYMBOLS
    context_names: Mapping[str, str] = field(default_factory=lambda: dict(CONTEXT_NAMES))
    broker_symbols: frozenset[str] = brokers.BROKER_SYMBOLS
    _index: Index = field(init=False, repr=False, compare=False)
    _width: int = field(init=False, repr=False, compare=False)
    _known: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_symbols, bool) or not isinstance(self.max_symbols, int) or self.max_symbols < 0:
            raise ValueError(f"max_symbols must be a non-negative int, got {self.max_symbols!r}")
        phrases = [*self.forms, *((phrase, "") for phrase in self.stop_phrases)]
        index, width = build_index(phrases)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_width", width)
        known = {ticker for _, ticker in self.forms} | set(self.context_names.values())
        object.__setattr__(self, "_known", frozenset(known))

    @classmethod
    def default(cls) -> SymbolExtractor:
        """The extractor for the bundled ``models/entities/data/companies.csv`` (loaded once, then cached)."""
        return _default_extractor()

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, str]], *, max_symbols: int = DEFAULT_MAX_SYMBOLS) -> SymbolExtractor:
        """Build from rows with ``ticker``, ``name`` and optional ``|``-separated ``aliases``.

        Tickers are normalised and must be valid (ValueError otherwise). When two rows claim the
        same name or alias, the first one wins.
        """
        claimed: dict[str, str] = {}
        for row in rows:
            ticker = normalise_ticker(row.get("ticker"))
            if ticker is None:
                raise ValueError(f"invalid ticker in company row {dict(row)!r}")
            for phrase in row_phrases(row):
                claimed.setdefault(phrase, ticker)
        return cls(forms=tuple(claimed.items()), max_symbols=max_symbols)

    def extract(self, text: str, explicit: Iterable[str] = ()) -> list[str]:
        """Sorted, de-duplicated symbols of a document: ``explicit`` tickers and the symbols of its
        non-broker mentions, at most ``max_symbols`` (see the module for which are kept first).

        Never raises for a ``str`` text; anything else in ``text`` is treated as empty.
        """
        return sorted({mention.symbol for mention in self.mentions(text, explicit) if not mention.broker})

    def mentions(self, text: str, explicit: Iterable[str] = ()) -> list[Mention]:
        """The mentions of the symbols ``extract`` returns, and broker mentions: in text order,
        explicit ones last, at most ``MAX_MENTIONS_PER_SYMBOL`` per symbol."""
        cap = self.max_symbols
        found = _Found(cap)
        if isinstance(text, str) and text:
            clean = CleanText.of(text)
            for symbol, start, end, kind in _tagged_tickers(clean.text):
                span = clean.start_in_original(start), clean.end_in_original(end)
                tier = found.known if symbol in self._known else found.others
                found.add(Mention(symbol, *span, kind), tier)
            self._names(clean, found)
        explicit_kept = _explicit_tickers(explicit, cap) if explicit else []
        kept = list(explicit_kept)
        for tier in (found.known, found.others):
            if tier:
                kept += sorted(tier.keys() - set(kept))[: cap - len(kept)]
        in_text = [m for symbol in kept for m in found.known.get(symbol) or found.others.get(symbol, [])]
        in_text += [m for mentions in found.brokers.values() for m in mentions]
        in_text.sort(key=_text_order)
        return in_text + [Mention(symbol, None, None, MentionKind.EXPLICIT) for symbol in explicit_kept]

    def _names(self, clean: CleanText, found: _Found) -> None:
        """Add the mentions of dictionary names (and of context names where the context says so),
        scanning chunk by chunk."""
        tokens = _Tokens()
        begin = 0
        margin = self._width + brokers.LOOK_AHEAD_TOKENS
        for offset, piece, last in _chunks(clean.text):
            tokens.extend(piece, offset)
            # Only start matches where the longest name and the words read after it are in hand.
            limit = len(tokens.words) if last else max(len(tokens.words) - margin, begin)
            matches, resume = self._scan(tokens.words, begin, limit)
            matches += self._in_context(tokens.words, begin, limit, matches)
            if matches:
                tokens.locate()
            sentence = brokers.Sentence(tokens.words, tokens.starts, tokens.ends)
            for symbol, i, end in matches:
                broker = symbol in self.broker_symbols and brokers.is_broker(sentence, i, end)
                span = clean.start_in_original(tokens.starts[i]), clean.end_in_original(tokens.ends[end - 1])
                found.add(
                    Mention(symbol, *span, MentionKind.NAME, broker=broker), found.brokers if broker else found.known
                )
            if last:
                break
            # Keep the unscanned tail, and a few tokens before it that the broker rule reads back.
            dropped = max(resume - brokers.LOOK_BACK_TOKENS, 0)
            tokens.drop_before(dropped)
            begin = resume - dropped

    def _scan(self, words: list[str], begin: int, limit: int) -> tuple[list[tuple[str, int, int]], int]:
        """Names starting from ``begin`` and before ``limit``: (ticker, first token, end token); and
        where the next scan must begin."""
        index = self._index
        matches: list[tuple[str, int, int]] = []
        if index.keys().isdisjoint(words):
            return matches, limit
        skip = begin
        for i in [i for i, word in enumerate(words) if word in index]:
            if i >= limit:
                break
            if i < skip:
                continue
            for rest, ticker in index[words[i]]:
                end = i + 1 + len(rest)
                if words[i + 1 : end] == rest:
                    if ticker:
                        matches.append((ticker, i, end))
                    skip = end
                    break
        return matches, max(limit, skip)

    def _in_context(
        self, words: list[str], begin: int, limit: int, matches: list[tuple[str, int, int]]
    ) -> list[tuple[str, int, int]]:
        """Context names (see CONTEXT_NAMES) whose neighbours say they mean the company."""
        names = self.context_names
        if names.keys().isdisjoint(words):
            return []
        company_tokens = {k for _, i, end in matches for k in range(i, end)}
        cashtags = {i + 1 for i, word in enumerate(words) if word == "$"}
        return [
            (names[word], i, i + 1)
            for i, word in enumerate(words[:limit])
            if i >= begin
            and word in names
            and i not in company_tokens
            and _says_company(words, i, company_tokens | cashtags)
        ]


def _says_company(words: list[str], i: int, companies: set[int]) -> bool:
    after = words[i + 1].lower() if i + 1 < len(words) else ""
    if after in CUES_AFTER or (after == "'" and i + 2 < len(words) and words[i + 2] == "s"):
        return True
    if after == "<" and words[i + 2 : i + 4] and words[i + 2].isalpha() and words[i + 3 : i + 4] == ["."]:
        return True  # a Reuters code follows: "Target <TGT.N>"
    if i > 0 and words[i - 1].lower() in CUES_BEFORE:
        return True
    joined_before = i >= 2 and words[i - 1].lower() in JOINERS and (i - 2) in companies
    joined_after = i + 2 < len(words) and after in JOINERS and (i + 2) in companies
    return joined_before or joined_after


@functools.cache
def _default_extractor() -> SymbolExtractor:
    return SymbolExtractor.from_rows(load_rows(bundled_csv()))


def extract_symbols(text: str, explicit: Iterable[str] = ()) -> list[str]:
    """Symbols of ``text`` and ``explicit`` using the bundled dictionary; see ``SymbolExtractor.extract``."""
    return SymbolExtractor.default().extract(text, explicit)


def extract_mentions(text: str, explicit: Iterable[str] = ()) -> list[Mention]:
    """Mentions in ``text`` and ``explicit`` using the bundled dictionary; see ``SymbolExtractor.mentions``."""
    return SymbolExtractor.default().mentions(text, explicit)
