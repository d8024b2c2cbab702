"""Entity sentiment at inference: one pass for document and mentions, every backend, fallbacks, caps, eval."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from finsent.cli import main
from models import Classifier, EmptyTextError
from models.artifact import ModelSpec
from models.exceptions import SpanError
from models.export import model_fingerprint
from models.windows import MAX_MENTIONS_PER_TEXT, cut_text, cut_text_with_spans, place_mentions

FORD = "Ford beats estimates while rival General Motors misses and cuts its outlook"
AMAZON = "Amazon wins $10bn cloud contract, Oracle loses bid 🚀"
ITEMS = [
    (FORD, [(0, 4), (33, 47)]),
    (AMAZON, [(34, 40), (0, 6)]),  # not in text order: results follow the spans as given
    ("Globex files quarterly report with the SEC", []),
]


def spans_of(text: str, *names: str) -> list[tuple[int, int]]:
    return [(text.index(name), text.index(name) + len(name)) for name in names]


@pytest.fixture(scope="module")
def entity_model_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with a fresh, seeded random entity head (plumbing, not accuracy)."""
    target = tmp_path_factory.mktemp("entity-model") / "model"
    shutil.copytree(tiny_model_dir, target, ignore=shutil.ignore_patterns(".cache"))
    spec = json.loads((target / "finsent_model.json").read_text())
    spec["entity_head"] = True
    spec["temperatures"] = {**spec.get("temperatures", {}), "entity": 1.5}
    (target / "finsent_model.json").write_text(json.dumps(spec))
    heads = load_file(str(target / "heads.safetensors"))
    hidden = heads["sentiment_head.weight"].shape[1]
    torch.manual_seed(0)
    linear = torch.nn.Linear(3 * hidden, 3)
    heads["entity_head.linear.weight"] = linear.weight.detach() * 20  # spread the logits: labels differ by mention
    heads["entity_head.linear.bias"] = linear.bias.detach()
    save_file(heads, str(target / "heads.safetensors"))
    return target


@pytest.fixture(scope="module")
def torch_fp32(entity_model_dir: Path) -> Classifier:
    return Classifier.load(entity_model_dir, backend="torch-fp32")


def probabilities(results: list) -> np.ndarray:
    return np.array([[e.p_negative, e.p_neutral, e.p_positive] for entities in results for e in entities])


@pytest.mark.parametrize(("backend", "tolerance"), [("onnx-fp32", 1e-4), ("onnx-int8", 0.1)])
def test_onnx_entity_probabilities_agree_with_torch(
    entity_model_dir: Path, torch_fp32: Classifier, backend: str, tolerance: float
) -> None:
    reference = torch_fp32.predict_entities(ITEMS)
    candidate = Classifier.load(entity_model_dir, backend=backend).predict_entities(ITEMS)
    assert [[e.source for e in row] for row in candidate] == [["mention"] * 2, ["mention"] * 2, []]
    np.testing.assert_allclose(probabilities(candidate), probabilities(reference), atol=tolerance)


def test_int8_quantisation_covers_the_entity_head(entity_model_dir: Path, torch_fp32: Classifier) -> None:
    import onnx

    Classifier.load(entity_model_dir, backend="onnx-int8")
    (path,) = entity_model_dir.glob(".cache/onnx-*/model.int8.onnx")
    graph = onnx.load(str(path)).graph
    assert {node.name for node in graph.input} >= {"mention_mask", "context_mask"}
    quantized = [node.name for node in graph.node if node.op_type in {"MatMulInteger", "DynamicQuantizeMatMul"}]
    assert any("entity_head" in name for name in quantized), quantized


@pytest.mark.parametrize("backend", ["torch-fp32", "onnx-int8"])
def test_document_predictions_are_those_of_predict(entity_model_dir: Path, backend: str) -> None:
    classifier = Classifier.load(entity_model_dir, backend=backend)
    linked = ("Acme misses estimates https://t.co/Acme 📉", spans_of("Acme misses estimates https://t.co/Acme", "Acme"))
    items = [*ITEMS, linked]
    documents = [document for document, _ in classifier.predict_with_entities(items)]
    assert documents == classifier.predict([text for text, _ in items])


