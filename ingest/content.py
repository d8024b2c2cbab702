"""Render synthetic news and social payloads (plain dicts in the wire schema) from templates."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ingest import universe as u
from ingest.chatter import BODY, LONG_PARAGRAPHS, POSTS, SHARES
from ingest.headlines import BURST_HEADLINES, HEADLINES, TOPIC_SECTORS
from schemas import SCHEMA_VERSION
from schemas.reposts import CASHTAG, TRANSFORMS

Payload = dict[str, Any]

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
_SENTIMENT_WEIGHTS = (22, 50, 28)
_TOPICS = tuple(HEADLINES)
_STYLES = ("name", "cashtag", "both", "prefix")
_COMPANY_FIELDS = ("{sub}", "{co}", "{other}")
_NEWS_COPY = ("wire_suffix", "label_prefix", "cashtag_prefix", "case", "truncate")
_SOCIAL_COPY = ("retweet", "via_mention", "label_prefix", "cashtag_prefix", "case", "truncate")
"""Transformations (``schemas.reposts.TRANSFORMS``) of a syndicated news copy and of a repost."""
_OFFSETS = tuple(timezone(timedelta(hours=h)) for h in (-5, -4, 1, 8, 9))
_FIGURES: dict[str, Callable[[random.Random], str]] = {
    "pct": lambda r: f"{r.uniform(0.3, 7.9):.1f}%",
    "bigpct": lambda r: f"{r.randint(9, 45)}%",
    "pt": lambda r: f"${r.randint(12, 900)}",
    "eps": lambda r: f"${r.uniform(0.05, 6.5):.2f}",
    "rev": lambda r: f"${r.uniform(0.8, 95):.1f}B",
    "amt": lambda r: r.choice((f"${r.randint(120, 990)}M", f"${r.uniform(1, 48):.1f}B")),
    "div": lambda r: f"${r.uniform(0.08, 2.4):.2f}",
    "q": lambda r: r.choice(("Q1", "Q2", "Q3", "Q4")),
    "bp": lambda r: r.choice(("25 bps", "50 bps", "a quarter point")),
    "yld": lambda r: f"{r.uniform(3.4, 5.1):.2f}%",
    "oil": lambda r: f"${r.uniform(58, 96):.2f}",
    "gold": lambda r: f"${r.uniform(1_900, 2_600):,.2f}",
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "bank": u.ANALYST_FIRMS,
    "cb": u.CENTRAL_BANKS,
    "fx": u.CURRENCY_PAIRS,
    "ccy": u.CURRENCIES,
    "metal": u.METALS,
    "crude": u.CRUDE,
    "index": u.INDEXES,
    "country": u.COUNTRIES,
    "role": u.ROLES,
    "person": u.PEOPLE,
    "ipo": u.IPO_NAMES,
}

PLACEHOLDERS: frozenset[str] = frozenset(_FIGURES) | frozenset(_CHOICES) | {"sub", "co", "other", "product"}


class _Fill(dict[str, str]):
    """Placeholder values made on first use, so a template only draws what it needs."""

    def __init__(self, rng: random.Random, company: u.Company | None, style: str):
        super().__init__()
        self.rng = rng
        self.company = company
        self.style = style
        self.symbols: list[str] = [company.symbol] if company else []

    def __missing__(self, key: str) -> str:
        value = self._make(key)
        self[key] = value
        return value

    def _make(self, key: str) -> str:
        if key in _FIGURES:
            return _FIGURES[key](self.rng)
        if key in _CHOICES:
            return self.rng.choice(_CHOICES[key])
        company = self.company or self.rng.choice(u.COMPANIES)
        if key == "product":
            return self.rng.choice(u.PRODUCTS.get(company.sector, u.PRODUCTS["tech"]))
        if key == "sub":
            return _show(company, self.style)
        if key == "co":
            return company.name
        if key == "other":
            other = self.rng.choice([c for c in u.COMPANIES if c != company])
            self.symbols.append(other.symbol)
            return other.name
        raise KeyError(key)


def _show(company: u.Company, style: str) -> str:
    if style == "cashtag":
        return f"${company.symbol}"
    if style == "both":
        return f"{company.name} (${company.symbol})"
    return company.name


def _names_company(template: str) -> bool:
    return any(field in template for field in _COMPANY_FIELDS)


def _pick_company(rng: random.Random, topic: str) -> u.Company:
    sector = TOPIC_SECTORS.get(topic)
    pool = [c for c in u.COMPANIES if c.sector == sector] if sector else u.COMPANIES
    return rng.choice(pool)


def _render(template: str, fill: _Fill) -> str:
    text = template.format_map(fill)
    text = text[0].upper() + text[1:]
    if fill.style == "prefix" and fill.company:
        return f"${fill.company.symbol} - {text}"
    return text


def _sentiment(rng: random.Random) -> str:
    return rng.choices(SENTIMENTS, _SENTIMENT_WEIGHTS)[0]


def _headline(rng: random.Random, topic: str, sentiment: str, style: str) -> tuple[str, _Fill]:
    template = rng.choice(HEADLINES[topic][sentiment])
    company = _pick_company(rng, topic) if _names_company(template) else None
    fill = _Fill(rng, company, style)
    return _render(template, fill), fill


def _ticker_field(rng: random.Random, symbols: list[str]) -> list[str]:
    form = rng.random()
    if form < 0.1:
        return [f"${s}" for s in symbols]
    if form < 0.15:
        return [s.lower() for s in symbols]
    return list(symbols)


def _body(rng: random.Random, sentiment: str, fill: _Fill) -> str:
    sentences = rng.sample(BODY[sentiment], rng.randint(2, min(4, len(BODY[sentiment]))))
    return " ".join(s.format_map(fill) for s in sentences)


def _long_body(rng: random.Random, fill: _Fill) -> str:
    target = rng.randint(3_000, 6_000)
    order = list(LONG_PARAGRAPHS)
    rng.shuffle(order)
    parts: list[str] = []
    while sum(map(len, parts)) < target:
        parts.append(order[len(parts) % len(order)].format_map(fill))
    return "\n\n".join(parts)


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:8]) or "story"


def _timestamp(rng: random.Random, when: datetime, shift_zone: bool) -> str:
    if shift_zone and rng.random() < 0.2:
        return when.astimezone(rng.choice(_OFFSETS)).isoformat(timespec="milliseconds")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _news(
    rng: random.Random, doc_id: str, when: datetime, headline: str, fill: _Fill, sentiment: str, tickers: list[str]
) -> Payload:
    source = rng.choice(u.NEWS_SOURCES)
    payload: Payload = {
        "schema_version": SCHEMA_VERSION,
        "id": doc_id,
        "source": source,
        "published_at": _timestamp(rng, when, shift_zone=False),
        "headline": headline,
    }
    roll = rng.random()
    if roll < 0.02:
        payload["body"] = _long_body(rng, fill)
    elif roll < 0.3:
        payload["body"] = _body(rng, sentiment, fill)
    if rng.random() < 0.6:
        payload["url"] = f"https://news.example.com/{source}/{_slug(headline)}-{doc_id}"
    if tickers:
        payload["tickers"] = tickers
    return payload


def news_payload(rng: random.Random, doc_id: str, when: datetime) -> Payload:
    """A news article on a random topic; about half of those naming a company also list tickers."""
    topic, sentiment, style = rng.choice(_TOPICS), _sentiment(rng), rng.choice(_STYLES)
    headline, fill = _headline(rng, topic, sentiment, style)
    tickers = _ticker_field(rng, fill.symbols) if fill.symbols and rng.random() < 0.5 else []
    return _news(rng, doc_id, when, headline, fill, sentiment, tickers)


def burst_payload(rng: random.Random, doc_id: str, when: datetime, symbol: str, sentiment: str) -> Payload:
    """A news article for a scripted event: about ``symbol``, with the given sentiment, tickers listed."""
    company = u.BY_SYMBOL.get(symbol) or u.Company(symbol, symbol, "")
    fill = _Fill(rng, company, rng.choice(_STYLES))
    headline = _render(rng.choice(BURST_HEADLINES[sentiment]), fill)
    return _news(rng, doc_id, when, headline, fill, sentiment, [symbol])


def _engagement(rng: random.Random) -> dict[str, int]:
    likes = int(rng.lognormvariate(1.6, 1.5))
    return {"likes": likes, "reposts": int(likes * rng.uniform(0, 0.35)), "replies": int(likes * rng.uniform(0, 0.15))}


def _handle(rng: random.Random) -> str:
    first, second = u.HANDLE_WORDS
    return f"{rng.choice(first)}_{rng.choice(second)}{rng.randint(1, 999)}"


def social_payload(rng: random.Random, doc_id: str, when: datetime) -> Payload:
    """A social post: market chatter or a shared headline, with an author and engagement counts."""
    sentiment, style = _sentiment(rng), rng.choice(_STYLES[:3])
    if rng.random() < 0.75:
        template = rng.choice(POSTS[sentiment])
        company = rng.choice(u.COMPANIES) if _names_company(template) else None
        fill = _Fill(rng, company, style)
        text = _render(template, fill)
    else:
        headline, fill = _headline(rng, rng.choice(_TOPICS), sentiment, style)
        text = rng.choice(SHARES).format(headline=headline)
    payload: Payload = {
        "schema_version": SCHEMA_VERSION,
        "id": doc_id,
        "platform": rng.choice(u.PLATFORMS),
        "author": _handle(rng),
        "created_at": _timestamp(rng, when, shift_zone=True),
        "text": text,
        "engagement": _engagement(rng),
    }
    if fill.symbols and rng.random() < 0.3:
        payload["tickers"] = _ticker_field(rng, fill.symbols)
    return payload


def copy_payload(rng: random.Random, doc_id: str, when: datetime, original: Payload) -> tuple[bool, Payload]:
    """A copy of news ``original``'s headline, as ``(is news, payload)``: half syndicated by another
    source, half reposted by an account, each through one or two repost transformations.

    A copy names no cashtag its original does not (a cashtag prefix would name a random company,
    a cut could leave ``$J`` of ``$JNJ``), so the feed never mentions the burst's symbol by accident.
    """
    news = rng.random() < 0.5
    text = _copied_text(rng, original["headline"], _NEWS_COPY if news else _SOCIAL_COPY)
    tickers = list(original.get("tickers", []))
    if news:
        return True, _copy_of(_news(rng, doc_id, when, text, _Fill(rng, None, "name"), "neutral", tickers), original)
    payload = social_payload(rng, doc_id, when) | {"text": text}
    payload.pop("tickers", None)
    return False, payload | ({"tickers": tickers} if tickers else {})


def _copied_text(rng: random.Random, headline: str, transforms: tuple[str, ...], tries: int = 3) -> str:
    """``headline`` through one or two of ``transforms``, naming no cashtag it does not (else a wire suffix)."""
    allowed = {tag.upper() for tag in CASHTAG.findall(headline)}
    offered = [name for name in transforms if name != "cashtag_prefix" or allowed]
    for _ in range(tries):
        text = headline
        for name in rng.sample(offered, rng.randint(1, 2)):
            text = TRANSFORMS[name](text, rng)
        if {tag.upper() for tag in CASHTAG.findall(text)} <= allowed:
            return text
    return TRANSFORMS["wire_suffix"](headline, rng)


def _copy_of(copy: Payload, original: Payload) -> Payload:
    """A syndicated copy keeps the original's body (a wire story runs whole) and drops any other body."""
    copy.pop("body", None)
    return copy | ({"body": original["body"]} if "body" in original else {})
