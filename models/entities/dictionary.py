"""The company dictionary and the text handling the mention finder shares with it.

About the data: ``models/entities/data/companies.csv`` (columns ``ticker,name,aliases``, aliases
separated by ``|``) was written by hand from general public knowledge of S&P 500 membership during
2024-2025, plus members removed in that period and about fifty non-index names that finance news
and social media mention often (TSM, BABA, ARM, NIO, RIVN, COIN, SHOP, SPOT, ...). It was not copied
from an index provider, may lag index changes, and should be reviewed when constituents change.
Dual share classes get a row each; the secondary class is only reachable by an explicit phrase such
as ``Alphabet Class C`` (GOOG) or ``Berkshire Hathaway Class A`` (BRK.A).

Names are matched case-sensitively on whole tokens, so a name is only listed in a form that is
unlikely to be an ordinary word in finance text: ``Target``, ``Visa``, ``Ball``, ``Dow``, ``Nasdaq``,
``Progressive``, ``Carrier``, ``Block``, ``Snap``, ``Zoom``, ``ICE``, ``CMS``, ``RTX``, ``GM`` and
similar appear only as longer forms (``Target Corp``, ``Visa Inc``, ``Dow Inc``, ...); a few of them
are also found alone where the context says so (``CONTEXT_NAMES``). A few stock phrases that would
otherwise match a name (``Big Apple``, ``Oracle of Omaha``, ``Harrison Ford``) are listed in
``STOP_PHRASES`` and produce nothing. If two rows claim the same name or alias, the first row in
file order wins (the shipped file has no such conflicts; a test checks it).
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

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
CUES_AFTER = frozenset(
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
CUES_BEFORE = frozenset(
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
JOINERS = frozenset({"and", "&", ",", "or", "vs", "versus", "/"})

TICKER_RE = re.compile(r"[A-Za-z]{1,5}(?:\.[A-Za-z]{1,2})?")
TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_MAX_EXPLICIT_CHARS = 16

# Zero-width and bidirectional control characters are dropped; apostrophe and hyphen look-alikes
# are folded so that "McDonald’s" and "Coca‑Cola" match the dictionary spelling.
_INVISIBLE = (*range(0x200B, 0x2010), *range(0x202A, 0x202F), 0x2060, *range(0x2066, 0x206A), 0xFEFF)
_INVISIBLE_RE = re.compile("[" + "".join(map(chr, _INVISIBLE)) + "]")
_NORMALISE_TABLE: dict[int, str | None] = {
    **dict.fromkeys(_INVISIBLE),
    **dict.fromkeys((0x2018, 0x2019, 0x02BC, 0xFF07), "'"),
    **dict.fromkeys((0x2010, 0x2011), "-"),
}

# First token -> candidate continuations (remaining tokens, ticker or "" for a stop phrase),
# longest first.
Index = dict[str, tuple[tuple[list[str], str], ...]]


def normalise_ticker(value: object) -> str | None:
    """Return ``value`` as an upper-case ticker (``brk-b`` -> ``BRK.B``), or None if it is not one."""
    if not isinstance(value, str) or len(value) > _MAX_EXPLICIT_CHARS:
        return None
    candidate = value.strip().removeprefix("$").replace("-", ".")
    return candidate.upper() if TICKER_RE.fullmatch(candidate) else None


@dataclass(frozen=True)
class CleanText:
    """A text with invisible characters dropped and apostrophe/hyphen variants folded, and the way
    back to offsets in the original (folding keeps lengths; only the drops shift offsets)."""

    text: str
    dropped_before: array[int]
    """For each dropped character, the clean offset it stood before (ascending)."""

    @classmethod
    def of(cls, text: str) -> CleanText:
        if text.isascii():
            return cls(text, array("q"))
        dropped = array("q", (match.start() - n for n, match in enumerate(_INVISIBLE_RE.finditer(text))))
        return cls(text.translate(_NORMALISE_TABLE), dropped)

    def start_in_original(self, clean_start: int) -> int:
        """Offset in the original text of the character at ``clean_start``."""
        return clean_start + bisect_right(self.dropped_before, clean_start)

    def end_in_original(self, clean_end: int) -> int:
        """Offset in the original text just past the character before ``clean_end`` (exclusive end)."""
        return self.start_in_original(clean_end - 1) + 1


def fold_phrase(phrase: str) -> str:
    """A dictionary phrase folded like text is (a no-op for ASCII)."""
    return phrase if phrase.isascii() else phrase.translate(_NORMALISE_TABLE)


def row_phrases(row: Mapping[str, str]) -> list[str]:
    """The name and aliases of one dictionary row, stripped, empty ones dropped."""
    aliases = row.get("aliases") or ""
    phrases = [row.get("name") or "", *aliases.split("|")]
    return [phrase.strip() for phrase in phrases if phrase and phrase.strip()]


def build_index(phrases: Iterable[tuple[str, str]]) -> tuple[Index, int]:
    """Index phrases by first token, candidates longest first; also return the longest length."""
    grouped: dict[str, list[tuple[list[str], str]]] = {}
    width = 1
    for phrase, ticker in phrases:
        tokens = TOKEN_RE.findall(fold_phrase(phrase))
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


def bundled_csv() -> str:
    """The text of the bundled ``models/entities/data/companies.csv``."""
    return (resources.files(__package__ or "models.entities") / "data" / DATA_FILE).read_text(encoding="utf-8")
