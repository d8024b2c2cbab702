"""Broker names in analyst notes: a bank named as the one that rates a stock is not its subject.

"Citi reiterates neutral on Pfizer", "Goldman upgrades Apple to buy" and "Apple price target
raised to $250 at Morgan Stanley" are about Pfizer and Apple; Citi, Goldman and Morgan Stanley
only speak. A mention of a firm in ``BROKER_SYMBOLS`` (banks, brokers and rating agencies of the
dictionary) is read as a broker when, within its sentence:

1. **it is the subject of a rating action**: right after the name (past a possessive ``'s`` and
   words such as ``Securities``, ``Capital Markets``, ``Global``) comes
   * ``upgrades``/``downgrades`` (or ``upgraded``/``downgraded``), or
   * a coverage verb (``reiterates``, ``maintains``, ``initiates``, ``resumes``, ``rates``,
     ``turns``...) with a rating word (``buy``, ``neutral``, ``overweight``, ``coverage``,
     ``rating``, ``bearish``...) within the next six tokens, or
   * a target verb (``raises``, ``cuts``, ``lowers``, ``adjusts``...) with ``price
     target``, ``target price``, ``PT``, ``price objective`` or ``rating`` within the next five
     tokens ("JPMorgan raises its net interest income target" is the bank's own guidance and
     stays a subject);

   a past-tense verb followed in the sentence by ``at``/``by`` is passive ("Citi downgraded to
   sell at Goldman", "Citi cut to neutral by JPMorgan") and says nothing about the name;
2. **it is the voice of research**: the name is followed by ``analyst(s)``, ``strategist(s)``,
   ``economist(s)`` or ``research``, or by ``said``/``wrote``/``noted`` and ``in a note``;
3. **it is named as the source**: ``according to <name>``, or ``at``/``by``/``from``/``via``
   ``<name>`` after a rating cue earlier in the sentence (an upgrade, a price target, a rating
   word, ``analysts``): "Apple price target raised to $250 at Morgan Stanley". Without such a cue
   "job cuts at Citi" and "bought by JPMorgan" keep Citi and JPMorgan as subjects.

Firms outside ``BROKER_SYMBOLS`` are never brokers ("Tesla upgrades Autopilot" is about Tesla).
A broker mention keeps its span and is flagged, rather than dropped: the API shows it, an entity
model can still read the text around it, and a bank that is both the broker and the subject of
the same story ("Goldman upgrades Apple; Goldman's own shares rise") still gets a symbol from
its other mention.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

BROKER_SYMBOLS = frozenset({"BAC", "C", "GS", "HSBC", "JPM", "MCO", "MS", "RJF", "SCHW", "SPGI", "UBS", "WFC"})

_UPGRADES = frozenset({"upgrades", "downgrades", "upgraded", "downgraded", "upgrade", "downgrade"})
_COVERAGE = frozenset(
    [
        "reiterates",
        "reiterated",
        "reiterate",
        "reaffirms",
        "reaffirmed",
        "maintains",
        "maintained",
        "maintain",
        "initiates",
        "initiated",
        "initiate",
        "resumes",
        "resumed",
        "assumes",
        "assumed",
        "starts",
        "started",
        "begins",
        "began",
        "rates",
        "rated",
        "keeps",
        "kept",
        "turns",
        "turned",
    ]
)
_TARGET_VERBS = frozenset(
    [
        "raises",
        "raised",
        "lifts",
        "lifted",
        "cuts",
        "cut",
        "lowers",
        "lowered",
        "trims",
        "trimmed",
        "boosts",
        "boosted",
        "hikes",
        "hiked",
        "ups",
        "upped",
        "slashes",
        "slashed",
        "adjusts",
        "adjusted",
        "sets",
        "set",
        "increases",
        "increased",
        "reduces",
        "reduced",
    ]
)
_RATING_WORDS = frozenset(
    [
        "buy",
        "sell",
        "hold",
        "neutral",
        "overweight",
        "underweight",
        "outperform",
        "underperform",
        "perform",
        "equal",
        "weight",
        "equalweight",
        "positive",
        "negative",
        "coverage",
        "rating",
        "ratings",
        "target",
        "pt",
        "conviction",
        "accumulate",
        "reduce",
        "bullish",
        "bearish",
        "cautious",
        "constructive",
    ]
)
_TARGET_WORDS = frozenset({"pt", "objective", "rating"})
_HOUSE_WORDS = frozenset({"securities", "capital", "markets", "global", "'", "s"})
_RESEARCH = frozenset({"analyst", "analysts", "strategist", "strategists", "economist", "economists", "research"})
_SAYS = frozenset({"said", "says", "wrote", "writes", "noted", "notes"})
_SOURCE = frozenset({"at", "by", "from", "via"})
# Only words that belong to analyst notes: "starts", "keeps" or "reports" before "from JPMorgan"
# ("earnings season starts with reports from JPMorgan") say nothing about a rating.
_CUES_BEFORE = (
    _UPGRADES
    | _RESEARCH
    | {"reiterated", "initiated", "target", "pt", "rating", "ratings", "coverage", "buy", "sell", "hold"}
    | {"neutral", "overweight", "underweight", "outperform", "underperform"}
)
_PASSIVE = frozenset({"at", "by"})
_LOOK_AHEAD = 8
LOOK_BACK_TOKENS = 16
"""How many tokens before a name the rule may read."""
LOOK_AHEAD_TOKENS = 16
"""How many tokens past a name the rule may read (the scan keeps that many in hand)."""


class Sentence:
    """Tokens of a text with their offsets: enough to read the words around a name within its sentence."""

    def __init__(self, words: Sequence[str], starts: Sequence[int], ends: Sequence[int]):
        self.words = words
        self._starts = starts
        self._ends = ends

    def ends_at(self, k: int) -> bool:
        """Whether token ``k`` ends a sentence: ``!``, ``?``, ``;``, or a ``.`` followed by a space."""
        word = self.words[k]
        if word in ("!", "?", ";"):
            return True
        return word == "." and (k + 1 == len(self.words) or self._starts[k + 1] > self._ends[k])

    def after(self, end: int, count: int) -> list[str]:
        """Up to ``count`` lower-cased words from token ``end`` on, stopping at the sentence's end."""
        found: list[str] = []
        for k in range(end, min(end + count, len(self.words))):
            if self.ends_at(k):
                break
            found.append(self.words[k].lower())
        return found

    def before(self, start: int, count: int) -> list[str]:
        """Up to ``count`` lower-cased words before token ``start``, nearest first, within the sentence."""
        found: list[str] = []
        for k in range(start - 1, max(start - count, 0) - 1, -1):
            if self.ends_at(k):
                break
            found.append(self.words[k].lower())
        return found


