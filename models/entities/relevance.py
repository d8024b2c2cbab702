"""How much a document is about each symbol it names: a relevance from 0 to 100, as RavenPack and
Refinitiv TRNA give one, so a passing mention in a list of forty tickers moves a symbol's series
less than a story about the company.

For a symbol with ``count`` mentions in the text, the first at character ``first``, in a text whose
headline is ``[0, headline_end)`` and whose body is ``[headline_end, text_end)``::

    placement  = 1.0 - 0.2 * first / headline_end                      if first < headline_end
               = 0.7 - 0.4 * (first - headline_end) / body_length      otherwise
    prominence = min(1, placement + 0.05 * min(count - 1, 3))
    share      = count / (mentions of every subject symbol in the text)
    focus      = min(1, sqrt(2 * share))
    relevance  = max(1, round(100 * prominence * focus))

So a headline mention scores 80-100 before crowding and a body mention 30-70 (earlier is higher),
and each further mention adds 5 points, up to 15. ``focus`` leaves a story about one or two
companies untouched and shrinks a symbol that shares the text with many others: with forty
tickers named once each it is 0.22, so the first scores 22 and the fortieth 18. Broker mentions
are not subjects and count nowhere; mentions count as the extractor keeps them (at most
``MAX_MENTIONS_PER_SYMBOL`` per symbol).

A symbol the text never names, given only in the message's explicit tickers, gets
``EXPLICIT_ONLY_RELEVANCE``: the publisher says the story concerns it, the text cannot say how much.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from models.entities.mentions import Mention

EXPLICIT_ONLY_RELEVANCE = 50
"""Relevance of a symbol given only in the message's explicit tickers, never named in the text."""
HEADLINE_PLACEMENT = (1.0, 0.8)
"""Placement of a first mention at the start and at the end of the headline."""
BODY_PLACEMENT = (0.7, 0.3)
"""Placement of a first mention at the start and at the end of the body."""
REPEAT_BONUS = 0.05
MAX_REPEATS_COUNTED = 3


def relevance(first: int, count: int, share: float, headline_end: int, text_end: int) -> int:
    """Relevance (1-100) of a text to a symbol it names; see the module docstring for the formula.

    ``first`` is the character offset of its first mention, ``count`` its mentions and ``share``
    their fraction of all subject mentions in the text.
    """
    if first < headline_end:
        top, bottom = HEADLINE_PLACEMENT
        placement = top - (top - bottom) * first / headline_end
    else:
        top, bottom = BODY_PLACEMENT
        placement = top - (top - bottom) * min(1.0, (first - headline_end) / max(text_end - headline_end, 1))
    prominence = min(1.0, placement + REPEAT_BONUS * min(max(count - 1, 0), MAX_REPEATS_COUNTED))
    focus = min(1.0, math.sqrt(2 * share))
    return max(1, min(100, round(100 * prominence * focus)))


def document_relevances(mentions: Iterable[Mention], headline_end: int, text_end: int) -> dict[str, int]:
    """Relevance of a text to every subject symbol among ``mentions`` (as ``SymbolExtractor.mentions``
    returns them: text order, explicit ones last); broker mentions are skipped.

    ``headline_end`` is where the headline ends in the text (the whole text for a tweet).
    """
    first: dict[str, int] = {}
    counts: dict[str, int] = {}
    explicit: list[str] = []
    for mention in mentions:
        if mention.broker:
            continue
        if mention.start is None:
            explicit.append(mention.symbol)
            continue
        first.setdefault(mention.symbol, mention.start)
        counts[mention.symbol] = counts.get(mention.symbol, 0) + 1
    total = sum(counts.values())
    found = {
        symbol: relevance(start, counts[symbol], counts[symbol] / total, headline_end, text_end)
        for symbol, start in first.items()
    }
    for symbol in explicit:
        found.setdefault(symbol, EXPLICIT_ONLY_RELEVANCE)
    return found
