"""Ticker-symbol extraction for documents (tweets, news headlines and bodies).

About the data: ``streams/data/companies.csv`` (columns ``ticker,name,aliases``, aliases separated by
``|``) was written by hand from general public knowledge of S&P 500 membership during 2024-2025,
plus members removed in that period and about fifty non-index names that finance news and social
media mention often (TSM, BABA, ARM, NIO, RIVN, COIN, SHOP, SPOT, ...). It was not copied from an
index provider, may lag index changes, and should be reviewed when constituents change. Dual share
classes get a row each; the secondary class is only reachable by an explicit phrase such as
``Alphabet Class C`` (GOOG) or ``Berkshire Hathaway Class A`` (BRK.A).

Names are matched case-sensitively on whole tokens, so a name is only listed in a form that is
unlikely to be an ordinary word in finance text: ``Target``, ``Visa``, ``Ball``, ``Dow``, ``Nasdaq``,
``Progressive``, ``Carrier``, ``Block``, ``Snap``, ``Zoom``, ``ICE``, ``CMS``, ``RTX``, ``GM`` and
similar appear only as longer forms (``Target Corp``, ``Visa Inc``, ``Dow Inc``, ...); a few of them
are also found alone where the context says so (below). A few stock
phrases that would otherwise match a name (``Big Apple``, ``Oracle of Omaha``, ``Harrison Ford``)
are listed in ``STOP_PHRASES`` and produce nothing. If two rows claim the same name or alias, the
first row in file order wins (the shipped file has no such conflicts; a test checks it).

A document yields the union of

* cashtags: ``$`` followed by 1-5 ASCII letters, optionally ``.`` and 1-2 letters (``$BRK.B``), not
  preceded or followed by a letter or digit, so ``$100``, ``$5B`` and ``US$5`` are not tickers. A
  two-letter title-case suffix (``$AAPL.It rose``) is read as the next sentence and dropped. Any
  well-formed cashtag counts, listed in the dictionary or not;
* the document's explicit tickers, normalised like ``schemas.documents`` does (leading ``$`` removed,
  ``-`` read as ``.``, upper-cased) and kept only if they fit the same 1-5 letter pattern;
* dictionary names found in the text. At each position the longest name wins, so ``GE Vernova``
  yields GEV, not GE as well. Possessives (``Apple's``) match, curly apostrophes count as straight
  ones, and zero-width and bidirectional control characters are ignored.

* context names (``CONTEXT_NAMES``: Target, Visa, GM, Snap, Block), which are also ordinary words
  or initials: found only where a business word follows (``Target cuts outlook``, ``Visa's
  revenue``), a company noun precedes (``retailer Target``), or the name is listed with another
  company (``Ford and GM``, ``Visa and Mastercard``).

The result is sorted and de-duplicated. It holds at most ``max_symbols`` tickers: when more are
found, explicit tickers are kept first, then company names and cashtags of known companies,
then other cashtags in sorted order (so a flood of made-up cashtags cannot push out ``$NVDA``).
Long texts are scanned in bounded chunks, so memory stays flat whatever the input size.
"""

from __future__ import annotations

import csv
import functools
import heapq
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources

__all__ = [
    "DEFAULT_MAX_SYMBOLS",
    "STOP_PHRASES",
    "SymbolExtractor",
    "extract_symbols",
    "load_rows",
    "normalise_ticker",
]

DEFAULT_MAX_SYMBOLS = 50
DATA_FILE = "companies.csv"

# Phrases that contain a company name but do not refer to the company. They are matched like names
# (longest match first) and produce no ticker.
STOP_PHRASES: tuple[str, ...] = (
    "Amazon Basin",
    "Amazon basin",
    "Amazon River",
    "Amazon rainforest",
    "Apple Daily",
    "Big Apple",
    "Ford Foundation",
    "GE Appliances",
    "Gerald Ford",
    "Harrison Ford",
    "Oracle of Omaha",
    "Tom Ford",
)

