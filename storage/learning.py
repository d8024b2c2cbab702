"""The learning loop's tables: labels, what to label next, the model registry and the active version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from schemas.learning import LabelRow, LabelTask, ModelActivationRow, ModelVersionRow, ShadowRow, ShadowSettingRow
from storage.base import Store
from storage.clauses import Where
from storage.queries import SENTIMENT_NAMES

_LABEL_COLUMNS = ", ".join(LabelRow.model_fields)
_VERSION_COLUMNS = ", ".join(ModelVersionRow.model_fields)
_ACTIVATION_COLUMNS = ", ".join(ModelActivationRow.model_fields)
_CONFIDENCE = "greatest(p_negative, greatest(p_neutral, p_positive))"
"""SQL: the probability of a document's most likely sentiment class (18.16's greatest takes two arguments)."""


def _sentiment_name(column: str) -> str:
    """SQL naming a stored sentiment (-1, 0, 1) as outputs and filters name it (``queries.SENTIMENT_NAMES``)."""
    names = ", ".join(f"'{SENTIMENT_NAMES[value]}'" for value in sorted(SENTIMENT_NAMES))
    return f"arrayElement([{names}], toInt8({column}) + 2)"


def insert_labels(store: Store, rows: Sequence[LabelRow]) -> None:
    store._insert_records("labels", rows)


def scored_version(store: Store, doc_id: str) -> str | None:
    """The model version that scored ``doc_id``, or None if no such document is stored."""
    rows = store._query(
        "SELECT model_version FROM documents FINAL WHERE doc_id = %(doc_id)s LIMIT 1", {"doc_id": doc_id}
    )
    return str(rows[0][0]) if rows else None


def latest_labels(
    store: Store, *, task: LabelTask | None = None, since: datetime | None = None, limit: int = 1_000
) -> list[dict[str, Any]]:
    """The latest label of each labeller per document and task, newest first, with what the model said."""
    where = Where().given("task = %(task)s", task=task).given("labelled_at >= %(since)s", since=since)
    sql = f"""
        SELECT doc_id, toString(task) AS task, label, labeller, labelled_at, model_version,
               if(toString(task) = 'sentiment', {_sentiment_name("sentiment")}, topic)
                   AS predicted
        FROM (SELECT {_LABEL_COLUMNS} FROM labels FINAL WHERE {where.sql}) AS l
        ANY LEFT JOIN (SELECT doc_id, sentiment, topic FROM documents FINAL) AS d USING doc_id
        ORDER BY labelled_at DESC, doc_id, task, labeller
        LIMIT %(limit)s
    """
    return store._query_dicts(sql, where.params | {"limit": limit})


def label_disagreements(store: Store, limit: int = 1_000) -> list[dict[str, Any]]:
    """Documents and tasks whose labellers disagree: each distinct label with how many gave it."""
    sql = """
        SELECT doc_id, toString(task) AS task, groupArray(label) AS labels, groupArray(votes) AS votes
        FROM (SELECT doc_id, task, label, count() AS votes FROM labels FINAL GROUP BY doc_id, task, label)
        GROUP BY doc_id, task
        HAVING length(labels) > 1
        ORDER BY doc_id, task
        LIMIT %(limit)s
    """
    return store._query_dicts(sql, {"limit": limit})


def labelled_examples(store: Store, task: LabelTask) -> list[dict[str, Any]]:
    """Training examples from the labels of ``task``: the document's text, the majority label, its time.

    A tie between labellers is left out (people disagree: no example is better than a guess).
    """
    sql = """
        SELECT doc_id, headline, body, label, labelled_at
        FROM (
            SELECT doc_id, argMax(label, votes) AS label, max(votes) AS top_votes,
                   arrayCount(v -> v = top_votes, groupArray(votes)) AS ties, max(last_at) AS labelled_at
            FROM (
                SELECT doc_id, label, count() AS votes, max(labelled_at) AS last_at
                FROM labels FINAL WHERE task = %(task)s GROUP BY doc_id, label
            )
            GROUP BY doc_id
        ) AS l
        ANY INNER JOIN (SELECT doc_id, headline, body FROM documents FINAL) AS d USING doc_id
        WHERE ties = 1
        ORDER BY labelled_at, doc_id
    """
    return store._query_dicts(sql, {"task": task})


def count_labels_since(store: Store, since: datetime | None) -> int:
    """Documents labelled (any task, any labeller) after ``since`` (all of them when None)."""
    condition = "labelled_at > %(since)s" if since is not None else "1"
    rows = store._query(f"SELECT uniqExact(doc_id) FROM labels FINAL WHERE {condition}", {"since": since})
    return int(rows[0][0])


def review_candidates(
    store: Store, *, start: datetime, end: datetime, limit: int, new_since: datetime
) -> list[dict[str, Any]]:
    """Unlabelled documents most worth a person's time, balanced across the predicted classes.

    Lowest confidence first; documents naming a symbol or coming from a source first seen after
    ``new_since`` rank as if their confidence were zero (what the model has not met, it reads worst).
    """
    per_class = max(1, -(-limit // 3))
    first_seen = {"new_since": new_since}
    new_sources = [row[0] for row in store._query(
        "SELECT source FROM documents FINAL GROUP BY source HAVING min(ingested_at) >= %(new_since)s", first_seen
    )]  # fmt: skip
    new_symbols = [row[0] for row in store._query(
        "SELECT symbol FROM documents FINAL ARRAY JOIN symbols AS symbol GROUP BY symbol "
        "HAVING min(ingested_at) >= %(new_since)s", first_seen
    )]  # fmt: skip
    sql = f"""
        SELECT doc_id, event_time AS time, source, headline, body, symbols, topic,
               {_sentiment_name("sentiment")} AS predicted,
               p_negative, p_neutral, p_positive,
               {_CONFIDENCE} AS confidence,
               if(has(%(new_sources)s, source) OR hasAny(symbols, %(new_symbols)s), 'new', 'low confidence') AS why
        FROM documents FINAL
        WHERE event_time >= %(start)s AND event_time < %(end)s
          AND doc_id NOT IN (SELECT doc_id FROM labels)
        ORDER BY why = 'new' DESC, confidence, doc_id
        LIMIT %(per_class)s BY predicted
        LIMIT %(limit)s
    """
    params = {"start": start, "end": end, "limit": limit, "per_class": per_class,
              "new_sources": new_sources or [""], "new_symbols": new_symbols or [""]}  # fmt: skip
    return store._query_dicts(sql, params)


LOW_CONFIDENCE = 0.6
"""A document whose most likely sentiment class has less probability than this counts as low-confidence."""


def prediction_mix(store: Store, *, start: datetime, end: datetime, limit: int = 1_000) -> list[dict[str, Any]]:
    """Per hour and source: documents, predicted classes, mean confidence and the low-confidence share."""
    sql = f"""
        SELECT toStartOfHour(event_time) AS hour, source, count() AS docs,
               countIf(sentiment = -1) AS negatives, countIf(sentiment = 0) AS neutrals,
               countIf(sentiment = 1) AS positives,
               avg({_CONFIDENCE}) AS mean_confidence,
               countIf({_CONFIDENCE} < {LOW_CONFIDENCE}) / count()
                   AS low_confidence_share
        FROM documents FINAL
        WHERE event_time >= %(start)s AND event_time < %(end)s
        GROUP BY hour, source
        ORDER BY hour DESC, docs DESC, source
        LIMIT %(limit)s
    """
    return store._query_dicts(sql, {"start": start, "end": end, "limit": limit})


def register_version(store: Store, row: ModelVersionRow) -> None:
    store._insert_records("model_versions", [row])


def model_versions(store: Store) -> list[ModelVersionRow]:
    """Every registered version, oldest first."""
    rows = store._query_dicts(f"SELECT {_VERSION_COLUMNS} FROM model_versions FINAL ORDER BY created_at, version")
    return [ModelVersionRow(**row) for row in rows]


def model_version(store: Store, version: str) -> ModelVersionRow | None:
    rows = store._query_dicts(
        f"SELECT {_VERSION_COLUMNS} FROM model_versions FINAL WHERE version = %(v)s", {"v": version}
    )
    return ModelVersionRow(**rows[0]) if rows else None


def record_activation(store: Store, row: ModelActivationRow) -> None:
    store._insert_records("model_activations", [row])


def activations(store: Store, limit: int = 100) -> list[ModelActivationRow]:
    """Promotions and rollbacks, newest first."""
    rows = store._query_dicts(
        f"SELECT {_ACTIVATION_COLUMNS} FROM model_activations ORDER BY sequence DESC LIMIT %(limit)s", {"limit": limit}
    )
    return [ModelActivationRow(**row) for row in rows]


def active_version(store: Store) -> ModelVersionRow | None:
    """The registered version in force (the latest activation), or None before the first promotion."""
    rows = store._query_dicts(f"""
        SELECT {_VERSION_COLUMNS} FROM model_versions FINAL
        WHERE version = (SELECT argMax(version, sequence) FROM model_activations)
    """)  # fmt: skip
    return ModelVersionRow(**rows[0]) if rows else None


def set_shadow(store: Store, row: ShadowSettingRow) -> None:
    store._insert_records("model_shadows", [row])


def current_shadow(store: Store) -> ShadowSettingRow | None:
    """The shadow setting in force (its version '' when turned off), or None if it was never set."""
    columns = ", ".join(ShadowSettingRow.model_fields)
    rows = store._query_dicts(f"SELECT {columns} FROM model_shadows ORDER BY sequence DESC LIMIT 1")
    return ShadowSettingRow(**rows[0]) if rows else None


def insert_shadow_scores(store: Store, rows: Sequence[ShadowRow]) -> None:
    store._insert_records("shadow_scores", rows)


def shadow_agreement(store: Store) -> list[dict[str, Any]]:
    """Per challenger and champion: documents shadowed, how often they agree, and how far their scores are."""
    return store._query_dicts("""
        SELECT challenger, champion, count() AS docs,
               countIf(challenger_sentiment = champion_sentiment) / count() AS sentiment_agreement,
               countIf(challenger_topic = champion_topic) / count() AS topic_agreement,
               avg(abs(challenger_score - champion_score)) AS mean_score_gap,
               min(scored_at) AS first_at, max(scored_at) AS last_at
        FROM shadow_scores FINAL
        GROUP BY challenger, champion
        ORDER BY last_at DESC, challenger, champion
    """)  # fmt: skip


def shadow_disagreements(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The shadowed documents whose two scores differ most, with their headline."""
    sql = f"""
        SELECT doc_id, challenger, champion,
               {_sentiment_name("champion_sentiment")} AS champion_says,
               {_sentiment_name("challenger_sentiment")} AS challenger_says,
               challenger_score - champion_score AS score_gap, headline
        FROM (SELECT * FROM shadow_scores FINAL WHERE challenger_sentiment != champion_sentiment) AS s
        ANY LEFT JOIN (SELECT doc_id, headline FROM documents FINAL) AS d USING doc_id
        ORDER BY abs(score_gap) DESC, doc_id
        LIMIT %(limit)s
    """
    return store._query_dicts(sql, {"limit": limit})


def summary_of(row: ModelVersionRow) -> dict[str, Any]:
    """The decoded training summary of a version ({} when it was registered without one)."""
    decoded = json.loads(row.summary or "{}")
    return decoded if isinstance(decoded, dict) else {}
