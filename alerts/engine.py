"""The rule engine: hopping-window aggregates per scope key, evaluated as documents arrive.

State per scope key (a symbol, a topic, or the market as a whole) is a map of 10-second
buckets (count, score sum, negatives, and the most negative / most positive headlines). A
window of any rule is a run of buckets, so one key's state serves every rule that watches it.

Windows hop: the window a document lands in ends at the next multiple of the rule's hop
after its event time and spans the rule's window before that. Each window is evaluated as
soon as a document changes it (not when it closes), so an alert follows the document that
tips the metric by one batch, not by one hop. The alert id is derived from the rule, the key
and the window end, so evaluating the same window again never yields a second alert.

The state is rebuilt from the store (``History``) the first time a key is seen after a start
or a rebalance, so a restarted worker resumes with the same windows, cooldowns and re-arm
state rather than an empty memory. Document ids are remembered for the buckets of the longest
window, so documents the stream delivers again after a crash are not counted twice there.
"""

from __future__ import annotations

import heapq
import math
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from alerts.rules import BUCKET_S, Rule
from schemas.alerts import AlertInput, AlertRecord, Scope, alert_id_for
from schemas.drift import population_stability_index

TOP_HEADLINES = 5
SEAL_AFTER_S = 60
"""Buckets this far behind a key's newest document keep their ids compactly (``DocIds.seal``)."""

ScopeKey = tuple[Scope, str]
StateKey = tuple[Scope, str, int]
"""A scope key and a relevance floor: symbol rules with different ``min_relevance`` count different documents."""


@dataclass(frozen=True, slots=True)
class Detail:
    """One stored document, as the history gives it back for recent buckets."""

    doc_id: str
    event_time: int
    score: float
    sentiment: int
    headline: str
    novel: bool = True


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One bucket of older history: no document ids, no headlines."""

    start: int
    count: int
    score_sum: float
    negatives: int
    positives: int


ClassMix = tuple[int, int, int]
"""Documents called negative, neutral and positive."""


class History(Protocol):
    """Where keys' past comes from when the engine first meets them (the ClickHouse tables)."""

    def aggregates(
        self, scope: Scope, keys: Sequence[str], since: int, until: int, min_relevance: int = 0
    ) -> dict[str, list[Aggregate]]:
        """Per key, its buckets with ``since <= start < until``, of documents at least ``min_relevance`` relevant."""

    def details(self, scope: Scope, keys: Sequence[str], since: int, min_relevance: int = 0) -> dict[str, list[Detail]]:
        """Per key, its documents with ``event_time >= since`` at least ``min_relevance`` relevant to it."""

    def last_alerts(self, scope: Scope, keys: Sequence[str]) -> dict[str, dict[str, int]]:
        """Per key, ``rule_id -> fired_at`` (Unix seconds) of the latest stored alert of each rule."""


class DocIds:
    """The documents one bucket has counted, by the 64-bit hash of their id.

    A set while the bucket is young; ``seal()`` turns it into a sorted array (8 bytes an id, a
    tenth of a set of strings), since an hour of ids at hundreds of documents a second would
    otherwise dominate the worker's memory. Two ids of one 10-second bucket sharing a hash is a
    ~1e-9 event at 200,000 ids per bucket; the cost would be one document not counted.
    """

    __slots__ = ("_sealed", "_young")

    def __init__(self) -> None:
        self._young: set[int] | None = set()
        self._sealed = array("q")

    def add(self, doc_id: str) -> bool:
        """Remember ``doc_id``; False if it was already there."""
        digest = hash(doc_id)
        if self._young is not None:
            if digest in self._young:
                return False
            self._young.add(digest)
            return True
        at = bisect_left(self._sealed, digest)
        if at < len(self._sealed) and self._sealed[at] == digest:
            return False
        self._sealed.insert(at, digest)  # a late document: rare, so an O(n) insert is fine
        return True

    def seal(self) -> None:
        if self._young is not None:
            self._sealed = array("q", sorted(self._young))
            self._young = None

    def __len__(self) -> int:
        return len(self._young) if self._young is not None else len(self._sealed)


@dataclass
class Bucket:
    count: int = 0
    score_sum: float = 0.0
    negatives: int = 0
    positives: int = 0
    doc_ids: DocIds | None = field(default_factory=DocIds)
    most_negative: list[tuple[float, str]] = field(default_factory=list)
    most_positive: list[tuple[float, str]] = field(default_factory=list)

    def add(self, doc_id: str, score: float, sentiment: int, headline: str) -> bool:
        """Count one document; False if this bucket already counted it."""
        if self.doc_ids is not None and not self.doc_ids.add(doc_id):
            return False
        self.count += 1
        self.score_sum += score
        self.negatives += sentiment == -1
        self.positives += sentiment == 1
        if headline:
            _keep_top(self.most_negative, (-score, headline))
            _keep_top(self.most_positive, (score, headline))
        return True


