"""The rule engine: windows, metrics, cooldown, hysteresis, headlines, and rebuilding from the store."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.engine import SEAL_AFTER_S, AlertEngine, DocIds, story_key
from alerts.history import StoreHistory
from alerts.outbox import Outbox
from alerts.rules import Rule
from schemas import DocumentRow, ScoreRecord
from schemas.alerts import AlertInput
from storage import Store, open_store

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)

NEG_SHARE = {
    "id": "neg",
    "scope": "symbol",
    "target": "*",
    "metric": "negative_share",
    "window": "5m",
    "hop": "30s",
    "comparison": ">=",
    "threshold": 0.6,
    "min_docs": 5,
    "cooldown": "10m",
    "hysteresis": 0.2,
}


def rule(**changes: Any) -> Rule:
    return Rule(**(NEG_SHARE | changes))


def item(
    n: int, seconds: float, sentiment: int = -1, key: str = "NVDA", scope: str = "symbol", **kw: Any
) -> AlertInput:
    score = {-1: -0.8, 0: 0.0, 1: 0.8}[sentiment]
    fields = {
        "scope": scope,
        "key": key,
        "doc_id": f"d{n}",
        "event_time": T0 + timedelta(seconds=seconds),
        "score": score,
        "sentiment": sentiment,
        "headline": f"headline {n}",
    }
    return AlertInput(**(fields | kw))


def engine(*rules: Rule, history: Any = None) -> AlertEngine:
    return AlertEngine(lambda: rules, history)


def test_a_negative_burst_fires_once_with_its_headlines() -> None:
    alerts = engine(rule()).observe([item(i, i) for i in range(8)])
    assert len(alerts) == 1
    alert = alerts[0]
    # A batch is added whole, then evaluated: the alert covers all of it.
    assert (alert.rule_id, alert.scope, alert.symbol, alert.doc_count) == ("neg", "symbol", "NVDA", 8)
    assert alert.value == 1.0 and alert.window_s == 300
    assert alert.fired_at == T0 + timedelta(seconds=7)
    assert len(alert.headlines) == 5


def test_one_story_told_three_times_is_one_headline() -> None:
    same = ["Acme recalls 2m cars - Reuters", "ACME recalls 2M cars!", "Acme recalls 2m cars | Bloomberg"]
    burst = [item(i, i, headline=same[i % 3] if i < 6 else f"other story {i}") for i in range(8)]
    (alert,) = engine(rule()).observe(burst)
    assert sum("recalls" in headline.lower() for headline in alert.headlines) == 1
    assert len(alert.headlines) == 3  # the recall story and the two others


def test_story_keys_ignore_case_punctuation_and_the_source() -> None:
    assert story_key("Acme recalls 2m cars - Reuters") == story_key("acme recalls 2M cars.") == "acme recalls 2m cars"
    assert story_key("Acme recalls 2m cars") != story_key("Acme recalls 3m cars")


def test_min_docs_and_threshold_hold_it_back() -> None:
    eng = engine(rule())
    assert eng.observe([item(i, i) for i in range(4)]) == []  # 4 < min_docs
    assert eng.observe([item(10 + i, 10 + i, sentiment=1) for i in range(6)]) == []  # share 0.4


def test_other_symbols_and_scopes_keep_their_own_windows() -> None:
    eng = engine(rule(target="NVDA"))
    assert eng.observe([item(i, i, key="AAPL") for i in range(10)]) == []
    assert eng.observe([item(20 + i, i, key="NVDA", scope="topic") for i in range(10)]) == []
    assert len(eng.observe([item(40 + i, i) for i in range(10)])) == 1


def test_cooldown_then_hysteresis_gate_the_next_alert() -> None:
    eng = engine(rule(cooldown="1m"))
    assert len(eng.observe([item(i, i) for i in range(5)])) == 1
    # Still negative after the cooldown: not re-armed, because the metric never recovered.
    assert eng.observe([item(100 + i, 120 + i) for i in range(5)]) == []
    # Recovers only to 0.5 (below the threshold, but re-arming needs < 0.4 with hysteresis 0.2)...
    assert eng.observe([item(200 + i, 125 + i, sentiment=1) for i in range(10)]) == []
    assert eng.observe([item(250 + i, 136 + i) for i in range(5)]) == []  # ...so going back to 0.6 does not fire
    # Recovers past the margin (15 of 38 negative), then turns negative again: fires again.
    assert eng.observe([item(300 + i, 140 + i, sentiment=1) for i in range(13)]) == []
    second = eng.observe([item(400 + i, 155 + i) for i in range(40)])
    assert len(second) == 1 and second[0].fired_at > T0 + timedelta(seconds=155)


def test_cooldown_alone_blocks_a_re_armed_rule() -> None:
    eng = engine(rule(cooldown="10m", hysteresis=0.0))
    assert len(eng.observe([item(i, i) for i in range(5)])) == 1
    eng.observe([item(100 + i, 20 + i, sentiment=1) for i in range(20)])  # recovers: re-armed
    assert eng.observe([item(200 + i, 60 + i) for i in range(60)]) == []  # but cooling down


def test_old_documents_leave_the_window() -> None:
    eng = engine(rule(min_docs=5))
    eng.observe([item(i, i, sentiment=1) for i in range(10)])
    # Ten minutes later the positive documents are out of the 5-minute window.
    alerts = eng.observe([item(100 + i, 600 + i) for i in range(5)])
    assert len(alerts) == 1 and alerts[0].doc_count == 5


def test_duplicates_are_counted_once() -> None:
    eng = engine(rule(min_docs=6))
    batch = [item(i, i) for i in range(5)]
    assert eng.observe(batch) == []
    assert eng.observe(batch) == []  # the stream delivered them again: still 5 documents


def test_duplicates_are_counted_once_after_their_bucket_is_sealed() -> None:
    eng = engine(rule(min_docs=8))
    early = [item(i, i) for i in range(5)]
    assert eng.observe(early) == []
    assert eng.observe([item(5, SEAL_AFTER_S + 60)]) == []  # the early buckets are now sealed
    assert eng.observe(early) == []  # delivered again: still 6 documents
    assert eng.observe([item(6, 3)]) == []  # a late new document in a sealed bucket counts: 7
    [alert] = eng.observe([item(7, SEAL_AFTER_S + 61), item(6, 3)])
    assert alert.doc_count == 8


def test_doc_ids_are_exact_before_and_after_sealing() -> None:
    ids = DocIds()
    assert [ids.add(f"d{i % 50}") for i in range(100)] == [True] * 50 + [False] * 50
    ids.seal()
    assert len(ids) == 50 and not any(ids.add(f"d{i}") for i in range(50))
    assert ids.add("d50") and ids.add("a-new-one") and not ids.add("d50") and len(ids) == 52


def test_the_same_window_yields_the_same_alert_id() -> None:
    first = engine(rule()).observe([item(i, i) for i in range(8)])
    again = engine(rule()).observe([item(i, i) for i in range(6)])
    assert first[0].alert_id == again[0].alert_id


@pytest.mark.parametrize(
    ("changes", "fires"),
    [
        ({"metric": "mean_score", "comparison": "<=", "threshold": -0.5}, True),
        ({"metric": "mean_score", "comparison": ">=", "threshold": 0.5}, False),
        ({"metric": "volume", "comparison": ">=", "threshold": 8}, True),
        ({"metric": "volume", "comparison": ">=", "threshold": 20}, False),
    ],
)
def test_simple_metrics(changes: dict, fires: bool) -> None:
    assert bool(engine(rule(**changes)).observe([item(i, i) for i in range(10)])) is fires


def test_volume_zscore_needs_a_baseline_and_fires_on_a_spike() -> None:
    spike = rule(metric="volume_zscore", comparison=">=", threshold=4, window="1m", hop="1m", baseline_windows=6)
    eng = engine(spike)
    assert eng.observe([item(i, i * 10) for i in range(20)]) == []  # 200 s of history: no baseline yet
    steady = [item(100 + i, 200 + i * 20, sentiment=0) for i in range(20)]  # ~3 docs a minute
    assert eng.observe(steady) == []
    burst = eng.observe([item(500 + i, 610 + i) for i in range(30)])
    assert len(burst) == 1 and burst[0].value > 4


def test_score_change_against_the_trailing_baseline() -> None:
    drop = rule(metric="score_change", comparison="<=", threshold=-0.5, window="1m", hop="1m", baseline_windows=3)
    eng = engine(drop)
    assert eng.observe([item(i, i * 10, sentiment=1) for i in range(24)]) == []  # 4 minutes of good news
    fired = eng.observe([item(100 + i, 245 + i) for i in range(10)])
    assert len(fired) == 1 and fired[0].value == pytest.approx(-1.6)


def test_a_shift_of_the_class_mix_raises_class_psi_and_fires() -> None:
    drift = rule(scope="all", target="*", metric="class_psi", comparison=">=", threshold=0.25, window="1m", hop="1m",
                 baseline_windows=3, min_docs=10)  # fmt: skip
    eng = engine(drift)
    mix = itertools.cycle([-1, 0, 0, 0, 1, 1])  # a steady mix for 4 minutes: no drift
    steady = [item(i, i * 5, sentiment=next(mix), scope="all", key="") for i in range(48)]
    assert eng.observe(steady) == []
    shifted = eng.observe([item(100 + i, 245 + i * 5, sentiment=-1, scope="all", key="") for i in range(10)])
    assert len(shifted) == 1 and shifted[0].metric == "class_psi" and shifted[0].value > 1.0
    calm = engine(drift)
    calm.observe(steady)
    assert calm.observe([item(200 + i, 245 + i * 5, sentiment=next(mix), scope="all", key="") for i in range(12)]) == []


def test_model_psi_compares_the_window_with_the_models_validation_mix() -> None:
    drift = rule(scope="all", target="*", metric="model_psi", comparison=">=", threshold=0.25, window="1m", hop="1m",
                 min_docs=10)  # fmt: skip
    reference: list[tuple[int, int, int] | None] = [None]
    eng = AlertEngine(lambda: [drift], reference_mix=lambda: reference[0])
    negatives = [item(i, i * 5, sentiment=-1, scope="all", key="") for i in range(10)]
    assert eng.observe(negatives[:5]) == [], "no reference known: nothing is measured"
    reference[0] = (20, 50, 30)
    fired = eng.observe(negatives[5:])
    assert len(fired) == 1 and fired[0].metric == "model_psi" and fired[0].value > 1.0
    mix = itertools.cycle([-1, -1, 0, 0, 0, 0, 0, 1, 1, 1])  # the validation mix itself
    calm = AlertEngine(lambda: [drift], reference_mix=lambda: (20, 50, 30))
    assert calm.observe([item(100 + i, 300 + i * 5, sentiment=next(mix), scope="all", key="") for i in range(10)]) == []


def test_population_stability_index() -> None:
    from schemas.drift import population_stability_index as psi

    assert psi([10, 20, 30], [10, 20, 30]) == pytest.approx(0.0)
    assert psi([1, 2, 3], [100, 200, 300]) == pytest.approx(0.0, abs=0.02), "shares, not counts, are compared"
    assert psi([30, 0, 0], [10, 10, 10]) > 1.0 and psi([12, 10, 8], [10, 10, 10]) < 0.05
    with pytest.raises(ValueError):
        psi([1, 2], [1, 2, 3])


def test_headlines_are_ranked_by_the_rules_direction() -> None:
    texts = {0: "worst", 1: "bad", 2: "meh"}
    items = [item(n, n, headline=texts[n], score=-0.9 + 0.3 * n) for n in range(3)]
    items += [item(10 + n, 10 + n, sentiment=1, headline=f"good {n}", score=0.5 + 0.1 * n) for n in range(3)]
    negative = engine(rule(metric="mean_score", comparison=">=", threshold=-1.0, min_docs=6)).observe(items)
    positive = engine(rule(metric="mean_score", comparison="<=", threshold=1.0, min_docs=6)).observe(items)
    assert negative[0].headlines[:3] == ["good 2", "good 1", "good 0"]  # '>=' watches for good news
    assert positive[0].headlines[:3] == ["worst", "bad", "meh"]


def test_topic_and_market_inputs_come_once_per_document() -> None:
    fields: dict[str, Any] = {
        "doc_id": "d1", "kind": "news", "source": "wire", "event_time": T0, "topic": "Earnings",
        "topic_confidence": 0.9, "sentiment": -1, "p_negative": 0.8, "p_neutral": 0.1, "p_positive": 0.1,
        "score": -0.7, "model_version": "m", "ingested_at": T0, "headline": "h",
    }  # fmt: skip

    def inputs_for(score: ScoreRecord) -> list[AlertInput]:
        contributions = AlertInput.fields_of(score)
        inputs = [AlertInput.model_validate(values) for _, values in contributions]
        assert [key for key, _ in contributions] == [i.partition_key for i in inputs]
        return inputs

    first = inputs_for(ScoreRecord(**fields, symbol="NVDA", doc_first=True))
    second = inputs_for(ScoreRecord(**fields, symbol="AMD", doc_first=False))
    assert [(i.scope, i.key) for i in first] == [("symbol", "NVDA"), ("topic", "Earnings"), ("all", "")]
    assert [(i.scope, i.key) for i in second] == [("symbol", "AMD")]
    assert [(i.scope, i.key) for i in inputs_for(ScoreRecord(**fields, symbol=""))] == [
        ("topic", "Earnings"),
        ("all", ""),
    ]
    assert first[0].doc_id == "d1" and first[0].event_time == T0 and first[0].score == -0.7 and first[0].headline == "h"


def test_a_rules_change_starts_from_fresh_windows() -> None:
    current = [rule(min_docs=50)]
    eng = AlertEngine(lambda: current)
    assert eng.observe([item(i, i) for i in range(10)]) == []
    current[:] = [rule(min_docs=5)]
    assert eng.observe([item(100 + i, 20 + i) for i in range(4)]) == []  # old windows were dropped
    assert len(eng.observe([item(200, 30)])) == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1200), st.sampled_from([-1, 0, 1])), max_size=120))
def test_alerts_respect_cooldown_and_min_docs(events: list[tuple[int, int]]) -> None:
    watched = rule(cooldown="2m")
    eng = engine(watched)
    fired = []
    for n, (seconds, sentiment) in enumerate(sorted(events)):
        fired += eng.observe([item(n, seconds, sentiment)])
    times = [alert.fired_at for alert in fired]
    assert all(b - a >= timedelta(minutes=2) for a, b in itertools.pairwise(times))
    assert all(alert.doc_count >= watched.min_docs and alert.value >= watched.threshold for alert in fired)
    assert len({alert.alert_id for alert in fired}) == len(fired)


# Rebuilding from the store -----------------------------------------------------------------


@pytest.fixture
def history_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"chdb://{tmp_path / 'chdb'}")
    store.init_schema()
    yield store
    store.close()


def stored(store: Store, items: list[AlertInput], symbols: Callable[[AlertInput], list[str]] | None = None) -> None:
    rows = [
        DocumentRow(
            doc_id=i.doc_id,
            kind="news",
            source="wire",
            event_time=i.event_time,
            ingested_at=i.event_time,
            headline=i.headline,
            body="",
            url="",
            author_hash="",
            symbols=symbols(i) if symbols else [i.key],
            content_hash=i.doc_id,
            topic="Earnings",
            topic_confidence=0.9,
            sentiment=i.sentiment,
            p_negative=0.0,
            p_neutral=0.0,
            p_positive=0.0,
            score=i.score,
            model_version="m",
        )
        for i in items
    ]
    store.insert_documents(rows)


def test_a_restarted_engine_resumes_the_windows_from_the_store(history_store: Store) -> None:
    earlier = [item(i, i) for i in range(4)]
    stored(history_store, earlier)
    eng = engine(rule(), history=StoreHistory(history_store))
    # The stream delivers two of the stored documents again, plus one new: 5 distinct, so it fires.
    alerts = eng.observe([earlier[2], earlier[3], item(9, 9)])
    assert len(alerts) == 1 and alerts[0].doc_count == 5
    assert set(alerts[0].headlines) == {f"headline {n}" for n in (0, 1, 2, 3, 9)}


def test_a_restarted_engine_does_not_fire_an_episode_already_alerted(history_store: Store) -> None:
    earlier = [item(i, i) for i in range(8)]
    stored(history_store, earlier)
    first = engine(rule(), history=StoreHistory(history_store)).observe(earlier)
    assert len(first) == 1
    Outbox(history_store, None).enqueue(first)
    restarted = engine(rule(), history=StoreHistory(history_store))
    assert restarted.observe([item(20 + i, 20 + i) for i in range(10)]) == []


def test_history_serves_topic_and_market_keys_and_old_buckets(history_store: Store) -> None:
    old = [item(i, -3000 + i * 60, sentiment=0, key="Earnings", scope="topic") for i in range(40)]
    stored(history_store, old, symbols=lambda _: ["AAPL", "MSFT"])
    history = StoreHistory(history_store)
    aggregates = history.aggregates("topic", ["Earnings", "Other"], since=int(T0.timestamp()) - 4000, until=2**31)
    assert sum(a.count for a in aggregates["Earnings"]) == 40 and "Other" not in aggregates
    market = history.aggregates("all", [""], since=0, until=2**31)
    assert sum(a.count for a in market[""]) == 40
    per_symbol = history.details("symbol", ["AAPL", "MSFT", "NVDA"], since=0)
    assert len(per_symbol["AAPL"]) == len(per_symbol["MSFT"]) == 40 and "NVDA" not in per_symbol
