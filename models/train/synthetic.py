"""Developer-written synthetic factual-event sentences with per-company labels (FinEntity format).

The classifiers read factual company news ("X beats estimates", "X cuts its dividend") as
neutral too often and need to learn sentiment *toward a mention*. These rows are an auxiliary
source for both: each is one event sentence about one to three companies, each company mention
labelled with its own sentiment, in the format of ``../shared/data/finentity/train.jsonl``::

    {"text": ..., "entities": [{"start", "end", "name", "sentiment"}], "sentiment": label | None}

``text[start:end] == name`` for every entity; the row's ``sentiment`` is set only when all its
entities agree. The templates, company names and fillers live in ``synthetic_events.json`` and
were written from general knowledge of financial news, not modelled on any evaluation set.

Design choices:

* **Brokers and rating agencies are never subjects.** In "Citi upgrades Pfizer to buy" only
  Pfizer is polar; the broker is labelled neutral when it is listed (in ``broker_share`` of the
  rows that name one) and left unlabelled otherwise, so a document-level label still comes out
  of half the analyst notes.
* **Contrast rows** ("X beats while Y misses", "X wins the contract over Y") are the reason the
  source exists: their entities disagree and the row label is ``None``.
* **Neutral is substantial**: scheduled results, filings, appointments, reaffirmed guidance,
  acquirers in a deal, brokers, so that an event sentence is not always polar.
* **Styles**: plain headlines (some in headline case), Reuters sentences with a ``<TICK.N>``
  code after the first mention and sometimes a dateline, and tweets where companies are
  cashtags (``$PFE``, sometimes lower-case ``$pfe``); the cashtag span covers the ``$``.
  A group may name the styles it is written in: the traders' slang and emoji groups
  (``social_*``, written only with ``slang=True``) are tweets only, since no wire story says
  "mooning 🚀". They were measured as training data and left out (``docs/models.md``).

``synthetic_events(n, seed)`` is deterministic in its arguments and returns ``n`` distinct texts.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from models.exceptions import ModelConfigError

LABELS = ("negative", "neutral", "positive")
COMPANY_SLOTS = ("A", "B", "C")
SPEAKER_SLOTS = ("BROKER", "AGENCY")
TEMPLATE_FILE = "synthetic_events.json"
MAX_ROWS = 100_000
# Share of rows drawn from each kind of template group; tuned so that about a third of the
# entity labels are neutral and contrast rows are about a fifth of the rows.
KIND_WEIGHTS = {"positive": 0.25, "negative": 0.25, "neutral": 0.24, "mixed": 0.26}
STYLE_WEIGHTS = {"plain": 0.5, "reuters": 0.25, "tweet": 0.25}
HEADLINE_CASE_SHARE = 0.3
HEDGE_SHARE = 0.1
LOWERCASE_CASHTAG_SHARE = 0.25
SLANG_PREFIX = "social_"
_SLOT_RE = re.compile(r"\{(\w+)\}")
_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "vs"})


@dataclass(frozen=True)
class Company:
    """A company as the templates name it: its name, ticker and Reuters exchange suffix."""

    name: str
    ticker: str
    exchange: str


@dataclass(frozen=True)
class Template:
    """One event sentence with ``{SLOT}`` placeholders and the label of each entity slot."""

    event: str
    text: str
    labels: Mapping[str, str]
    styles: tuple[str, ...] = tuple(STYLE_WEIGHTS)

    @property
    def kind(self) -> str:
        """``positive``/``negative``/``neutral`` when the companies agree, else ``mixed``."""
        subject_labels = {self.labels[slot] for slot in COMPANY_SLOTS if slot in self.labels}
        return subject_labels.pop() if len(subject_labels) == 1 else "mixed"


@dataclass(frozen=True)
class Tables:
    """Everything the generator draws from, as read from ``synthetic_events.json``."""

    companies: tuple[Company, ...]
    speakers: Mapping[str, tuple[str, ...]]
    hedges: tuple[str, ...]
    datelines: tuple[str, ...]
    tweet_prefixes: tuple[str, ...]
    fillers: Mapping[str, tuple[str, ...]]
    templates: tuple[Template, ...]

    @property
    def speaker_names(self) -> frozenset[str]:
        """Every broker and rating-agency name."""
        return frozenset(name for names in self.speakers.values() for name in names)


@functools.cache
def load_tables() -> Tables:
    """The bundled template tables (read once)."""
    raw = json.loads(resources.files("models.train").joinpath(TEMPLATE_FILE).read_text(encoding="utf-8"))
    templates = tuple(
        Template(event=group["event"], text=text, labels=group["labels"], styles=_styles(group))
        for group in raw["groups"]
        for text in group["texts"]
    )
    return Tables(
        companies=tuple(Company(*entry) for entry in raw["companies"]),
        speakers={"BROKER": tuple(raw["brokers"]), "AGENCY": tuple(raw["agencies"])},
        hedges=tuple(raw["hedges"]),
        datelines=tuple(raw["datelines"]),
        tweet_prefixes=tuple(raw["tweet_prefixes"]),
        fillers={key: tuple(values) for key, values in raw["fillers"].items()},
        templates=templates,
    )


def _styles(group: Mapping[str, Any]) -> tuple[str, ...]:
    styles = tuple(group.get("styles", STYLE_WEIGHTS))
    if not styles or set(styles) - set(STYLE_WEIGHTS):
        raise ModelConfigError(f"synthetic group {group['event']!r}: styles must be among {sorted(STYLE_WEIGHTS)}")
    return styles


def template_counts() -> dict[str, int]:
    """How many templates each event type has."""
    return dict(Counter(template.event for template in load_tables().templates))


def synthetic_events(n: int, seed: int, *, broker_share: float = 0.5, slang: bool = False) -> list[dict[str, Any]]:
    """``n`` distinct synthetic event rows in FinEntity's format, the same for the same arguments.

    ``broker_share`` is the share of analyst and rating-agency rows that list the broker (always
    neutral) as an entity; ``slang`` adds the ``social_*`` groups (the rows without it are those
    written before the groups existed).
    """
    if not 0 <= n <= MAX_ROWS:
        raise ModelConfigError(f"synthetic rows: n must be between 0 and {MAX_ROWS}, got {n}")
    if not 0.0 <= broker_share <= 1.0:
        raise ModelConfigError(f"synthetic rows: broker_share must be between 0 and 1, got {broker_share}")
    tables = load_tables()
    by_kind: dict[str, list[Template]] = {kind: [] for kind in KIND_WEIGHTS}
    for template in tables.templates:
        if slang or not template.event.startswith(SLANG_PREFIX):
            by_kind[template.kind].append(template)
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    attempts = 0
    while len(rows) < n:
        attempts += 1
        if attempts > 50 * n + 1000:  # the tables cannot yield that many distinct texts
            raise ModelConfigError(f"synthetic rows: only {len(rows)} distinct texts found for n={n}")
        kind = _weighted(rng, KIND_WEIGHTS)
        row = _render(rng, tables, rng.choice(by_kind[kind]), broker_share)
        if row["text"] not in seen:
            seen.add(row["text"])
            rows.append(row)
    return rows


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _render(rng: random.Random, tables: Tables, template: Template, broker_share: float) -> dict[str, Any]:
    """One row: slots filled, companies styled, spans recorded as the text is built."""
    style = _weighted(rng, {name: STYLE_WEIGHTS[name] for name in template.styles})
    companies, names = _entity_surfaces(rng, tables, template, style)
    values = _fillers(rng, tables)
    listed = {slot for slot in template.labels if slot in COMPANY_SLOTS or rng.random() < broker_share}
    headline_case = style == "plain" and not template.text.endswith(".") and rng.random() < HEADLINE_CASE_SHARE
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    first_mention: set[str] = set()
    position = 0
    for index, piece in enumerate(_SLOT_RE.split(template.text)):
        if index % 2 == 0:  # literal text between slots
            piece = _headline_case(piece, at_start=index == 0) if headline_case else piece
        elif piece not in names:  # a filler; one that opens the text is capitalised ("The FDA approves")
            piece = _headline_case(values[piece], at_start=False) if headline_case else values[piece]
            piece = piece[:1].upper() + piece[1:] if position == 0 else piece
        else:
            slot, piece = piece, names[piece]
            if slot in listed:
                label = template.labels[slot]
                entities.append({"start": position, "end": position + len(piece), "name": piece, "sentiment": label})
            if style == "reuters" and slot in companies and slot not in first_mention:
                piece += f" <{companies[slot].ticker}.{companies[slot].exchange}>"
            first_mention.add(slot)
        parts.append(piece)
        position += len(piece)
    prefix, text = _frame(rng, tables, style, "".join(parts))
    entities = [{**e, "start": e["start"] + len(prefix), "end": e["end"] + len(prefix)} for e in entities]
    return {"text": text, "entities": entities, "sentiment": _paragraph_label(entities)}


def _entity_surfaces(
    rng: random.Random, tables: Tables, template: Template, style: str
) -> tuple[dict[str, Company], dict[str, str]]:
    """The company of each company slot, and the text each entity slot is written as (distinct firms)."""
    slots = set(_SLOT_RE.findall(template.text))
    company_slots = sorted(slots & set(COMPANY_SLOTS))
    companies = dict(zip(company_slots, rng.sample(tables.companies, len(company_slots)), strict=True))
    surfaces = {
        slot: _cashtag(rng, company.ticker) if style == "tweet" else company.name for slot, company in companies.items()
    }
    for slot in SPEAKER_SLOTS:
        if slot in slots:
            surfaces[slot] = _speaker(rng, tables.speakers[slot], list(companies.values()))
    return companies, surfaces


def _cashtag(rng: random.Random, ticker: str) -> str:
    return "$" + (ticker.lower() if rng.random() < LOWERCASE_CASHTAG_SHARE else ticker)


def _speaker(rng: random.Random, names: Sequence[str], companies: Sequence[Company]) -> str:
    """A broker or agency that is none of the row's companies ("Wells Fargo" rating Wells Fargo)."""
    taken = {company.name.split()[0] for company in companies}
    return rng.choice([name for name in names if name.split()[0] not in taken])