@dataclass
class Armed:
    """Per (rule, key): whether the rule may fire, and not before when."""

    armed: bool = True
    cooldown_until: int = 0


@dataclass
class KeyState:
    buckets: dict[int, Bucket] = field(default_factory=dict)
    latest: int = 0
    first_seen: int | None = None
    rules: dict[str, Armed] = field(default_factory=dict)
    novel: KeyState | None = None
    """The same key counting only its stories' first documents (for ``novel_only`` rules), if any rule is."""

    def add(self, item: AlertInput) -> bool:
        at = int(item.event_time.timestamp())
        self.latest = max(self.latest, at)
        bucket = self.buckets.setdefault(_bucket_start(at), Bucket())
        if not bucket.add(item.doc_id, item.score, item.sentiment, item.headline):
            return False
        self.seen(at)
        if self.novel is not None and item.novel:
            self.novel.add(item)
        return True

    def counting(self, rule: Rule) -> KeyState:
        """The documents ``rule`` counts: every one, or for ``novel_only`` rules each story's first."""
        return self.novel if rule.novel_only and self.novel is not None else self

    def seen(self, at: int) -> None:
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)

    def window(self, start: int, end: int) -> list[Bucket]:
        return [bucket for begin, bucket in self.buckets.items() if start <= begin < end]


@dataclass(frozen=True)
class Measurement:
    value: float | None
    doc_count: int