# Company names that are also ordinary words (or initials): found only where the context says
# "company": a business word right after (``Target cuts outlook``, ``Visa's revenue``), a company
# noun right before (``retailer Target``), or a list with another company (``Ford and GM``).
CONTEXT_NAMES: dict[str, str] = {"Target": "TGT", "Visa": "V", "GM": "GM", "Snap": "SNAP", "Block": "XYZ"}
_CUES_AFTER = frozenset(
    [
        "cuts",
        "raises",
        "lifts",
        "lowers",
        "trims",
        "boosts",
        "beats",
        "misses",
        "reports",
        "posts",
        "sees",
        "warns",
        "says",
        "said",
        "plans",
        "will",
        "to",
        "shares",
        "stock",
        "stocks",
        "earnings",
        "results",
        "sales",
        "revenue",
        "revenues",
        "profit",
        "profits",
        "outlook",
        "forecast",
        "forecasts",
        "guidance",
        "ceo",
        "cfo",
        "chief",
        "board",
        "deal",
        "deals",
        "rallies",
        "slides",
        "falls",
        "drops",
        "rises",
        "jumps",
        "climbs",
        "tumbles",
        "sinks",
        "surges",
        "soars",
        "slumps",
        "plunges",
        "gains",
        "recalls",
        "hires",
        "fires",
        "layoffs",
        "stores",
        "customers",
        "inc",
        "corp",
    ]
)
_CUES_BEFORE = frozenset(
    [
        "retailer",
        "retailers",
        "automaker",
        "automakers",
        "carmaker",
        "carmakers",
        "rival",
        "rivals",
        "giant",
        "company",
        "firm",
        "processor",
        "issuer",
        "payments",
    ]
)
_JOINERS = frozenset({"and", "&", ",", "or", "vs", "versus", "/"})

_TICKER_RE = re.compile(r"[A-Za-z]{1,5}(?:\.[A-Za-z]{1,2})?")
_CASHTAG_RE = re.compile(r"(?<![A-Za-z0-9])\$([A-Za-z]{1,5})(?:\.([A-Za-z]{1,2}))?(?![A-Za-z0-9])")
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_NON_WORD_RE = re.compile(r"\W")
_MAX_EXPLICIT_CHARS = 16
_CHUNK_CHARS = 65_536

# Zero-width and bidirectional control characters are dropped; apostrophe and hyphen look-alikes
# are folded so that "McDonald’s" and "Coca‑Cola" match the dictionary spelling.
_INVISIBLE = (*range(0x200B, 0x2010), *range(0x202A, 0x202F), 0x2060, *range(0x2066, 0x206A), 0xFEFF)
_NORMALISE_TABLE: dict[int, str | None] = {
    **dict.fromkeys(_INVISIBLE),
    **dict.fromkeys((0x2018, 0x2019, 0x02BC, 0xFF07), "'"),
    **dict.fromkeys((0x2010, 0x2011), "-"),
}

# First token -> candidate continuations (remaining tokens, ticker or "" for a stop phrase),
# longest first.
_Index = dict[str, tuple[tuple[list[str], str], ...]]


def normalise_ticker(value: object) -> str | None:
    """Return ``value`` as an upper-case ticker (``brk-b`` -> ``BRK.B``), or None if it is not one."""
    if not isinstance(value, str) or len(value) > _MAX_EXPLICIT_CHARS:
        return None
    candidate = value.strip().removeprefix("$").replace("-", ".")
    return candidate.upper() if _TICKER_RE.fullmatch(candidate) else None


def _normalise_text(text: str) -> str:
    """Drop invisible characters and fold apostrophe/hyphen variants (a no-op for ASCII text)."""
    return text if text.isascii() else text.translate(_NORMALISE_TABLE)


def _keep_smallest(found: set[str], cap: int) -> set[str]:
    """Bound ``found`` while collecting: only the ``cap`` smallest can reach the output."""
    if len(found) <= 4 * cap + 64:
        return found
    return set(heapq.nsmallest(cap, found))


def _cashtag_symbol(base: str, suffix: str | None) -> str:
    """Upper-case a cashtag; a title-case suffix (``$AAPL.It``) starts a sentence and is dropped."""
    if suffix and not (suffix[0].isupper() and suffix[1:].islower()):
        return f"{base}.{suffix}".upper()
    return base.upper()