def is_broker(sentence: Sentence, start: int, end: int) -> bool:
    """Whether the name at tokens ``start:end`` (a firm of BROKER_SYMBOLS) is a broker; see the module."""
    ahead = sentence.after(end, LOOK_AHEAD_TOKENS)
    while ahead and ahead[0] in _HOUSE_WORDS:
        ahead.pop(0)
    return _rates(ahead) or _speaks(ahead) or _is_source(sentence.before(start, LOOK_BACK_TOKENS))


def _rates(ahead: list[str]) -> bool:
    if not ahead:
        return False
    verb, rest = ahead[0], ahead[1 : 1 + _LOOK_AHEAD]
    passive = verb.endswith("ed") or verb in ("cut", "set", "kept", "began", "upped")
    if passive and _PASSIVE & set(rest):
        return False
    if verb in _UPGRADES:
        return True
    if verb in _COVERAGE:
        return bool(_RATING_WORDS & set(rest[:6]))
    if verb in _TARGET_VERBS:
        window = rest[:5]
        pairs = set(itertools.pairwise(window))
        return bool(_TARGET_WORDS & set(window)) or bool({("price", "target"), ("target", "price")} & pairs)
    return False


def _speaks(ahead: list[str]) -> bool:
    if ahead[:1] and ahead[0] in _RESEARCH:
        return True
    return bool(ahead[:1]) and ahead[0] in _SAYS and ahead[1:3] == ["in", "a"] and "note" in ahead[3:5]


def _is_source(behind: list[str]) -> bool:
    if behind[:2] == ["to", "according"]:
        return True
    return bool(behind) and behind[0] in _SOURCE and bool(_CUES_BEFORE & set(behind[1:]))