class AlertEngine:
    """Evaluates ``rules()`` over the inputs it is given; returns the alerts they raise."""

    def __init__(
        self,
        rules: Callable[[], Sequence[Rule]],
        history: History | None = None,
        reference_mix: Callable[[], ClassMix | None] = lambda: None,
    ) -> None:
        self._rules = rules
        self._history = history
        self._reference_mix = reference_mix
        self._keys: dict[StateKey, KeyState] = {}
        self._floors: dict[ScopeKey, tuple[tuple[int, StateKey], ...]] = {}
        self._last_rules: tuple[Rule, ...] = ()

    def reset(self) -> None:
        """Forget every key (after a rebalance: keys are rebuilt from the history when seen again)."""
        self._keys.clear()
        self._floors.clear()

    @property
    def keys(self) -> int:
        return len(self._keys)

    def observe(self, inputs: Iterable[AlertInput]) -> list[AlertRecord]:
        """Add ``inputs`` to their keys' windows and evaluate the rules of every key that changed."""
        rules = tuple(self._rules())
        if rules != self._last_rules:
            self._last_rules = rules  # windows and baselines were loaded for the old rules
            self.reset()
        items = [(item, self._state_keys(item, rules)) for item in inputs]
        fresh = self._load_new_keys(items, rules)
        touched: dict[StateKey, KeyState] = {}
        for item, state_keys in items:
            for state_key in state_keys:
                state = self._keys.get(state_key)
                # A key just rebuilt from the store may already hold this document: evaluate it anyway.
                if state is not None and (state.add(item) or state_key in fresh):
                    touched[state_key] = state
        alerts = []
        for (scope, key, floor), state in touched.items():
            for rule in rules:
                if rule.min_relevance == floor and rule.applies_to(scope, key):
                    alert = self._evaluate(rule, scope, key, state)
                    if alert is not None:
                        alerts.append(alert)
            self._prune(state, rules)
        return alerts

    def _state_keys(self, item: AlertInput, rules: Sequence[Rule]) -> list[StateKey]:
        """The states ``item`` counts in: one per relevance floor of the rules watching its key that it reaches."""
        scope_key = (item.scope, item.key)
        floors = self._floors.get(scope_key)
        if floors is None:
            found = sorted({rule.min_relevance for rule in rules if rule.applies_to(item.scope, item.key)})
            floors = self._floors[scope_key] = tuple((floor, (item.scope, item.key, floor)) for floor in found)
        return [state_key for floor, state_key in floors if item.relevance >= floor]

    def _evaluate(self, rule: Rule, scope: Scope, key: str, state: KeyState) -> AlertRecord | None:
        now = state.latest
        end = (now // rule.hop + 1) * rule.hop
        start = end - rule.window
        counted = state.counting(rule)
        buckets = counted.window(start, end)
        measured = measure(rule, counted, buckets, start, self._reference_mix)
        armed = state.rules.setdefault(rule.id, Armed())
        usable = measured.value is not None and measured.doc_count >= rule.min_docs
        if not armed.armed:
            if not usable or rule.recovered(measured.value):  # type: ignore[arg-type]
                armed.armed = True
            return None
        if not usable or now < armed.cooldown_until or not rule.fires(measured.value):  # type: ignore[arg-type]
            return None
        armed.armed, armed.cooldown_until = False, now + rule.cooldown
        return _alert(rule, scope, key, measured, buckets, fired_at=now, window_end=end)

    def _load_new_keys(
        self, items: Sequence[tuple[AlertInput, list[StateKey]]], rules: Sequence[Rule]
    ) -> set[StateKey]:
        """Create the state of every key (and relevance floor) in ``items`` that some rule watches and the
        engine has not met yet, rebuilt from the history (one set of queries per scope and floor); keys are
        registered only once loaded."""
        first_time: dict[StateKey, int] = {}
        for item, state_keys in items:
            for state_key in state_keys:
                if state_key not in self._keys:
                    at = int(item.event_time.timestamp())
                    first_time[state_key] = min(first_time.get(state_key, at), at)
        by_scope: dict[tuple[Scope, int], dict[str, int]] = {}
        for (scope, key, floor), at in first_time.items():
            by_scope.setdefault((scope, floor), {})[key] = at
        states: dict[StateKey, KeyState] = {}
        for (scope, floor), keys in by_scope.items():
            states.update(self._rebuild(scope, floor, keys, rules))
        self._keys.update(states)
        return set(states)

    def _rebuild(
        self, scope: Scope, floor: int, keys: dict[str, int], rules: Sequence[Rule]
    ) -> dict[StateKey, KeyState]:
        watching = [r for r in rules if r.min_relevance == floor and any(r.applies_to(scope, key) for key in keys)]
        novel_only = any(rule.novel_only for rule in watching)
        states = {(scope, key, floor): KeyState(novel=KeyState() if novel_only else None) for key in keys}
        if self._history is None:
            return states
        at = min(keys.values())
        detail_since = _bucket_start(at - max(rule.window for rule in watching))
        since = _bucket_start(at - max(rule.lookback_s for rule in watching))
        names = sorted(keys)
        for key, aggregates in self._history.aggregates(scope, names, since, detail_since, floor).items():
            state = states[(scope, key, floor)]
            for aggregate in aggregates:
                # Older history has no novelty: baselines of novel_only rules count every document there.
                for counted in _views(state):
                    _add_aggregate(counted, aggregate)
        for key, details in self._history.details(scope, names, detail_since, floor).items():
            state = states[(scope, key, floor)]
            for detail in details:
                for counted in _views(state) if detail.novel else [state]:
                    bucket = counted.buckets.setdefault(_bucket_start(detail.event_time), Bucket())
                    bucket.add(detail.doc_id, detail.score, detail.sentiment, detail.headline)
                    counted.seen(detail.event_time)
        for key, fired in self._history.last_alerts(scope, names).items():
            _restore_cooldowns(
                states[(scope, key, floor)], fired, [r for r in watching if r.applies_to(scope, key)], keys[key]
            )
        return states

    def _prune(self, state: KeyState, rules: Sequence[Rule]) -> None:
        if state.novel is not None:
            state.novel.latest = state.latest
            self._prune(state.novel, rules)
        lookback = max((rule.lookback_s for rule in rules), default=BUCKET_S)
        detail_span = max((rule.window for rule in rules), default=BUCKET_S)
        oldest, detailed = state.latest - lookback - BUCKET_S, state.latest - detail_span - BUCKET_S
        for start in [start for start in state.buckets if start < oldest]:
            del state.buckets[start]
        sealed = state.latest - SEAL_AFTER_S
        for start, bucket in state.buckets.items():
            if bucket.doc_ids is None:
                continue
            if start < detailed:
                bucket.doc_ids = None
                bucket.most_negative.clear()
                bucket.most_positive.clear()
            elif start < sealed:
                bucket.doc_ids.seal()


def _views(state: KeyState) -> list[KeyState]:
    """The key's state and, where kept, its novel-only view."""
    return [state] if state.novel is None else [state, state.novel]


def _add_aggregate(state: KeyState, aggregate: Aggregate) -> None:
    bucket = state.buckets.setdefault(aggregate.start, Bucket(doc_ids=None))
    bucket.count += aggregate.count
    bucket.score_sum += aggregate.score_sum
    bucket.negatives += aggregate.negatives
    bucket.positives += aggregate.positives
    state.seen(aggregate.start)


def measure(
    rule: Rule,
    state: KeyState,
    window: Sequence[Bucket],
    window_start: int,
    reference_mix: Callable[[], ClassMix | None] = lambda: None,
) -> Measurement:
    """The rule's metric over ``window`` (and, for baseline metrics, the windows before it).

    ``reference_mix`` is the serving model's (negatives, neutrals, positives) on its validation
    split, for ``model_psi``; None while unknown (the metric then measures nothing).
    """
    count = sum(bucket.count for bucket in window)
    if count == 0:
        return Measurement(None, 0)
    if rule.metric == "model_psi":
        reference = reference_mix()
        value = population_stability_index(_class_mix(window), reference) if reference else None
        return Measurement(value, count)
    if rule.metric == "volume":
        return Measurement(float(count), count)
    if rule.metric == "mean_score":
        return Measurement(sum(bucket.score_sum for bucket in window) / count, count)
    if rule.metric == "negative_share":
        return Measurement(sum(bucket.negatives for bucket in window) / count, count)
    baseline_start = window_start - rule.window * rule.baseline_windows
    if state.first_seen is None or state.first_seen > baseline_start:
        return Measurement(None, count)  # not enough history for a baseline yet
    baseline = [(start, bucket) for start, bucket in state.buckets.items() if baseline_start <= start < window_start]
    if rule.metric == "volume_zscore":
        counts = [0] * rule.baseline_windows
        for start, bucket in baseline:
            counts[(start - baseline_start) // rule.window] += bucket.count
        mean = sum(counts) / len(counts)
        spread = math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))
        # A Poisson floor on the spread: a quiet, flat baseline must not turn one extra document into z = 10.
        return Measurement((count - mean) / max(spread, math.sqrt(mean), 1.0), count)
    baseline_docs = sum(bucket.count for _, bucket in baseline)
    if baseline_docs < rule.min_docs:
        return Measurement(None, count)
    if rule.metric == "class_psi":
        now, before = _class_mix(window), _class_mix(bucket for _, bucket in baseline)
        return Measurement(population_stability_index(now, before), count)
    baseline_mean = sum(bucket.score_sum for _, bucket in baseline) / baseline_docs
    return Measurement(sum(bucket.score_sum for bucket in window) / count - baseline_mean, count)


