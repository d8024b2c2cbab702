"""The synthetic feed: determinism, mix, validity against the wire contract, scripted bursts."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from ingest import Burst, FeedConfig, FeedGenerator, OutgoingMessage
from ingest.chatter import BODY, LONG_PARAGRAPHS, POSTS, SHARES
from ingest.content import PLACEHOLDERS, copy_payload, news_payload, social_payload
from ingest.corrupt import FLAW_NAMES, corrupt
from ingest.generator import COPY_DELAY, COPY_NOTE
from ingest.headlines import BURST_HEADLINES, HEADLINES
from ingest.universe import COMPANIES
from models.labels import TFN_TOPICS
from models.novelty_eval import matched
from schemas import Document, DocumentKind, InvalidMessage, parse_document
from schemas.reposts import CASHTAG

Feed = tuple[FeedGenerator, list[OutgoingMessage]]
START = datetime(2024, 5, 1, 13, 30, tzinfo=UTC)
FEED_SIZE = 2_000
BAD_RATIO = 0.1
TOPICS = set(TFN_TOPICS)


@pytest.fixture(scope="module")
def feed() -> Feed:
    """A generator and the 2,000 messages it produced (bad_ratio 0.1, default burst)."""
    generator = FeedGenerator(FeedConfig(bad_ratio=BAD_RATIO, start=START))
    return generator, list(generator.messages(FEED_SIZE))


def _wire(config: FeedConfig, n: int) -> list[tuple[bytes | None, bytes, bool, str]]:
    return [(m.key, m.value, m.valid, m.note) for m in FeedGenerator(config).messages(n)]


def _documents(messages: list[OutgoingMessage]) -> list[Document]:
    return [parse_document(m.value, m.kind) for m in messages if m.valid]


def test_same_seed_gives_identical_bytes() -> None:
    assert _wire(FeedConfig(seed=3, bad_ratio=0.2, start=START), 400) == _wire(
        FeedConfig(seed=3, bad_ratio=0.2, start=START), 400
    )


def test_different_seed_gives_different_bytes() -> None:
    first = _wire(FeedConfig(seed=3, start=START), 200)
    second = _wire(FeedConfig(seed=4, start=START), 200)
    assert sum(a[1] != b[1] for a, b in zip(first, second, strict=True)) > 190


def test_second_call_repeats_the_feed() -> None:
    generator = FeedGenerator(FeedConfig(bad_ratio=0.1))
    assert list(generator.messages(150)) == list(generator.messages(150))


@pytest.mark.parametrize("n", [0, 1, 7, 333])
def test_yields_exactly_n(n: int) -> None:
    generator = FeedGenerator(FeedConfig(bad_ratio=0.3, start=START))
    assert len(list(generator.messages(n))) == n
    assert generator.stats.produced == n


def test_bad_ratio_within_tolerance(feed: Feed) -> None:
    generator, messages = feed
    invalid = sum(not m.valid for m in messages)
    assert abs(invalid / FEED_SIZE - BAD_RATIO) < 0.025
    assert generator.stats.invalid == invalid
    assert generator.stats.valid + generator.stats.invalid == FEED_SIZE


@pytest.mark.parametrize("ratio", [0.0, 1.0])
def test_bad_ratio_extremes(ratio: float) -> None:
    messages = list(FeedGenerator(FeedConfig(bad_ratio=ratio, start=START, bursts=())).messages(200))
    assert all(m.valid is (ratio == 0.0) for m in messages)


def test_valid_messages_parse_and_invalid_ones_are_rejected(feed: Feed) -> None:
    for message in feed[1]:
        if message.valid:
            parse_document(message.value, message.kind)
        else:
            with pytest.raises(InvalidMessage):
                parse_document(message.value, message.kind)


def test_every_flaw_occurs(feed: Feed) -> None:
    generator, messages = feed
    notes = {m.note for m in messages if not m.valid}
    assert notes == set(FLAW_NAMES)
    assert set(generator.stats.by_flaw) == set(FLAW_NAMES)


@pytest.mark.parametrize("flaw", FLAW_NAMES)
@pytest.mark.parametrize("kind", list(DocumentKind))
def test_each_flaw_is_rejected_in_every_variant(flaw: str, kind: DocumentKind) -> None:
    rng = random.Random(flaw)
    make = news_payload if kind is DocumentKind.NEWS else social_payload
    for i in range(40):
        payload = make(rng, f"doc-{i}", START)
        parse_document(orjson.dumps(payload), kind)
        with pytest.raises(InvalidMessage):
            parse_document(corrupt(payload, kind, flaw, rng), kind)


def test_keys_and_ids(feed: Feed) -> None:
    messages = feed[1]
    ids = [orjson.loads(m.value)["id"] for m in messages if m.valid]
    assert len(ids) == len(set(ids))
    assert all(m.key == orjson.loads(m.value)["id"].encode() for m in messages if m.valid)
    assert all(m.key is None for m in messages if not m.valid)


def test_mix_of_kinds(feed: Feed) -> None:
    generator, messages = feed
    news = sum(m.kind is DocumentKind.NEWS for m in messages)
    assert 0.3 < news / FEED_SIZE < 0.42
    assert generator.stats.by_kind == {"news": news, "social": FEED_SIZE - news}


def test_default_burst(feed: Feed) -> None:
    generator, messages = feed
    burst = [(i, m) for i, m in enumerate(messages) if m.note == "negative-burst"]
    assert len(burst) == 40 == generator.stats.burst_docs["negative-burst"]
    assert burst[0][0] >= 0.6 * FEED_SIZE and burst[-1][0] - burst[0][0] < 100
    docs = _documents([m for _, m in burst])
    assert all(d.kind is DocumentKind.NEWS and "NVDA" in d.tickers for d in docs)
    assert all("Nvidia" in d.text or "$NVDA" in d.text for d in docs)
    times = [d.event_time for d in docs]
    assert max(times) - min(times) < timedelta(seconds=10)


def test_custom_burst_in_short_feed() -> None:
    burst = Burst(symbol="AAPL", at_fraction=0.5, count=12, sentiment="positive", name="apple-pop")
    messages = list(FeedGenerator(FeedConfig(start=START, bursts=(burst,))).messages(20))
    scripted = [m for m in messages if m.note == "apple-pop"]
    assert len(scripted) == 10
    headlines = {orjson.loads(m.value)["headline"] for m in scripted}
    assert all("Apple" in h or "$AAPL" in h for h in headlines)
    assert not any(word in h for h in headlines for word in ("plunge", "downgraded", "probe", "tanks"))


def test_some_headlines_come_again_as_copies_of_their_story(feed: Feed) -> None:
    generator, messages = feed
    copies = [(i, m) for i, m in enumerate(messages) if m.note == COPY_NOTE]
    assert len(copies) == generator.stats.copies
    assert 0.03 < len(copies) / FEED_SIZE < 0.15  # modest: the feed's other figures stay meaningful
    assert {m.kind for _, m in copies} == {DocumentKind.NEWS, DocumentKind.SOCIAL} and all(m.valid for _, m in copies)
    headlines = {i: orjson.loads(m.value).get("headline") for i, m in enumerate(messages) if m.valid and m.note == ""}
    found = 0
    for at, copy in copies:
        payload = orjson.loads(copy.value)
        text = payload.get("headline") or payload["text"]
        earlier = [h for i, h in headlines.items() if h and at - COPY_DELAY[1] - 100 <= i < at]
        found += any(matched(original, text) for original in earlier)
        assert text not in earlier  # transformed: a prefix, a suffix, other casing or a cut
    assert found >= 0.9 * len(copies)  # the story matcher finds them (the rest: short headlines cut short)


def test_copies_are_seeded_and_can_be_turned_off() -> None:
    none = FeedGenerator(FeedConfig(start=START, copy_ratio=0.0))
    assert not any(m.note == COPY_NOTE for m in none.messages(500)) and none.stats.copies == 0
    marks = ["/".join(m.note for m in FeedGenerator(FeedConfig(start=START)).messages(500)) for _ in range(2)]
    assert marks[0] == marks[1] and COPY_NOTE in marks[0]


def test_a_copy_names_no_company_its_original_does_not() -> None:
    rng = random.Random(3)
    for i in range(300):
        original = news_payload(rng, f"o{i}", START)
        _, copy = copy_payload(rng, f"c{i}", START, original)
        text = copy.get("headline") or copy["text"]
        assert set(CASHTAG.findall(text.upper())) <= set(CASHTAG.findall(original["headline"].upper()))


def test_some_documents_name_no_ticker(feed: Feed) -> None:
    names = [c.name for c in COMPANIES]
    bare = [d for d in _documents(feed[1]) if not (d.tickers or "$" in d.text or any(n in d.text for n in names))]
    assert len(bare) > 300


def test_tickers_appear_in_every_style(feed: Feed) -> None:
    docs = _documents(feed[1])
    assert sum(bool(d.tickers) for d in docs) > 200
    assert sum(not d.tickers and "$" in d.headline for d in docs) > 100
    assert (
        sum(
            not d.tickers and "$" not in d.headline and d.headline.startswith(tuple(c.name for c in COMPANIES))
            for d in docs
        )
        > 50
    )


def test_bodies_short_and_long(feed: Feed) -> None:
    bodies = [len(d.body) for d in _documents(feed[1]) if d.body]
    assert sum(3_000 <= b <= 6_600 for b in bodies) >= 4
    assert sum(b < 1_000 for b in bodies) > 100


def test_social_posts_have_authors_and_engagement(feed: Feed) -> None:
    posts = [d for d in _documents(feed[1]) if d.kind is DocumentKind.SOCIAL]
    assert len({d.author_hash for d in posts}) > 200
    assert len({d.source for d in posts}) >= 4
    assert any(d.likes > 50 for d in posts) and any(d.likes == 0 for d in posts)


def test_timestamps_follow_start_and_spacing(feed: Feed) -> None:
    times = [d.event_time for d in _documents(feed[1])]
    assert min(times) >= START - timedelta(seconds=1)
    assert max(times) <= START + timedelta(seconds=0.05 * FEED_SIZE + 1)


def test_start_defaults_to_now() -> None:
    message = next(FeedGenerator(FeedConfig(bursts=())).messages(1))
    doc = parse_document(message.value, message.kind)
    assert abs(doc.event_time - datetime.now(UTC)) < timedelta(minutes=1)


def test_templates_cover_topics_and_use_known_placeholders() -> None:
    assert set(HEADLINES) == TOPICS
    assert all(set(by_sentiment) == {"negative", "neutral", "positive"} for by_sentiment in HEADLINES.values())
    templates = [t for group in HEADLINES.values() for ts in group.values() for t in ts]
    templates += [t for group in (BURST_HEADLINES, POSTS, BODY) for ts in group.values() for t in ts]
    templates += list(LONG_PARAGRAPHS)
    for template in templates:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        assert fields <= PLACEHOLDERS, template
    assert all({n for _, n, _, _ in string.Formatter().parse(t) if n} == {"headline"} for t in SHARES)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: FeedConfig(bad_ratio=1.5), "bad_ratio"),
        (lambda: FeedConfig(news_ratio=-0.1), "news_ratio"),
        (lambda: FeedConfig(spacing_s=-1), "spacing_s"),
        (lambda: FeedConfig(copy_ratio=1.2), "copy_ratio"),
        (lambda: FeedConfig(start=datetime(2024, 1, 1)), "timezone"),
        (lambda: Burst(symbol="nvda!"), "symbol"),
        (lambda: Burst(at_fraction=1.0), "at_fraction"),
        (lambda: Burst(sentiment="furious"), "sentiment"),
        (lambda: Burst(count=-1), "count"),
    ],
)
def test_config_is_validated(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError, match="n must be"):
        list(FeedGenerator().messages(-1))
