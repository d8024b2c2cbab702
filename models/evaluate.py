"""``finsent eval``: score a labelled file with a Classifier and report metrics and speed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from models.baselines import lexicon_baselines
from models.calibration import expected_calibration_error
from models.classifier import Classifier
from models.corpora import EvalSet
from models.data import read_labelled
from models.exceptions import ModelConfigError
from models.labels import SENTIMENT_CLASSES, resolve_label_map
from models.metrics import classification_metrics, macro_f1_interval

Task = Literal["sentiment", "topic"]


def evaluate_file(
    classifier: Classifier, task: Task, data: Path | str, label_map: str | None = None, limit: int | None = None
) -> dict[str, Any]:
    """Metrics of one task on one file, plus throughput of the classifier that produced them."""
    rows = read_labelled(data, resolve_label_map(label_map)).sample(limit)
    texts, truth = rows.texts, rows.labels
    classes = classifier.spec.sentiments if task == "sentiment" else classifier.spec.topics
    unknown = sorted(set(truth) - set(classes))
    if unknown:
        raise ModelConfigError(f"labels {unknown} are not {task} classes of this model; pass --label-map")
    started = time.perf_counter()
    topic_probs, sentiment_probs = classifier.predict_probabilities(texts)
    seconds = time.perf_counter() - started
    probs = sentiment_probs if task == "sentiment" else topic_probs
    predicted = [classes[i] for i in np.argmax(probs, axis=1)]
    metrics = classification_metrics(truth, predicted, classes) | {
        "macro_f1_95": macro_f1_interval(truth, predicted, classes)
    }
    truth_index = np.array([classes.index(label) for label in truth])
    return {
        "task": task,
        "model_version": classifier.model_version,
        "backend": classifier.backend_name,
        **metrics,
        "ece": expected_calibration_error(probs, truth_index),
        "texts_per_s": round(len(texts) / seconds, 1),
        "seconds": round(seconds, 2),
    }


def predicted_labels(classifier: Classifier, task: Task, data: Path | str, limit: int | None = None) -> list[str]:
    """The class the classifier picks for each text of a labelled file (a seeded sample of ``limit``), in file order."""
    texts = read_labelled(data, {}, require_label=False).sample(limit).texts
    topic_probs, sentiment_probs = classifier.predict_probabilities(texts)
    classes = classifier.spec.sentiments if task == "sentiment" else classifier.spec.topics
    return [classes[i] for i in np.argmax(sentiment_probs if task == "sentiment" else topic_probs, axis=1)]


def evaluate_suite(
    classifier: Classifier, sets: list[EvalSet], baselines: bool = True, limit: int | None = None
) -> dict[str, Any]:
    """Every evaluation set (tweets and news), lexicon baselines on the same rows, and the top-level ``ece``.

    ``ece`` is the sentiment head's expected calibration error (15 bins) on the tweet validation split.
    ``limit`` evaluates a seeded sample of that many rows of each set, stratified by label.
    """
    scorers = lexicon_baselines() if baselines else {}
    report: dict[str, Any] = {"model_version": classifier.model_version, "backend": classifier.backend_name}
    for eval_set in sets:
        result = evaluate_file(classifier, eval_set.task, eval_set.path, eval_set.label_map, limit)  # type: ignore[arg-type]
        result.pop("model_version")
        result.pop("backend")
        if eval_set.task == "sentiment" and scorers:
            rows = read_labelled(eval_set.path, resolve_label_map(eval_set.label_map)).sample(limit)
            result["baselines"] = {
                name: {
                    k: v
                    for k, v in classification_metrics(
                        rows.labels, [score(t) for t in rows.texts], SENTIMENT_CLASSES
                    ).items()
                    if k in ("accuracy", "macro_f1")
                }
                for name, score in scorers.items()
            }
        report[eval_set.name] = result
    sentiment_sets = [s.name for s in sets if s.task == "sentiment"]
    report["ece"] = report[sentiment_sets[0]]["ece"] if sentiment_sets else None
    return report


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


def record_evaluation(classifier: Classifier, report: dict[str, Any]) -> None:
    """Store a suite report in the model's metrics.json (``evaluation``, per backend) and redraw its card."""
    import json

    from models.report import write_report

    if classifier.directory is None:
        raise ModelConfigError("this classifier was not loaded from a model directory; nothing to write to")
    path = classifier.directory / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics.setdefault("evaluation", {})[classifier.backend_name] = report
    path.write_text(json.dumps(metrics, indent=2) + "\n")
    write_report(classifier.directory)