def _class_mix(buckets: Iterable[Bucket]) -> ClassMix:
    """(negatives, neutrals, positives) over ``buckets``."""
    negatives = neutrals = positives = 0
    for bucket in buckets:
        negatives += bucket.negatives
        positives += bucket.positives
        neutrals += bucket.count - bucket.negatives - bucket.positives
    return negatives, neutrals, positives


def top_headlines(rule: Rule, window: Sequence[Bucket], limit: int = TOP_HEADLINES) -> list[str]:
    """The headlines that pushed the metric most: most negative first for bad-news rules, else most positive;
    for volume rules, the most extreme either way."""
    if rule.metric in ("volume", "volume_zscore", "class_psi"):
        ranked = [(abs(s), h) for b in window for s, h in (*b.most_negative, *b.most_positive)]
    elif rule.looks_for_negative:
        ranked = [item for bucket in window for item in bucket.most_negative]
    else:
        ranked = [item for bucket in window for item in bucket.most_positive]
    headlines: list[str] = []
    stories: set[str] = set()
    for _, headline in sorted(ranked, key=lambda item: item[0], reverse=True):
        story = story_key(headline)
        if story not in stories:
            stories.add(story)
            headlines.append(headline)
        if len(headlines) == limit:
            break
    return headlines


_SOURCE_SUFFIX = re.compile(r"\s+[-|–—]\s+[\w .&]{2,30}$")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def story_key(headline: str) -> str:
    """What makes two headlines the same story: case, punctuation, spacing and a trailing
    " - Source" are ignored (wires and aggregators repeat one story with small differences)."""
    return _NOT_WORD.sub(" ", _SOURCE_SUFFIX.sub("", headline.strip()).lower()).strip()


def _alert(
    rule: Rule, scope: Scope, key: str, measured: Measurement, window: Sequence[Bucket], fired_at: int, window_end: int
) -> AlertRecord:
    assert measured.value is not None
    return AlertRecord(
        alert_id=alert_id_for(rule.id, scope, key, datetime.fromtimestamp(window_end, UTC)),
        rule_id=rule.id,
        severity=rule.severity,
        scope=scope,
        symbol=key if scope == "symbol" else "",
        topic=key if scope == "topic" else "",
        metric=rule.metric,
        comparison=rule.comparison,
        value=round(measured.value, 6),
        threshold=rule.threshold,
        window_s=rule.window,
        doc_count=measured.doc_count,
        fired_at=datetime.fromtimestamp(fired_at, UTC),
        headlines=top_headlines(rule, window),
    )


def _restore_cooldowns(state: KeyState, fired: dict[str, int], rules: Sequence[Rule], now: int) -> None:
    for rule in rules:
        if rule.id in fired:
            # Disarmed until the metric is seen to recover: the alert already stored covers this episode.
            recent = fired[rule.id] >= now - max(rule.window, rule.cooldown)
            state.rules[rule.id] = Armed(armed=not recent, cooldown_until=fired[rule.id] + rule.cooldown)


def _bucket_start(unix_seconds: int) -> int:
    return unix_seconds - unix_seconds % BUCKET_S


def _keep_top(heap: list[tuple[float, str]], item: tuple[float, str]) -> None:
    if len(heap) < TOP_HEADLINES:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)
