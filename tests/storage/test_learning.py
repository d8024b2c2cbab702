"""The learning loop's tables on every backend: labels, review candidates, the registry, the active version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from schemas import DocumentRow
from schemas.learning import LabelRow, ModelActivationRow, ModelVersionRow
from storage import Store
from storage.learning import (
    activations,
    active_version,
    count_labels_since,
    insert_labels,
    label_disagreements,
    labelled_examples,
    latest_labels,
    model_versions,
    prediction_mix,
    record_activation,
    register_version,
    review_candidates,
    scored_version,
)
from tests.storage.conftest import T0


def label(doc_id: str, value: str, labeller: str = "k1", minutes: int = 0, task: str = "sentiment") -> LabelRow:
    return LabelRow(doc_id=doc_id, task=task, label=value, labeller=labeller,  # type: ignore[arg-type]
                    labelled_at=T0 + timedelta(minutes=minutes), model_version="m1")  # fmt: skip


def test_the_latest_label_per_labeller_counts_and_disagreements_are_reported(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    store.insert_documents([make_document("a", sentiment=1), make_document("b", sentiment=-1, topic="Macro")])
    insert_labels(store, [label("a", "neutral"), label("a", "negative", minutes=1), label("a", "positive", "k2")])
    insert_labels(store, [label("b", "negative"), label("b", "Earnings", task="topic")])
    rows = latest_labels(store)
    assert {(r["doc_id"], r["task"], r["labeller"], r["label"]) for r in rows} == {
        ("a", "sentiment", "k1", "negative"), ("a", "sentiment", "k2", "positive"),
        ("b", "sentiment", "k1", "negative"), ("b", "topic", "k1", "Earnings"),
    }  # fmt: skip
    predicted = {(r["doc_id"], r["task"]): r["predicted"] for r in rows}
    assert predicted == {("a", "sentiment"): "positive", ("b", "sentiment"): "negative", ("b", "topic"): "Macro"}
    assert [r["task"] for r in latest_labels(store, task="topic")] == ["topic"]
    (split,) = label_disagreements(store)
    assert (split["doc_id"], split["task"], sorted(split["labels"])) == ("a", "sentiment", ["negative", "positive"])
    assert count_labels_since(store, None) == 2
    assert count_labels_since(store, T0) == 1, "only a's labels are later than T0"
    assert scored_version(store, "a") == "m1" and scored_version(store, "zz") is None


def test_training_examples_take_the_majority_and_drop_ties(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    store.insert_documents([make_document(d, headline=f"headline {d}", body="") for d in ("a", "b", "c")])
    insert_labels(store, [label("a", "negative"), label("a", "negative", "k2"), label("a", "neutral", "k3")])
    insert_labels(store, [label("b", "positive"), label("b", "neutral", "k2")])  # a tie: left out
    insert_labels(store, [label("c", "neutral", minutes=5), label("zz", "neutral")])  # zz: no document
    examples = labelled_examples(store, "sentiment")
    assert [(e["doc_id"], e["label"], e["headline"]) for e in examples] == [
        ("a", "negative", "headline a"),
        ("c", "neutral", "headline c"),
    ]


def test_review_lists_unlabelled_low_confidence_and_new_documents_balanced_by_class(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    docs = [
        make_document(f"n{i}", sentiment=-1, p_negative=0.4 + i / 100, p_neutral=0.3, p_positive=0.3 - i / 100)
        for i in range(6)
    ] + [make_document("p0", sentiment=1, p_negative=0.1, p_neutral=0.1, p_positive=0.8),
         make_document("fresh", sentiment=0, p_negative=0.05, p_neutral=0.9, p_positive=0.05, source="newwire",
                       ingested_at=T0 + timedelta(days=2))]  # fmt: skip
    store.insert_documents(docs)
    insert_labels(store, [label("n0", "negative")])
    found = review_candidates(store, start=T0 - timedelta(days=1), end=T0 + timedelta(days=1), limit=4,
                              new_since=T0 + timedelta(days=1))  # fmt: skip
    ids = [row["doc_id"] for row in found]
    assert ids[0] == "fresh" and found[0]["why"] == "new", "a new source comes first"
    assert "n0" not in ids, "labelled documents are left out"
    assert ids.count("p0") == 1 and sum(i.startswith("n") for i in ids) <= 2, "at most ceil(4/3) per class"
    assert [r["doc_id"] for r in found if r["predicted"] == "negative"] == ["n1", "n2"], "lowest confidence first"


def test_the_active_version_is_the_latest_activation(store: Store) -> None:
    assert active_version(store) is None
    for version, parent in (("v1", ""), ("v2", "v1")):
        register_version(store, ModelVersionRow(version=version, parent=parent, path=f"/models/{version}",
                                                created_at=T0, summary="{}", metrics="{}"))  # fmt: skip
    record_activation(store, ModelActivationRow(sequence=1, changed_at=T0, version="v1", previous="", reason="first",
                                                actor="cli"))  # fmt: skip
    record_activation(store, ModelActivationRow(sequence=2, changed_at=T0, version="v2", previous="v1",
                                                reason="promoted", actor="cli"))  # fmt: skip
    active = active_version(store)
    assert active is not None and (active.version, active.path) == ("v2", "/models/v2")
    assert [a.version for a in activations(store)] == ["v2", "v1"]
    assert [v.version for v in model_versions(store)] == ["v1", "v2"]


def test_prediction_mix_per_hour_and_source(store: Store, make_document: Callable[..., DocumentRow]) -> None:
    store.insert_documents([
        make_document("a", sentiment=-1, p_negative=0.5, p_neutral=0.3, p_positive=0.2),
        make_document("b", sentiment=1, p_negative=0.1, p_neutral=0.1, p_positive=0.8),
        make_document("c", sentiment=0, source="blog", p_negative=0.1, p_neutral=0.9, p_positive=0.0),
    ])  # fmt: skip
    rows = prediction_mix(store, start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1))
    wire, blog = rows
    assert (wire["source"], wire["docs"], wire["negatives"], wire["neutrals"], wire["positives"]) == (
        "wire",
        2,
        1,
        0,
        1,
    )
    assert wire["low_confidence_share"] == 0.5 and wire["mean_confidence"] == pytest.approx(0.65)
    assert (blog["source"], blog["docs"], blog["neutrals"]) == ("blog", 1, 1)


def test_shadow_settings_scores_and_report(store: Store, make_document: Callable[..., DocumentRow]) -> None:
    from schemas.learning import ShadowRow, ShadowSettingRow
    from storage.learning import (
        current_shadow,
        insert_shadow_scores,
        set_shadow,
        shadow_agreement,
        shadow_disagreements,
    )

    assert current_shadow(store) is None
    set_shadow(store, ShadowSettingRow(sequence=1, changed_at=T0, version="v2", sample_rate=0.1, actor="cli"))
    set_shadow(store, ShadowSettingRow(sequence=2, changed_at=T0, version="", sample_rate=0.0, actor="cli"))
    assert current_shadow(store).version == ""  # type: ignore[union-attr]
    store.insert_documents([make_document("a", headline="Acme soars"), make_document("b")])

    def shadow(doc_id: str, said: int, score: float) -> ShadowRow:
        return ShadowRow(doc_id=doc_id, champion="v1", challenger="v2", champion_sentiment=1, challenger_sentiment=said,
                         champion_score=0.6, challenger_score=score, champion_topic="earnings",
                         challenger_topic="earnings", scored_at=T0)  # fmt: skip

    insert_shadow_scores(store, [shadow("a", -1, -0.5), shadow("b", 1, 0.7)])
    insert_shadow_scores(store, [shadow("a", -1, -0.5)])  # shadowed twice: kept once
    (agreement,) = shadow_agreement(store)
    assert (agreement["docs"], agreement["sentiment_agreement"], agreement["topic_agreement"]) == (2, 0.5, 1.0)
    (worst,) = shadow_disagreements(store)
    assert (worst["doc_id"], worst["champion_says"], worst["challenger_says"], worst["headline"]) == (
        "a", "positive", "negative", "Acme soars")  # fmt: skip
    assert worst["score_gap"] == pytest.approx(-1.1)
