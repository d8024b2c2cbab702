"""Text normalisation shared by training and inference, and the held-out slice of training data."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections.abc import Callable, Sequence

import emoji

URL_PATTERN = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
SPACES = re.compile(r"\s+")
SKIN_TONE = re.compile(r"_(?:light|medium-light|medium|medium-dark|dark)_skin_tone")


def strip_urls(text: str) -> str:
    """Drop links and collapse whitespace.

    Tweets end in t.co links that carry no sentiment but cost 10–20 tokens each, and news
    headlines have none: a model that never sees them reads both kinds of text alike.
    """
    return SPACES.sub(" ", URL_PATTERN.sub(" ", text)).strip()


# Every character that occurs in an emoji, by the emoji package's own table, found by one C-level
# regex: text without emoji costs next to nothing, and the package's slower matcher only ever sees
# the runs. Basic-plane characters are listed one by one (re looks them up in a bitmap); the astral
# ones are the Symbols planes' block and the tag characters (a short range test, where a list of
# hundreds would be scanned per character). ASCII characters only start keycaps such as "1️⃣".
_BMP_EMOJI_CHARS = sorted({char for name in emoji.EMOJI_DATA for char in name if 0x7F < ord(char) <= 0xFFFF})
EMOJI_RUN = re.compile(
    "(?:[0-9#*](?=\ufe0f?\u20e3))?["
    + "".join(map(re.escape, _BMP_EMOJI_CHARS))
    + "\U0001f000-\U0001faff\U000e0020-\U000e007f]+"
)
MAX_SPELT_RUNS = 256
MAX_RUN_CHARS = 64


def _emoji_words(_emoji: str, data: dict[str, str]) -> str:
    name = SKIN_TONE.sub("", data["en"].strip(":"))
    return f" {name.replace('_', ' ')} "


def _spell(run: str) -> str:
    return emoji.replace_emoji(run[:MAX_RUN_CHARS], replace=_emoji_words)


def demojize(text: str) -> str:
    """Spell every emoji out as words between spaces: ``"🚀"`` -> ``" rocket "``.

    Both tokenizers map every emoji to ``[UNK]``, so "crushed it 🚀🚀" and "wrecked again 📉😭"
    lose the part that carries the sentiment. The names are the ``emoji`` package's English
    CLDR names (what ``emoji.demojize`` writes), with the colons and underscores turned into
    spaces and skin-tone modifiers dropped (they say nothing about sentiment). ASCII text is
    returned as it is.

    The cost is bounded whatever the text: the first ``MAX_SPELT_RUNS`` runs of emoji are spelt
    out, each from its first ``MAX_RUN_CHARS`` characters; later runs become a space.
    """
    if text.isascii():
        return text
    pieces: list[str] = []
    last = 0
    for count, match in enumerate(EMOJI_RUN.finditer(text)):
        if count == MAX_SPELT_RUNS:
            return "".join(pieces) + EMOJI_RUN.sub(" ", text[last:])
        pieces += [text[last : match.start()], _spell(match.group())]
        last = match.end()
    return "".join(pieces) + text[last:]


def demojize_and_strip_urls(text: str) -> str:
    """``demojize``, then ``strip_urls`` (which also collapses the spaces demojize leaves)."""
    return strip_urls(demojize(text))


# A model records its normaliser's name (ModelSpec.text_normaliser); the name is applied to every
# text it is trained on and every text it reads, so a name's meaning must never change.
NORMALISERS: dict[str, Callable[[str], str]] = {
    "strip-urls": strip_urls,
    "demojize+strip-urls": demojize_and_strip_urls,
}


def normalise(text: str, normaliser: str | None) -> str:
    """Apply a model's text normaliser (``None``: the text as given).

    Training (models.train) and inference (models.classifier) both call this with the model's
    ``text_normaliser``, so a model reads text exactly as it was trained on it.
    """
    if normaliser is None:
        return text
    function = NORMALISERS.get(normaliser)
    if function is None:
        raise ValueError(f"unknown text normaliser {normaliser!r} (known: {', '.join(NORMALISERS)})")
    return function(text)


def in_holdout(text: str, fraction: float) -> bool:
    """Whether a training text belongs to the held-out slice (model selection and calibration).

    Decided by a hash of the text, so the teacher, the student and a resumed run all agree on
    the slice without storing it, and duplicates of one text fall on the same side.
    """
    if fraction <= 0:
        return False
    bucket = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
    return bucket % 10_000 < fraction * 10_000


_START_MARK, _END_MARK = 0xE000, 0xF000
"""Private-use code points marking span boundaries while a text is normalised (no normaliser touches them)."""
MAX_MARKED_SPANS = 0x1000


def normalise_with_spans(
    text: str, spans: Sequence[tuple[int, int]], normaliser: str | None
) -> tuple[str, list[tuple[int, int] | None]]:
    """Normalise ``text`` and carry the character spans of its mentions into the normalised text.

    Each span's ends are marked with private-use characters, the marked text is normalised once,
    and the marks' positions become the new spans; so a mention covers the normalised form of
    exactly its characters, and the text is the one ``normalise`` gives. A span the normaliser
    removed (inside a link) is None. Training and inference both call this, so a model pools the
    same tokens for a mention in either. At most ``MAX_MARKED_SPANS`` spans.
    """
    if len(spans) > MAX_MARKED_SPANS:
        raise ValueError(f"at most {MAX_MARKED_SPANS} spans a text, not {len(spans)}")
    if normaliser is None or not spans:
        return normalise(text, normaliser), [(start, end) for start, end in spans]
    marks: dict[int, list[str]] = {}
    unbroken = _unbroken_pieces(text, normaliser)
    for index, (start, end) in enumerate(_trimmed(text, span) for span in spans):
        marks.setdefault(_outside(start, unbroken), []).append(chr(_START_MARK + index))
        marks.setdefault(_outside(end, unbroken), []).insert(0, chr(_END_MARK + index))
    marked, last = [], 0
    for position in sorted(marks):
        marked += [text[last:position], *marks[position]]
        last = position
    normalised = normalise("".join([*marked, text[last:]]), normaliser)
    last_mark = len(spans) - 1
    used = re.compile(
        f"[{chr(_START_MARK)}-{chr(_START_MARK + last_mark)}{chr(_END_MARK)}-{chr(_END_MARK + last_mark)}]"
    )
    found = {ord(match.group()): match.start() - count for count, match in enumerate(used.finditer(normalised))}
    plain = used.sub("", normalised)
    out = SPACES.sub(" ", plain).strip()
    collapsed = None if plain == out else _collapser(plain)
    return out, [_span_found(found, index, out, collapsed) for index in range(len(spans))]


# What a normaliser matches as one piece, each with whether a mark right after a piece would be
# taken into it (a link's ``\S+`` would swallow it; an emoji run ends before it). Emoji runs come
# first: one inside a link moves a mark to its start, which the link then moves to its own.
_PIECES: dict[str, tuple[tuple[re.Pattern[str], bool], ...]] = {
    "strip-urls": ((URL_PATTERN, True),),
    "demojize+strip-urls": ((EMOJI_RUN, False), (URL_PATTERN, True)),
}
Pieces = list[tuple[list[int], list[int], bool]]


def _unbroken_pieces(text: str, normaliser: str) -> Pieces:
    """Per pattern, the starts and ends of the links or emoji runs of ``text`` a mark must not split."""
    pieces: Pieces = []
    for pattern, greedy in _PIECES.get(normaliser, ()):
        matches = list(pattern.finditer(text))
        pieces.append(([m.start() for m in matches], [m.end() for m in matches], greedy))
    return pieces


def _outside(position: int, pieces: Pieces) -> int:
    """``position``, or the start of the piece it would split (``"http<mark>s://"`` is no link).

    A mark inside a removed link is then lost with it, and the text normalises as without marks.
    """
    for starts, ends, greedy in pieces:
        index = bisect.bisect_left(starts, position) - 1  # the last piece starting before the mark
        if index >= 0 and (position < ends[index] or (greedy and position == ends[index])):
            position = starts[index]
    return position


def _trimmed(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The span clipped to the text and without whitespace at its ends (marks never sit between spaces)."""
    start, end = max(0, min(span[0], len(text))), max(0, min(span[1], len(text)))
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _span_found(
    found: dict[int, int], index: int, out: str, collapsed: Callable[[int], int] | None
) -> tuple[int, int] | None:
    start, end = found.get(_START_MARK + index), found.get(_END_MARK + index)
    if start is None or end is None or start >= end:
        return None
    if collapsed is not None:
        # Removing marks left doubled spaces that normalising collapses: each end moves by the spaces
        # dropped before it, and the spaces an emoji's words bring inside the span's ends are trimmed.
        start, end = min(collapsed(start), len(out)), min(collapsed(end), len(out))
        while start < end and out[start] == " ":
            start += 1
        while end > start and out[end - 1] == " ":
            end -= 1
    return (start, end) if start < end else None


def _collapser(plain: str) -> Callable[[int], int]:
    """Maps a position in ``plain`` to its place in ``SPACES.sub(" ", plain).strip()`` (one pass, then bisect)."""
    runs = [match.span() for match in SPACES.finditer(plain)]
    starts = [start for start, _ in runs]
    dropped = list(itertools.accumulate((end - start - 1 for start, end in runs), initial=0))
    leading = 1 if runs and runs[0][0] == 0 else 0

    def position(at: int) -> int:
        k = bisect.bisect_left(starts, at)  # runs starting before ``at``: all but the last end before it
        if k == 0:
            return at
        start, end = runs[k - 1]
        return at - dropped[k - 1] - (min(end, at) - start - 1) - leading

    return position