def _cashtags(text: str, cap: int, known: frozenset[str]) -> tuple[set[str], set[str]]:
    """Well-formed cashtags in ``text``: those of known companies, and the others (at most the
    ``cap`` smallest of those, and a few spare), so a flood of made-up cashtags cannot crowd out
    a real one."""
    listed: set[str] = set()
    others: set[str] = set()
    if "$" not in text:
        return listed, others
    for match in _CASHTAG_RE.finditer(text):
        symbol = _cashtag_symbol(match[1], match[2])
        if symbol in known:
            listed.add(symbol)
            listed = _keep_smallest(listed, cap)
        else:
            others.add(symbol)
            others = _keep_smallest(others, cap)
    return listed, others


def _explicit_tickers(explicit: Iterable[str] | str | None, cap: int) -> set[str]:
    """Valid tickers among ``explicit``; a bare string counts as one ticker, None as none."""
    if explicit is None:
        return set()
    if isinstance(explicit, str):
        explicit = (explicit,)
    found: set[str] = set()
    for value in explicit:
        ticker = normalise_ticker(value)
        if ticker is not None:
            found.add(ticker)
            found = _keep_smallest(found, cap)
    return found


def _chunks(text: str) -> Iterator[tuple[str, bool]]:
    """Split ``text`` into pieces of about ``_CHUNK_CHARS`` at token boundaries; flag the last one.

    A cut is made just before a non-word character, which always starts a new token, so the
    pieces tokenise exactly as the whole text does.
    """
    start = 0
    while len(text) - start > _CHUNK_CHARS:
        match = _NON_WORD_RE.search(text, start + _CHUNK_CHARS)
        if match is None:
            break
        yield text[start : match.start()], False
        start = match.start()
    yield (text[start:] if start else text), True


@dataclass(frozen=True)
class SymbolExtractor:
    """Finds ticker symbols in text: cashtags, explicit tickers and known company names.

    ``forms`` pairs every company name or alias with its ticker; build one with ``from_rows`` or
    use ``default()`` for the bundled dictionary. Instances are immutable and thread-safe.
    """

    forms: tuple[tuple[str, str], ...]
    stop_phrases: tuple[str, ...] = STOP_PHRASES
    max_symbols: int = DEFAULT_MAX_SYMBOLS
    context_names: Mapping[str, str] = field(default_factory=lambda: dict(CONTEXT_NAMES))
    _index: _Index = field(init=False, repr=False, compare=False)
    _width: int = field(init=False, repr=False, compare=False)
    _known: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_symbols, bool) or not isinstance(self.max_symbols, int) or self.max_symbols < 0:
            raise ValueError(f"max_symbols must be a non-negative int, got {self.max_symbols!r}")
        phrases = [*self.forms, *((phrase, "") for phrase in self.stop_phrases)]
        index, width = _build_index(phrases)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_width", width)
        known = {ticker for _, ticker in self.forms} | set(self.context_names.values())
        object.__setattr__(self, "_known", frozenset(known))

    @classmethod
    def default(cls) -> SymbolExtractor:
        """The extractor for the bundled ``streams/data/companies.csv`` (loaded once, then cached)."""
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
            for phrase in _row_phrases(row):
                claimed.setdefault(phrase, ticker)
        return cls(forms=tuple(claimed.items()), max_symbols=max_symbols)

    def extract(self, text: str, explicit: Iterable[str] = ()) -> list[str]:
        """Sorted, de-duplicated tickers for a document: cashtags, ``explicit`` and company names.

        At most ``max_symbols`` are returned. When more are found, explicit tickers come first,
        then company names and cashtags of known companies, then other cashtags in sorted order.
        Never raises for a ``str`` text; anything else in ``text`` is treated as empty.
        """
        cap = self.max_symbols
        tiers = [_explicit_tickers(explicit, cap)]
        if isinstance(text, str) and text:
            clean = _normalise_text(text)
            listed, others = _cashtags(clean, cap, self._known)
            tiers += [self._names(clean) | listed, others]
        kept: set[str] = set()
        for tier in tiers:
            kept.update(sorted(tier - kept)[: cap - len(kept)])
        return sorted(kept)

    def _names(self, text: str) -> set[str]:
        """Tickers of dictionary names in ``text`` (and of context names where the context says so),
        scanning chunk by chunk."""
        found: set[str] = set()
        carry: list[str] = []
        for piece, last in _chunks(text):
            tokens = carry + _TOKEN_RE.findall(piece)
            # Only start matches where the longest name still fits; the rest waits for the next piece.
            limit = len(tokens) if last else max(len(tokens) - self._width + 1, 0)
            company_tokens: set[int] = set()
            resume = self._scan(tokens, limit, found, company_tokens)
            found |= self._in_context(tokens, limit, company_tokens)
            carry = tokens[resume:]
        return found

    def _scan(self, tokens: list[str], limit: int, found: set[str], company_tokens: set[int]) -> int:
        """Add tickers of names starting before ``limit`` (and the positions of their tokens to
        ``company_tokens``); return where the next scan must begin."""
        index = self._index
        if index.keys().isdisjoint(tokens):
            return limit
        skip = 0
        for i in [i for i, token in enumerate(tokens) if token in index]:
            if i >= limit:
                break
            if i < skip:
                continue
            for rest, ticker in index[tokens[i]]:
                end = i + 1 + len(rest)
                if tokens[i + 1 : end] == rest:
                    if ticker:
                        found.add(ticker)
                        company_tokens.update(range(i, end))
                    skip = end
                    break
        return max(limit, skip)

    def _in_context(self, tokens: list[str], limit: int, company_tokens: set[int]) -> set[str]:
        """Tickers of ``context_names`` whose neighbours say they mean the company (see CONTEXT_NAMES)."""
        names = self.context_names
        if names.keys().isdisjoint(tokens):
            return set()
        cashtags = {i + 1 for i, token in enumerate(tokens) if token == "$"}
        found: set[str] = set()
        for i, token in enumerate(tokens[:limit]):
            if token in names and i not in company_tokens and self._says_company(tokens, i, company_tokens | cashtags):
                found.add(names[token])
        return found

    def _says_company(self, tokens: list[str], i: int, companies: set[int]) -> bool:
        after = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        if after in _CUES_AFTER or (after == "'" and i + 2 < len(tokens) and tokens[i + 2] == "s"):
            return True
        if i > 0 and tokens[i - 1].lower() in _CUES_BEFORE:
            return True
        joined_before = i >= 2 and tokens[i - 1].lower() in _JOINERS and (i - 2) in companies
        joined_after = i + 2 < len(tokens) and after in _JOINERS and (i + 2) in companies
        return joined_before or joined_after


