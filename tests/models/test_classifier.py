"""The inference engine: order, batching, chunking, errors, determinism, backend agreement."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import Classifier, EmptyTextError, Prediction
from models.backends import OnnxBackend, row_slices
from models.classifier import optimal_cuts, window_starts
from models.exceptions import ModelConfigError

TEXTS = [
    "Acme shares plunge after weak guidance",
    "Globex beats estimates and raises guidance",
    "Initech to report earnings on Tuesday",
    "Umbrella declares quarterly dividend of 50 cents",
    "Fed signals more rate hikes this year",
]


@pytest.fixture(scope="module")
def fp32(tiny_model_dir: Path) -> Classifier:
    return Classifier.load(tiny_model_dir, backend="torch-fp32")


def test_prediction_fields_are_consistent(fp32: Classifier) -> None:
    for p in fp32.predict(TEXTS):
        assert isinstance(p, Prediction)
        assert p.p_negative + p.p_neutral + p.p_positive == pytest.approx(1.0, abs=1e-6)
        assert p.score == pytest.approx(p.p_positive - p.p_negative)
        assert p.sentiment == {"negative": -1, "neutral": 0, "positive": 1}[p.sentiment_label]
        assert 0 < p.topic_confidence <= 1
        assert p.topic in fp32.spec.topics
        assert p.model_version == "tiny-test+torch-fp32"


def test_results_come_back_in_input_order_whatever_the_batching(fp32: Classifier) -> None:
    single = [fp32.predict([t])[0] for t in TEXTS]
    batched = fp32.predict(TEXTS)
    reversed_ = fp32.predict(TEXTS[::-1])[::-1]
    for a, b, c in zip(single, batched, reversed_, strict=True):
        assert a.sentiment_label == b.sentiment_label == c.sentiment_label
        assert a.score == pytest.approx(b.score, abs=1e-4)
        assert b.score == pytest.approx(c.score, abs=1e-4)


def test_token_budget_splits_batches(tiny_model_dir: Path) -> None:
    calls: list[tuple[int, int]] = []
    small = Classifier.load(tiny_model_dir, backend="torch-fp32", token_budget=64, max_batch=4)
    inner = small.backend

    def spy(ids: np.ndarray, mask: np.ndarray):
        calls.append(ids.shape)
        return inner(ids, mask)

    small.backend = spy  # type: ignore[assignment]
    small.backend.name = inner.name  # type: ignore[attr-defined]
    small.predict(TEXTS * 4)
    assert len(calls) > 1
    assert all(rows <= 4 and rows * width <= max(64, width) for rows, width in calls)


def padded_cost(lengths: Sequence[int], cuts: Sequence[int], call_cost: int) -> int:
    return sum(call_cost + (end - start) * lengths[start] for start, end in itertools.pairwise(cuts))


def test_a_few_long_windows_are_not_padded_together_with_many_tweets() -> None:
    lengths = [128, 128, 128] + [14] * 61  # one full batch by row count and token budget
    cuts = optimal_cuts(lengths, max_batch=64, token_budget=8_192, call_cost=32)
    assert cuts == [0, 3, 64]
    assert padded_cost(lengths, cuts, 32) < padded_cost(lengths, [0, 64], 32) / 4


def test_similar_lengths_share_one_call() -> None:
    assert optimal_cuts([20, 20, 19, 18, 18], max_batch=64, token_budget=8_192, call_cost=32) == [0, 5]


@given(
    lengths=st.lists(st.integers(1, 128), min_size=1, max_size=9).map(lambda xs: sorted(xs, reverse=True)),
    max_batch=st.integers(1, 5),
    token_budget=st.integers(1, 400),
    call_cost=st.integers(0, 64),
    attention_budget=st.one_of(st.none(), st.integers(1, 20_000)),
)
def test_cuts_are_valid_and_cheapest(
    lengths: list[int], max_batch: int, token_budget: int, call_cost: int, attention_budget: int | None
) -> None:
    def fits(rows: int, width: int) -> bool:
        cells = rows * width * width
        return rows * width <= token_budget and (attention_budget is None or cells <= attention_budget)

    def valid(cuts: Sequence[int]) -> bool:
        return all(
            end - start <= max_batch and (end - start == 1 or fits(end - start, lengths[start]))
            for start, end in itertools.pairwise(cuts)
        )

    cuts = optimal_cuts(lengths, max_batch, token_budget, call_cost, attention_budget)
    assert cuts[0] == 0 and cuts[-1] == len(lengths) and valid(cuts)
    inner = range(1, len(lengths))
    every = ([0, *chosen, len(lengths)] for k in range(len(lengths)) for chosen in itertools.combinations(inner, k))
    cheapest = min(padded_cost(lengths, c, call_cost) for c in every if valid(c))
    assert padded_cost(lengths, cuts, call_cost) == cheapest


def test_full_width_windows_go_eight_to_a_batch_and_posts_keep_the_token_budget() -> None:
    # 32 windows of 256 tokens fit the token budget but would hold 32 × 256² attention scores per head.
    long_cuts = optimal_cuts([256] * 32, max_batch=64, token_budget=8_192, call_cost=32, attention_budget=2**19)
    assert [end - start for start, end in itertools.pairwise(long_cuts)] == [8, 8, 8, 8]
    assert optimal_cuts([40] * 64, max_batch=64, token_budget=8_192, call_cost=32, attention_budget=2**19) == [0, 64]


def test_same_text_same_output(fp32: Classifier) -> None:
    first = fp32.predict(TEXTS)
    second = fp32.predict(TEXTS)
    assert first == second


def test_long_text_is_chunked_and_weighted(fp32: Classifier) -> None:
    long_text = " ".join(["Acme shares plunge after weak guidance."] * 200)
    chunks = fp32.tokenizer.chunks([long_text], fp32.spec.max_length)
    assert len(chunks) > 3
    assert all(len(c.ids) <= fp32.spec.max_length for c in chunks)
    (prediction,) = fp32.predict([long_text])
    assert prediction.sentiment_label == fp32.predict(["Acme shares plunge after weak guidance."])[0].sentiment_label


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_text_is_a_clear_error(fp32: Classifier, bad: str) -> None:
    with pytest.raises(EmptyTextError, match="text #1 is empty"):
        fp32.predict(["fine", bad])


def test_empty_batch_returns_nothing(fp32: Classifier) -> None:
    assert fp32.predict([]) == []


def test_unknown_backend_is_a_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelConfigError, match="unknown backend"):
        Classifier.load(tiny_model_dir, backend="tpu")


@pytest.mark.parametrize("backend", ["torch-int8", "onnx-fp32", "onnx-int8"])
def test_other_backends_agree_with_fp32(model_copy: Path, fp32: Classifier, backend: str) -> None:
    other = Classifier.load(model_copy, backend=backend)
    reference = fp32.predict(TEXTS)
    candidate = other.predict(TEXTS)
    tolerance = 1e-4 if backend == "onnx-fp32" else 0.1
    for ref, got in zip(reference, candidate, strict=True):
        assert got.score == pytest.approx(ref.score, abs=tolerance)
        assert got.sentiment_label == ref.sentiment_label or abs(ref.score) < 0.2
    if backend.startswith("onnx"):
        assert list(model_copy.glob(".cache/onnx-*/model.*.onnx")), "export should be cached beside the model"
        again = Classifier.load(model_copy, backend=backend)
        assert again.predict(TEXTS) == candidate


def test_onnx_lanes_run_a_calls_slices_at_once_each_on_one_thread(model_copy: Path) -> None:
    """Slices of a call run side by side, single-threaded (docs/performance.md, "Lanes").

    The barrier lets a slice's run finish only once the other slice's run has started: one run
    after the other breaks it.
    """
    backend = Classifier.load(model_copy, backend="onnx-fp32").backend
    assert isinstance(backend, OnnxBackend)
    assert backend._session.get_session_options().intra_op_num_threads == 1
    lanes = OnnxBackend(backend.name, backend.path, lanes=2)
    both_running = threading.Barrier(2, timeout=10)
    run = lanes._session.run

    def run_beside_the_other(outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        both_running.wait()
        return run(outputs, feeds)

    lanes._session = SimpleNamespace(run=run_beside_the_other)  # type: ignore[assignment]
    ids = np.array([[0, 5, 6, 2], [0, 7, 2, 1], [0, 8, 9, 2]], dtype=np.int64)
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=np.int64)
    topic, sentiment = lanes(ids, mask)
    one_by_one = [backend(ids[row : row + 1], mask[row : row + 1]) for row in range(3)]
    assert np.allclose(topic, np.concatenate([t for t, _ in one_by_one]), atol=1e-5)
    assert np.allclose(sentiment, np.concatenate([s for _, s in one_by_one]), atol=1e-5)


def test_row_slices_cover_every_row_once_in_order() -> None:
    assert row_slices(5, 2) == [slice(0, 2), slice(2, 5)]
    assert row_slices(1, 4) == [slice(0, 1)]
    assert row_slices(0, 2) == [slice(0, 0)]
    for rows, lanes in itertools.product(range(12), range(1, 5)):
        covered = [row for part in row_slices(rows, lanes) for row in range(rows)[part]]
        assert covered == list(range(rows))
        assert len(row_slices(rows, lanes)) == max(1, min(lanes, rows))


def test_window_starts_keep_the_first_windows_and_the_last() -> None:
    assert window_starts(1000, 100, None) == list(range(0, 1000, 100))
    assert window_starts(1000, 100, 4) == [0, 100, 200, 900]
    assert window_starts(350, 100, 4) == [0, 100, 200, 300]
    assert window_starts(1000, 100, 1) == [0]
    assert window_starts(0, 100, 4) == [0]


def test_window_cap_bounds_the_windows_of_a_huge_text(fp32: Classifier) -> None:
    ending = "In the end Umbrella declares quarterly dividend of 50 cents"
    huge = "Acme shares plunge after weak guidance. " * 25_000 + ending  # ~1 MB
    chunks = fp32.tokenizer.chunks([huge, "short"], fp32.spec.max_length, max_windows=8)
    assert sum(1 for c in chunks if c.doc == 0) == 8
    assert sum(1 for c in chunks if c.doc == 1) == 1
    last = [c for c in chunks if c.doc == 0][-1]
    assert fp32.tokenizer._tok.decode(last.ids).endswith("50 cents")


def test_classifier_scores_at_most_the_cap_per_document(tiny_model_dir: Path) -> None:
    classifier = Classifier.load(tiny_model_dir, backend="torch-fp32", max_windows=3)
    rows: list[int] = []
    inner = classifier.backend

    class Counting:
        name = inner.name

        def __call__(self, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rows.append(len(ids))
            return inner(ids, mask)

    classifier.backend = Counting()  # type: ignore[assignment]
    (prediction,) = classifier.predict(["Acme shares plunge after weak guidance. " * 50_000])
    assert sum(rows) == 3
    assert prediction.sentiment_label == "negative"


def test_window_cap_must_be_positive(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelConfigError, match="max_windows"):
        Classifier.load(tiny_model_dir, backend="torch-fp32", max_windows=0)


def test_temperature_softens_probabilities_without_changing_labels(tiny_model_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    hot = tmp_path / "hot"
    shutil.copytree(tiny_model_dir, hot, ignore=shutil.ignore_patterns(".cache"))
    spec = json.loads((hot / "finsent_model.json").read_text())
    spec["temperatures"] = {"sentiment": 4.0, "topic": 4.0}
    (hot / "finsent_model.json").write_text(json.dumps(spec))
    plain = Classifier.load(tiny_model_dir, backend="torch-fp32").predict(TEXTS)
    soft = Classifier.load(hot, backend="torch-fp32").predict(TEXTS)
    for a, b in zip(plain, soft, strict=True):
        assert a.sentiment_label == b.sentiment_label and a.topic == b.topic
        assert max(b.p_negative, b.p_neutral, b.p_positive) < max(a.p_negative, a.p_neutral, a.p_positive)


def test_links_are_stripped_before_tokenising(fp32: Classifier) -> None:
    plain = fp32.tokenizer.chunks(["Acme beats estimates"], 256, normaliser="strip-urls")
    linked = fp32.tokenizer.chunks(["Acme beats estimates https://t.co/AbCdEf123"], 256, normaliser="strip-urls")
    assert plain[0].ids == linked[0].ids