def _frame(rng: random.Random, tables: Tables, style: str, sentence: str) -> tuple[str, str]:
    """The prefix put before ``sentence`` (a dateline, a tweet prefix) and the framed text (with any hedge)."""
    prefix = ""
    if style == "reuters" and rng.random() < 0.5:
        prefix = rng.choice(tables.datelines)
    elif style == "tweet":
        prefix = rng.choice(tables.tweet_prefixes)
    if style != "tweet" and rng.random() < HEDGE_SHARE:
        hedge = rng.choice(tables.hedges)
        sentence = sentence[:-1] + hedge + "." if sentence.endswith(".") else sentence + hedge
    return prefix, prefix + sentence


def _headline_case(literal: str, *, at_start: bool) -> str:
    """Capitalise the words of a literal piece of a headline, small words excepted."""
    words = literal.split(" ")
    out = []
    for index, word in enumerate(words):
        first = at_start and index == 0
        if word and word[0].islower() and (first or word not in _SMALL_WORDS):
            word = word[0].upper() + word[1:]
        out.append(word)
    return " ".join(out)


def _paragraph_label(entities: Sequence[Mapping[str, Any]]) -> str | None:
    labels = {entity["sentiment"] for entity in entities}
    return labels.pop() if len(labels) == 1 else None


