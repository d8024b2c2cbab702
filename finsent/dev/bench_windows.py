"""``finsent bench windows``: what the per-document window cap costs and changes, on long real news."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from finsent.dev.bench import machine

WINDOW_CAPS = (1, 2, 4, 8, 16)


def bench_windows(
    model: str | None, sentences: list[str], docs: int = 40, caps: Sequence[int] = WINDOW_CAPS, seed: int = 5
) -> dict[str, Any]:
    """What the per-document window cap costs and changes, on long documents made of real news sentences.

    Each document is 40 to 400 consecutive sentences (about 5 to 50 kB). Per cap: seconds per
    document (mean and worst), and how often the capped label matches the uncapped one, with the
    mean absolute change of the score.
    """
    from models import Classifier

    rng = random.Random(seed)
    documents = []
    for _ in range(docs):
        length = rng.randint(40, 400)
        start = rng.randrange(0, max(1, len(sentences) - length))
        documents.append(" ".join(sentences[start : start + length]))
    reference_model = Classifier.load(model, backend="onnx-int8", max_windows=10_000)
    reference, reference_s = _timed_predictions(reference_model, documents)
    results: dict[str, Any] = {
        "uncapped": {"windows_mean": _windows(reference_model, documents), **_timing(reference_s)},
    }
    for cap in caps:
        capped_model = Classifier.load(model, backend="onnx-int8", max_windows=cap)
        capped, seconds = _timed_predictions(capped_model, documents)
        same = sum(a.sentiment_label == b.sentiment_label for a, b in zip(capped, reference, strict=True))
        results[str(cap)] = {
            **_timing(seconds),
            "label_agreement": round(same / len(documents), 3),
            "mean_abs_score_change": round(
                sum(abs(a.score - b.score) for a, b in zip(capped, reference, strict=True)) / len(documents), 4
            ),
        }
    return {
        "documents": len(documents),
        "mean_chars": round(sum(map(len, documents)) / len(documents)),
        "caps": results,
        "machine": machine(),
    }


def _timed_predictions(classifier: Any, documents: list[str]) -> tuple[list[Any], list[float]]:
    classifier.predict(documents[:1])
    predictions, seconds = [], []
    for document in documents:
        started = time.perf_counter()
        predictions.extend(classifier.predict([document]))
        seconds.append(time.perf_counter() - started)
    return predictions, seconds


def _timing(seconds: list[float]) -> dict[str, float]:
    return {"seconds_mean": round(sum(seconds) / len(seconds), 4), "seconds_max": round(max(seconds), 4)}


def _windows(classifier: Any, documents: list[str]) -> float:
    chunks = classifier.tokenizer.chunks(documents, classifier.spec.max_length, None, classifier.spec.text_normaliser)
    return round(len(chunks) / len(documents), 1)
