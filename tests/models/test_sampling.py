"""A limited evaluation reads a seeded sample stratified by label, so it estimates the full figure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from models.data import LabelledTexts
from models.evaluate import evaluate_file

LABELS = [f"class-{i:02d}" for i in range(20)]


def sorted_by_label(per_label: int = 50) -> LabelledTexts:
    """A validation file the way the topic split is ordered: every row of one label, then the next."""
    labels = [label for label in LABELS for _ in range(per_label)]
    return LabelledTexts([f"text {i} of {label}" for i, label in enumerate(labels)], labels)


def test_a_sample_keeps_every_label_in_its_share() -> None:
    sample = sorted_by_label().sample(300)
    counts = Counter(sample.labels)
    assert len(sample) == 300 and set(counts) == set(LABELS), "the first 300 rows would hold 6 of 20 labels"
    assert all(14 <= count <= 16 for count in counts.values()), counts


def test_a_sample_is_seeded_in_file_order_and_the_whole_file_when_the_limit_covers_it() -> None:
    rows = sorted_by_label()
    first, again = rows.sample(100), rows.sample(100)
    assert first == again and first != rows.sample(100, seed=14)
    positions = [rows.texts.index(text) for text in first.texts]
    assert positions == sorted(positions), "in file order"
    assert [rows.labels[at] for at in positions] == first.labels
    assert rows.sample(None) is rows and rows.sample(len(rows)) is rows


class LabelEcho:
    """A stand-in classifier that predicts each text's true class (the class named in the text)."""

    spec = SimpleNamespace(sentiments=("negative", "neutral", "positive"), topics=tuple(LABELS))
    model_version, backend_name = "echo", "none"

    def predict_probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        topics = np.zeros((len(texts), len(LABELS)))
        for row, text in enumerate(texts):
            topics[row, LABELS.index(text.rsplit(" ", 1)[1])] = 1.0
        return topics, np.full((len(texts), 3), 1 / 3)


def test_a_limited_evaluation_of_a_sorted_file_scores_every_class(tmp_path: Path) -> None:
    rows = sorted_by_label()
    data = tmp_path / "topic.csv"
    lines = [f"{text},{label}\n" for text, label in zip(rows.texts, rows.labels, strict=True)]
    data.write_text("text,label\n" + "".join(lines))
    result = evaluate_file(LabelEcho(), "topic", data, limit=300)  # type: ignore[arg-type]
    assert result["n"] == 300 and result["macro_f1"] == 1.0, "a perfect model scores 1.0 on a sample too"
    assert all(scores["support"] > 0 for scores in result["per_class"].values())