def _fillers(rng: random.Random, tables: Tables) -> dict[str, str]:
    """A value for every non-entity placeholder, numbers kept consistent (a beat is above the estimate)."""
    values = {key: rng.choice(options) for key, options in tables.fillers.items()}
    estimate = rng.randint(8, 450) / 100
    step = rng.randint(2, 40) / 100
    pt_old = rng.randint(12, 400)
    dividend = rng.randint(8, 150) / 100
    quarter = rng.randint(1, 4)
    ordinal = ("first", "second", "third", "fourth")[quarter - 1]
    values |= {
        "q": str(quarter),
        "quarter": f"{ordinal}-quarter",
        "quarter_noun": f"{ordinal} quarter",
        "year": str(rng.randint(2024, 2027)),
        "day": str(rng.randint(1, 28)),
        "est": f"${estimate:.2f}",
        "eps_beat": f"${estimate + step:.2f}",
        "eps_miss": f"${max(estimate - step, 0.01):.2f}" if rng.random() < 0.8 else f"-${step:.2f}",
        "pct": f"{rng.choice([rng.randint(2, 40), rng.randint(1, 9) + rng.randint(1, 9) / 10])}%",
        "pct2": f"{rng.randint(2, 25)}%",
        "premium": f"{rng.randint(12, 85)}%",
        "rev": f"${rng.randint(2, 900) / 10:.1f} billion" if rng.random() < 0.6 else f"${rng.randint(40, 990)} million",
        "bn": f"${rng.randint(11, 600) / 10:g} billion",
        "mn": f"${rng.randint(15, 950)} million",
        "pt_old": f"${pt_old}",
        "pt_up": f"${pt_old + max(1, round(pt_old * rng.randint(5, 40) / 100))}",
        "pt_down": f"${max(1, pt_old - max(1, round(pt_old * rng.randint(5, 40) / 100)))}",
        "div_old": f"${dividend:.2f}",
        "div_up": f"${dividend + rng.randint(1, 20) / 100:.2f}",
        "div_down": f"${max(dividend - rng.randint(1, 20) / 100, 0.01):.2f}" if dividend > 0.02 else "$0.01",
        "jobs": f"{rng.choice([rng.randint(2, 99) * 100, rng.randint(1, 15) * 1000]):,}",
        "units": f"{rng.randint(5, 900) * 1000:,}",
        "price": f"${rng.randint(800, 25000) / 100:.2f}",
    }
    return values


def summarize(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts of rows, entity labels, row labels and rows whose entities disagree."""
    rows = list(rows)
    entity_labels = Counter(entity["sentiment"] for row in rows for entity in row["entities"])
    row_labels = Counter(str(row["sentiment"]) for row in rows)
    total = sum(entity_labels.values())
    return {
        "rows": len(rows),
        "entities": total,
        "entity_labels": {label: entity_labels[label] for label in LABELS},
        "entity_shares": {label: round(entity_labels[label] / total, 3) if total else 0.0 for label in LABELS},
        "row_labels": {label: row_labels[label] for label in (*LABELS, "None")},
        "mixed_rows": sum(len({e["sentiment"] for e in row["entities"]}) > 1 for row in rows),
        "contrast_rows": sum({"negative", "positive"} <= {e["sentiment"] for e in row["entities"]} for row in rows),
    }


def write_jsonl(rows: Iterable[Mapping[str, Any]], path: Path) -> None:
    """Write ``rows`` one JSON object a line (UTF-8), creating the parent folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