def test_mentions_come_back_in_span_order_read_by_the_head(torch_fp32: Classifier) -> None:
    results = torch_fp32.predict_with_entities(ITEMS)
    assert [[(e.start, e.end) for e in entities] for _, entities in results] == [spans for _, spans in ITEMS]
    ford, gm = results[0][1]
    assert ford.source == gm.source == "mention"
    assert (ford.p_negative, ford.p_positive) != (gm.p_negative, gm.p_positive)
    for entity in (ford, gm):
        assert entity.p_negative + entity.p_neutral + entity.p_positive == pytest.approx(1.0)
        assert entity.score == pytest.approx(entity.p_positive - entity.p_negative)


def test_entity_temperature_softens_the_mentions(entity_model_dir: Path, tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    shutil.copytree(entity_model_dir, hot, ignore=shutil.ignore_patterns(".cache"))
    spec = json.loads((hot / "finsent_model.json").read_text())
    spec["temperatures"]["entity"] = 50.0
    (hot / "finsent_model.json").write_text(json.dumps(spec))
    plain = probabilities(Classifier.load(entity_model_dir, backend="torch-fp32").predict_entities(ITEMS))
    soft = probabilities(Classifier.load(hot, backend="torch-fp32").predict_entities(ITEMS))
    assert (soft.max(axis=1) < plain.max(axis=1)).all()
    assert (soft.argmax(axis=1) == plain.argmax(axis=1)).all()


def test_a_span_lost_in_a_link_gets_the_document_sentiment(torch_fp32: Classifier) -> None:
    text = "Initech rallies, see https://example.com/Acme for Acme"
    spans = [(text.index("Acme"), text.index("Acme") + 4), (text.rindex("Acme"), len(text))]
    ((document, (in_link, named)),) = torch_fp32.predict_with_entities([(text, spans)])
    assert (in_link.source, in_link.sentiment_label, in_link.score) == (
        "document",
        document.sentiment_label,
        document.score,
    )
    assert named.source == "mention"


def test_a_mention_past_the_scored_windows_gets_the_document_sentiment(entity_model_dir: Path) -> None:
    classifier = Classifier.load(entity_model_dir, backend="torch-fp32", max_windows=2)
    sentence = "Acme shares plunge after weak guidance. "
    text = sentence * 150 + "Finally Globex soars."  # about 5 windows of 254 tokens; the first and last are read
    middle = len(sentence) * 60
    spans = [(0, 4), (middle, middle + 4), (text.index("Globex"), text.index("Globex") + 6)]
    ((_, (first, unscored, last)),) = classifier.predict_with_entities([(text, spans)])
    assert (first.source, unscored.source, last.source) == ("mention", "document", "mention")
    huge = sentence * 25_000 + "Finally Globex soars."  # cut before tokenising: the middle is never read
    spans = [(0, 4), (len(sentence) * 12_000, len(sentence) * 12_000 + 4), (huge.index("Globex"), len(huge) - 7)]
    ((_, entities),) = classifier.predict_with_entities([(huge, spans)])
    assert [e.source for e in entities] == ["mention", "document", "mention"]


def test_mentions_past_the_cap_get_the_document_sentiment(torch_fp32: Classifier) -> None:
    text = " ".join(["Acme"] * (MAX_MENTIONS_PER_TEXT + 6)) + " beats estimates"
    spans = [(5 * i, 5 * i + 4) for i in range(MAX_MENTIONS_PER_TEXT + 6)]
    ((_, entities),) = torch_fp32.predict_with_entities([(text, spans)])
    assert [e.source for e in entities] == ["mention"] * MAX_MENTIONS_PER_TEXT + ["document"] * 6


def test_a_model_without_entity_head_copies_the_document_label(tiny_model_dir: Path) -> None:
    classifier = Classifier.load(tiny_model_dir, backend="torch-fp32")
    for document, entities in classifier.predict_with_entities(ITEMS):
        for entity in entities:
            assert entity.source == "document"
            assert (entity.sentiment_label, entity.score) == (document.sentiment_label, document.score)


@pytest.mark.parametrize("span", [(5, 2), (-1, 3), (0, len(FORD) + 1), (0, "4"), (1,)])
def test_a_span_outside_its_text_is_a_clear_error(torch_fp32: Classifier, span: tuple) -> None:
    with pytest.raises(SpanError, match="text #1"):
        torch_fp32.predict_entities([(FORD, [(0, 4)]), (FORD, [span])])


def test_empty_text_and_empty_span(torch_fp32: Classifier) -> None:
    with pytest.raises(EmptyTextError, match="text #0"):
        torch_fp32.predict_entities([("  ", [])])
    ((entity,),) = torch_fp32.predict_entities([(FORD, [(2, 2)])])
    assert entity.source == "document"
    assert torch_fp32.predict_with_entities([]) == []


def test_the_entity_graph_has_its_own_cache_key(entity_model_dir: Path) -> None:
    spec = ModelSpec.from_dir(entity_model_dir)
    plain = ModelSpec(**{**spec.__dict__, "entity_head": False})
    assert model_fingerprint(entity_model_dir, spec) != model_fingerprint(entity_model_dir, plain)


def test_cut_text_moves_spans_with_the_tail() -> None:
    text = "a" * 5_000 + " Acme " + "b" * 5_000 + " Globex"
    spans = [(5_001, 5_005), (len(text) - 6, len(text)), (3, 7)]
    cut, moved = cut_text_with_spans(text, spans, window=10, max_windows=3)
    assert cut == cut_text(text, window=10, max_windows=3)
    assert moved[0] is None and moved[2] == (3, 7)
    assert moved[1] is not None and cut[moved[1][0] : moved[1][1]] == "Globex"


def test_a_mention_goes_to_the_first_window_holding_it_whole() -> None:
    offsets = [(i * 2, i * 2 + 1) for i in range(10)]  # ten one-character tokens, windows of four
    spans = [(4, 7), (6, 9), (10, 13), None, (30, 31)]
    placed = place_mentions(offsets, spans, starts=[0, 4, 8], window=4)
    # Rows start with the special token; (6, 9) straddles two windows and is clipped to the first.
    assert placed == [[(0, (3, 5)), (1, (4, 5))], [(2, (2, 4))], []]
    assert place_mentions(offsets, [(6, 9)], starts=[0, 2], window=4) == [[], [(0, (2, 4))]]


def test_eval_entity_task_prints_json(entity_model_dir: Path, tmp_path: Path) -> None:
    rows = [
        {"text": FORD, "entities": [{"start": 0, "end": 4, "name": "Ford", "sentiment": "positive"},
                                    {"start": 33, "end": 47, "name": "General Motors", "sentiment": "negative"}]},
        {"text": AMAZON, "entities": [{"start": 0, "end": 6, "name": "Amazon", "sentiment": "positive"}]},
        {"text": "Initech to hold its annual meeting", "entities": [
            {"start": 0, "end": 7, "name": "Initech", "sentiment": "neutral"}]},
    ]  # fmt: skip
    data = tmp_path / "entities.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = CliRunner().invoke(
        main, ["eval", "--task", "entity", "--data", str(data), "--model", str(entity_model_dir),
               "--backend", "torch-fp32", "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["paragraphs"], report["entities"], report["mixed_paragraphs"], report["mixed_entities"]) == (
        3,
        4,
        1,
        2,
    )
    assert report["sources"] == {"mention": 4, "document": 0}
    for scores in (report, report["document_copied"]):
        assert {"accuracy", "macro_f1", "per_class"} <= set(scores["overall"])
        assert scores["overall"]["n"] == 4 and scores["mixed"]["n"] == 2
        assert set(scores["overall"]["per_class"]) == {"negative", "neutral", "positive"}
        for part in ("overall", "mixed"):
            low, high = scores[part]["macro_f1_95"]
            assert 0 <= low <= scores[part]["macro_f1"] <= high <= 1
    assert report["texts_per_s"] > 0 and report["entity_head"] is True
