"""The token windows a text is scored on, and the mentions of a text placed in them.

``Classifier.predict`` scores a long text on its first ``max_windows - 1`` windows and its last;
``Classifier.predict_with_entities`` cuts the same windows and reads each mention in the window
that holds it. A mention the windows do not reach gets the document's sentiment instead.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

from models.exceptions import SpanError
from models.spans import TokenSpan, token_span
from models.text import normalise, normalise_with_spans

CHARS_PER_TOKEN_BOUND = 16
"""Characters kept per token of the cap before tokenising, so a huge text costs no tokenizer time either."""
MAX_MENTIONS_PER_TEXT = 256
"""Mentions of one text the entity head reads (the first ones given); later ones get the document's sentiment.

The stream and the API send at most 50 symbols a text with 4 mentions each (``models.entities``,
``models.symbol_sentiment``): 200, all read. The cap bounds what one text can ask for: masks
of at most 256 slots, so under the token budget a batch's two masks take at most
8,192 tokens x 256 slots x 8 bytes = 16 MB, and pooling them about 2 % of the encoder's work.
"""

CharSpan = tuple[int, int]


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A text as the tokenizer reads it (normalised, cut) and where its mentions lie in it (None: lost)."""

    text: str
    spans: list[CharSpan | None]


def window_starts(n_tokens: int, window: int, max_windows: int | None) -> list[int]:
    """Token offsets of the windows scored: all of them, or the first ``max_windows - 1`` and the last."""
    starts = list(range(0, max(n_tokens, 1), window))
    if max_windows is None or len(starts) <= max_windows:
        return starts
    if max_windows == 1:
        return starts[:1]
    return [*starts[: max_windows - 1], max(n_tokens - window, 0)]


def _cut_bounds(length: int, window: int, max_windows: int) -> tuple[int, int] | None:
    """Head and tail characters kept of a text of ``length`` (a generous bound), or None to keep all."""
    head = (max_windows - 1) * window * CHARS_PER_TOKEN_BOUND
    tail = window * CHARS_PER_TOKEN_BOUND
    return None if length <= head + tail else (head, tail)


def cut_text(text: str, window: int, max_windows: int) -> str:
    """Keep the head and tail characters that can hold the capped windows."""
    bounds = _cut_bounds(len(text), window, max_windows)
    if bounds is None:
        return text
    head, tail = bounds
    return f"{text[:head]} {text[-tail:]}"


def cut_text_with_spans(
    text: str, spans: Sequence[CharSpan | None], window: int, max_windows: int
) -> tuple[str, list[CharSpan | None]]:
    """``cut_text`` with each span moved into the cut text: clipped to the part kept, None if none is."""
    bounds = _cut_bounds(len(text), window, max_windows)
    if bounds is None:
        return text, list(spans)
    head, tail = bounds
    tail_start = len(text) - tail
    shift = head + 1 - tail_start

    def moved(span: CharSpan | None) -> CharSpan | None:
        if span is None:
            return None
        start, end = span
        if start < head:
            return start, min(end, head)
        if end > tail_start:
            return max(start, tail_start) + shift, end + shift
        return None

    return cut_text(text, window, max_windows), [moved(span) for span in spans]


def checked_spans(index: int, text: str, spans: Sequence[Sequence[int]]) -> list[CharSpan]:
    """The spans of text ``#index`` as ``(start, end)`` integers; SpanError if one is not inside the text."""
    out: list[CharSpan] = []
    for span in spans:
        try:
            start, end = (operator.index(value) for value in span)
        except (TypeError, ValueError) as exc:
            raise SpanError(f"text #{index}: a span must be two integers (start, end), not {span!r}") from exc
        if not 0 <= start <= end <= len(text):
            raise SpanError(
                f"text #{index}: span ({start}, {end}) is not inside its {len(text)} characters (0 <= start <= end)"
            )
        out.append((start, end))
    return out


def prepare_text(
    text: str, spans: Sequence[CharSpan], normaliser: str | None, window: int, max_windows: int | None
) -> PreparedText:
    """The text ``Tokenizer.chunks`` would read, with the first ``MAX_MENTIONS_PER_TEXT`` spans carried into it."""
    read = list(spans[:MAX_MENTIONS_PER_TEXT])
    prepared, moved = normalise_with_spans(text, read, normaliser)
    expected = normalise(text, normaliser)
    if not expected:  # as ``Tokenizer.chunks``: a text the normaliser empties is read as given
        prepared, moved = text, list(read)
    elif prepared != expected:  # never seen; the document must still read exactly what ``predict`` reads
        prepared, moved = expected, [None] * len(read)
    if max_windows is not None:
        prepared, moved = cut_text_with_spans(prepared, moved, window, max_windows)
    return PreparedText(prepared, [span if span is not None and span[0] < span[1] else None for span in moved])


def place_mentions(
    offsets: Sequence[tuple[int, int]], spans: Sequence[CharSpan | None], starts: Sequence[int], window: int
) -> list[list[tuple[int, TokenSpan]]]:
    """Per window, the mentions it reads: ``(mention index, token span in the window's row)``.

    The row starts with the special token, so token ``i`` of a window sits at ``i + 1``. A mention
    goes to the first window holding all its tokens, else to the one holding most of its
    characters (clipped to it); one no window reaches, or without tokens, is in none.
    """
    ranges = [_char_range(offsets[start : start + window]) for start in starts]
    placed: list[list[tuple[int, TokenSpan]]] = [[] for _ in starts]
    for index, span in enumerate(spans):
        chosen = None if span is None else _holding_window(span, ranges)
        if chosen is None or span is None:
            continue
        start = starts[chosen]
        tokens = token_span(offsets[start : start + window], *span)
        if tokens is not None:
            placed[chosen].append((index, (tokens[0] + 1, tokens[1] + 1)))
    return placed


def _char_range(offsets: Sequence[tuple[int, int]]) -> CharSpan:
    return (offsets[0][0], offsets[-1][1]) if offsets else (0, 0)


def _holding_window(span: CharSpan, ranges: Sequence[CharSpan]) -> int | None:
    start, end = span
    overlaps = [min(end, last) - max(start, first) for first, last in ranges]
    for index, (first, last) in enumerate(ranges):
        if first <= start and end <= last:
            return index
    best = max(range(len(ranges)), key=overlaps.__getitem__, default=None)
    return best if best is not None and overlaps[best] > 0 else None
