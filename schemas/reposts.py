"""Repost transformations: how wires, aggregators and accounts repeat a story's text.

``TRANSFORMS`` makes the positive pairs of ``finsent eval --task novelty`` (``models.novelty_eval``)
and the syndicated copies and retweets of the synthetic feed (``ingest.content``): one list for
both, kept here, below both layers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z.]{0,6}")
URL = re.compile(r"https?://\S+")
_SYNONYMS = {
    "rises": "climbs", "falls": "drops", "says": "said", "shares": "stock", "cuts": "lowers",
    "raises": "lifts", "jumps": "surges", "slips": "dips", "to": "will", "reports": "posts",
}  # fmt: skip
_FEEDS = ["Reuters", "Bloomberg", "MarketWatch", "Benzinga", "CNBC", "WSJ"]
Transform = Callable[[str, random.Random], str]


def _cashtag_prefix(text: str, rng: random.Random) -> str:
    tags = CASHTAG.findall(text) or [f"${rng.choice(['NVDA', 'AAPL', 'TSLA', 'SPY'])}"]
    return f"{tags[0].upper()} - {text}"


def _with_one_of(template: str, choices: Sequence[str]) -> Transform:
    """The transform writing ``template`` with the text and one of ``choices`` (``{text}``, ``{choice}``)."""

    def transform(text: str, rng: random.Random) -> str:
        return template.format(text=text, choice=rng.choice(choices))

    return transform


_wire_suffix = _with_one_of("{text} {choice}", ["(Reuters)", "- Reuters", "| Bloomberg", "- MarketWatch", "(AP)"])
_retweet = _with_one_of("RT @{choice}: {text}", _FEEDS)
_label_prefix = _with_one_of("{choice} {text}", ["BREAKING:", "UPDATE:", "Just in:", "BREAKING -"])
_hashtags = _with_one_of("{text} {choice}", ["#stocks", "#markets #investing", "#news"])
_via = _with_one_of("{text} via @{choice}", _FEEDS)


def _new_link(text: str, rng: random.Random) -> str:
    link = "https://t.co/" + "".join(rng.choices("abcdefghijkXYZ0123456789", k=10))
    return f"{URL.sub('', text).rstrip()} {link}"


def _case(text: str, rng: random.Random) -> str:
    return rng.choice([str.upper, str.lower, str.title])(text)


def _truncate(text: str, rng: random.Random) -> str:
    cut = max(20, int(len(text) * rng.uniform(0.65, 0.9)))
    return text if cut >= len(text) else text[:cut].rstrip() + "…"


def _drop_word(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 6:
        return text
    del words[rng.randrange(1, len(words))]
    return " ".join(words)


def _punctuation(text: str, rng: random.Random) -> str:
    return re.sub(r"[,;:'\"!?]", "", text).replace(" & ", " and ")


def _synonym(text: str, rng: random.Random) -> str:
    words = text.split()
    spots = [i for i, word in enumerate(words) if word.lower() in _SYNONYMS]
    if spots:
        at = rng.choice(spots)
        words[at] = _SYNONYMS[words[at].lower()]
    return " ".join(words)


TRANSFORMS: dict[str, Transform] = {
    "cashtag_prefix": _cashtag_prefix, "wire_suffix": _wire_suffix, "retweet": _retweet,
    "new_link": _new_link, "case": _case, "label_prefix": _label_prefix, "hashtags": _hashtags,
    "via_mention": _via, "truncate": _truncate, "drop_word": _drop_word,
    "punctuation": _punctuation, "synonym": _synonym,
}  # fmt: skip
