"""The bootstrap interval of macro-F1 that ``finsent eval`` prints beside a figure."""

from __future__ import annotations

import random

import pytest

from models.metrics import classification_metrics, macro_f1_interval

CLASSES = ("negative", "neutral", "positive")


def noisy(n: int, right: float, seed: int = 1) -> tuple[list[str], list[str]]:
    draw = random.Random(seed)
    truth = [draw.choice(CLASSES) for _ in range(n)]
    return truth, [label if draw.random() < right else draw.choice(CLASSES) for label in truth]


def test_the_interval_holds_the_figure_narrows_with_more_rows_and_is_seeded() -> None:
    truth, predicted = noisy(450, 0.7)
    low, high = macro_f1_interval(truth, predicted, CLASSES)
    assert low < classification_metrics(truth, predicted, CLASSES)["macro_f1"] < high
    assert macro_f1_interval(truth, predicted, CLASSES) == [low, high], "the same rows give the same interval"
    few_low, few_high = macro_f1_interval(truth[:57], predicted[:57], CLASSES)
    assert few_high - few_low > 1.5 * (high - low)


def test_whole_groups_are_resampled_so_agreeing_mentions_widen_it() -> None:
    """Paragraphs whose mentions are all right or all wrong together carry less evidence than as
    many independent mentions: resampled by paragraph, the interval is wider."""
    truth, predicted = [], []
    for paragraph, label in enumerate(CLASSES * 40):
        wrong = CLASSES[(CLASSES.index(label) + 1) % 3]
        truth += [label] * 4
        predicted += [label if paragraph % 4 else wrong] * 4
    groups = [i // 4 for i in range(len(truth))]
    by_row = macro_f1_interval(truth, predicted, CLASSES)
    by_group = macro_f1_interval(truth, predicted, CLASSES, groups)
    assert by_group[1] - by_group[0] > 1.5 * (by_row[1] - by_row[0])


def test_perfect_and_empty() -> None:
    assert macro_f1_interval(list(CLASSES) * 5, list(CLASSES) * 5, CLASSES) == [1.0, 1.0]
    assert macro_f1_interval([], [], CLASSES) == [0.0, 0.0]
    with pytest.raises(ValueError):
        macro_f1_interval(["negative"], [], CLASSES)