def _row_phrases(row: Mapping[str, str]) -> list[str]:
    """The name and aliases of one dictionary row, stripped, empty ones dropped."""
    aliases = row.get("aliases") or ""
    phrases = [row.get("name") or "", *aliases.split("|")]
    return [phrase.strip() for phrase in phrases if phrase and phrase.strip()]


def _build_index(phrases: Iterable[tuple[str, str]]) -> tuple[_Index, int]:
    """Index phrases by first token, candidates longest first; also return the longest length."""
    grouped: dict[str, list[tuple[list[str], str]]] = {}
    width = 1
    for phrase, ticker in phrases:
        tokens = _TOKEN_RE.findall(_normalise_text(phrase))
        if tokens:
            grouped.setdefault(tokens[0], []).append((tokens[1:], ticker))
            width = max(width, len(tokens))
    index = {first: tuple(sorted(cands, key=lambda c: -len(c[0]))) for first, cands in grouped.items()}
    return index, width


def load_rows(text: str) -> list[dict[str, str]]:
    """Parse the companies CSV (header ``ticker,name,aliases``) into row dicts."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"ticker", "name", "aliases"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"companies CSV lacks columns {sorted(missing)}")
    return list(reader)


@functools.cache
def _default_extractor() -> SymbolExtractor:
    data = resources.files(__package__ or "streams") / "data" / DATA_FILE
    return SymbolExtractor.from_rows(load_rows(data.read_text(encoding="utf-8")))


def extract_symbols(text: str, explicit: Iterable[str] = ()) -> list[str]:
    """Tickers in ``text`` and ``explicit`` using the bundled dictionary; see ``SymbolExtractor.extract``."""
    return SymbolExtractor.default().extract(text, explicit)
