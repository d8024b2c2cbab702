"""``finsent eval``: score a labelled file with a Classifier and report metrics and speed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from models.classifier import Classifier
from models.data import read_labelled
from models.exceptions import ModelConfigError
from models.labels import resolve_label_map
from models.metrics import classification_metrics

Task = Literal["sentiment", "topic"]


def evaluate_file(
    classifier: Classifier, task: Task, data: Path | str, label_map: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Metrics of one task on one file, plus throughput of the classifier that produced them."""
    rows = read_labelled(data, resolve_label_map(label_map))
    texts, truth = rows.texts[:limit], rows.labels[:limit]
    classes = classifier.spec.sentiments if task == "sentiment" else classifier.spec.topics
    unknown = sorted(set(truth) - set(classes))
    if unknown:
        raise ModelConfigError(f"labels {unknown} are not {task} classes of this model; pass --label-map")
    started = time.perf_counter()
    topic_probs, sentiment_probs = classifier.predict_probabilities(texts)
    seconds = time.perf_counter() - started
    probs = sentiment_probs if task == "sentiment" else topic_probs
    predicted = [classes[i] for i in np.argmax(probs, axis=1)]
    metrics = classification_metrics(truth, predicted, classes)
    return {
        "task": task,
        "model_version": classifier.model_version,
        "backend": classifier.backend_name,
        **metrics,
        "texts_per_s": round(len(texts) / seconds, 1),
        "seconds": round(seconds, 2),
    }


def batch_one_latency_ms(classifier: Classifier, texts: list[str], repeats: int = 50) -> dict[str, float]:
    """p50/p95 latency of classifying one text at a time."""
    timings = []
    for text in (texts * (repeats // max(len(texts), 1) + 1))[:repeats]:
        started = time.perf_counter()
        classifier.predict([text])
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(float(np.percentile(timings, 50)), 2),
        "p95_ms": round(float(np.percentile(timings, 95)), 2),
    }
