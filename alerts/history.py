"""The rule engine's memory after a restart or rebalance: keys' recent past, read back from the store."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from alerts.engine import Aggregate, Detail
from alerts.rules import BUCKET_S
from schemas.alerts import Scope
from schemas.stories import NOVELTY_FIRST
from storage import Store
from storage.alerts import bucket_aggregates, document_details, last_fired


class StoreHistory:
    """``alerts.engine.History`` over the ``documents`` and ``alerts`` tables of a store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def aggregates(
        self, scope: Scope, keys: Sequence[str], since: int, until: int, min_relevance: int = 0
    ) -> dict[str, list[Aggregate]]:
        found: dict[str, list[Aggregate]] = defaultdict(list)
        for key, start, docs, total, negatives, positives in bucket_aggregates(
            self._store, scope, keys, since, until, BUCKET_S, min_relevance
        ):
            found[key].append(Aggregate(start, docs, total, negatives, positives))
        return found

    def details(self, scope: Scope, keys: Sequence[str], since: int, min_relevance: int = 0) -> dict[str, list[Detail]]:
        found: dict[str, list[Detail]] = defaultdict(list)
        rows = document_details(self._store, scope, keys, since, min_relevance)
        for key, doc_id, at, score, sentiment, headline, novelty in rows:
            found[key].append(Detail(doc_id, at, score, sentiment, headline, novel=novelty == NOVELTY_FIRST))
        return found

    def last_alerts(self, scope: Scope, keys: Sequence[str]) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for key, rule_id, last in last_fired(self._store, scope, keys):
            found[key][rule_id] = last
        return found
