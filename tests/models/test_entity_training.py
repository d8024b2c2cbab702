"""Training the entity head: mentions through normalisation into tokens, its loss, a tiny run, save and reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from models.artifact import ModelSpec, load_torch_model
from models.bases import resolve_base_path
from models.exceptions import ModelConfigError
from models.spans import span_masks
from models.text import normalise_with_spans
from models.train import TrainConfig, load_config, train
from models.train.config import EntitySource
from models.train.examples import ENTITY, MISSING, Batch
from models.train.losses import EntityLoss, JointLoss, entity_forward
from models.train.mentions import read_mention_rows, tokenize_with_mentions

LABELS = ("negative", "neutral", "positive")
CONTRASTS = [  # each company's clause fills its 8-token context window, as in a news paragraph
    "{win} beats estimates and raises its full-year guidance on strong demand, while its struggling rival {lose} "
    "misses estimates and cuts its outlook",
    "{lose} misses estimates, slashes its dividend and warns on weak demand, as its rival {win} beats forecasts "
    "and raises guidance",
    "Shares of {win} soar to a record high after blowout earnings; meanwhile shares of {lose} plunge after a "
    "profit warning and a downgrade",
    "{lose} is downgraded to sell after a weak quarter and deep layoffs, while analysts upgrade {win} to buy on "
    "record profit",
]
TRAIN_PAIRS = [("Acme", "Globex"), ("Globex", "Acme"), ("Initech", "Umbrella"), ("Umbrella", "Initech"),
               ("Acme", "Initech"), ("Umbrella", "Globex"), ("Globex", "Initech"), ("Initech", "Acme")]  # fmt: skip


def _entity_row(template: str, win: str, lose: str) -> dict[str, Any]:
    text = template.format(win=win, lose=lose)
    entities: list[dict[str, Any]] = [
        {"start": text.index(name), "end": text.index(name) + len(name), "name": name, "sentiment": label}
        for name, label in ((win, "positive"), (lose, "negative"))
    ]
    entities.sort(key=lambda entity: entity["start"])
    return {"text": text, "entities": entities, "sentiment": None}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def entity_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("entity-data")
    train_rows = [_entity_row(t, win, lose) for t in CONTRASTS for win, lose in TRAIN_PAIRS]
    single = [{"text": "Acme to hold its annual meeting", "sentiment": "neutral",
               "entities": [{"start": 0, "end": 4, "name": "Acme", "sentiment": "neutral"}]}]  # fmt: skip
    val_rows = [_entity_row(CONTRASTS[0], "Umbrella", "Acme"), _entity_row(CONTRASTS[2], "Acme", "Umbrella")]
    return {
        "train": _write_jsonl(root / "train.jsonl", train_rows + single),
        "val": _write_jsonl(root / "val.jsonl", val_rows),
    }


@pytest.fixture(scope="module")
def entity_model(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_model_dir: Path,
    tiny_data: dict[str, Path],
    entity_files: dict[str, Path],
) -> Path:
    """The tiny session model trained on: its tweets and the contrast sentences, distilling from itself."""
    out = tmp_path_factory.mktemp("entity-model") / "model"
    config = TrainConfig(
        sentiment_train=tiny_data["sentiment"], sentiment_val=tiny_data["sentiment"],
        topic_train=tiny_data["topic"], topic_val=tiny_data["topic"], out_dir=out,
        init_from=tiny_model_dir, teacher=tiny_model_dir, tweet_sample=8,
        entity_data=(EntitySource(entity_files["train"]),), entity_val=entity_files["val"],
        epochs=8, patience=20, checkpoints_per_epoch=1, batch_size=8, learning_rate=3e-3, holdout_fraction=0.0,
        model_version="entity-test",
    )  # fmt: skip
    train(config, progress=False)
    return out


def _entity_labels(model_dir: Path, text: str, names: tuple[str, ...]) -> list[str]:
    from transformers import AutoTokenizer

    spec = ModelSpec.from_dir(model_dir)
    model = load_torch_model(model_dir, spec)
    tokenizer = AutoTokenizer.from_pretrained(resolve_base_path(spec.base_model))
    spans = [(text.index(name), text.index(name) + len(name)) for name in names]
    ids, mentions = tokenize_with_mentions(tokenizer, [text], [spans], spec.text_normaliser, spec.max_length)
    mention, context = span_masks(mentions, [len(ids[0])], len(ids[0]))
    with torch.inference_mode():
        _, _, entity = model.forward_with_entities(
            torch.tensor(ids), torch.ones((1, len(ids[0])), dtype=torch.long),
            torch.from_numpy(mention), torch.from_numpy(context),
        )  # fmt: skip
    return [spec.sentiments[i] for i in entity[0].argmax(dim=-1).tolist()]


def test_the_entity_head_gives_the_two_companies_opposite_labels(entity_model: Path) -> None:
    # Both companies win and lose in training: only the roles in the sentence tell them apart.
    for win, lose in (("Acme", "Globex"), ("Globex", "Acme")):
        text = CONTRASTS[0].format(win=win, lose=lose)
        assert _entity_labels(entity_model, text, (win, lose)) == ["positive", "negative"], text


def test_a_model_trained_with_the_head_saves_and_reloads_it(entity_model: Path, tiny_model_dir: Path) -> None:
    spec = ModelSpec.from_dir(entity_model)
    assert spec.entity_head and spec.text_normaliser == "demojize+strip-urls"
    assert spec.temperatures[ENTITY] > 0
    model = load_torch_model(entity_model, spec)
    assert model.entity_head is not None
    from safetensors.torch import load_file

    saved = load_file(str(entity_model / "heads.safetensors"))
    torch.testing.assert_close(model.entity_head.linear.weight, saved["entity_head.linear.weight"])
    assert not ModelSpec.from_dir(tiny_model_dir).entity_head  # the parent had none: it was added fresh


def test_entity_figures_are_reported_per_checkpoint_and_at_the_end(entity_model: Path) -> None:
    metrics = json.loads((entity_model / "metrics.json").read_text())
    final = metrics["validation"][ENTITY]
    assert final["n"] == 4 and final["mixed"]["n"] == 4
    assert {"accuracy", "macro_f1", "ece", "confusion"} <= set(final)
    for entry in metrics["history"]:
        assert entry["entity_val"]["n"] == 4  # reported, ...
        assert set(entry["entity"]) == {"accuracy", "macro_f1"}  # ... while the held-out slice picks
    assert metrics["train_examples"][ENTITY] + metrics["holdout_examples"][ENTITY] == 65
    assert metrics["calibration"][ENTITY]["temperature"] == ModelSpec.from_dir(entity_model).temperatures[ENTITY]
    config = load_config(entity_model)
    assert config.entity_data == (EntitySource(config.entity_data[0].path),) and config.tweet_sample == 8


def test_spans_survive_normalisation_into_the_right_tokens() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_path("minilm-l6"))
    text = "🚀🚀 Acme crushed it https://t.co/xyz while Globex 📉😭 fell, see https://t.co/Initech"
    names = ("Acme", "Globex", "Initech")
    spans = [(text.index(n), text.index(n) + len(n)) for n in names]
    ids, mentions = tokenize_with_mentions(tokenizer, [text], [spans], "demojize+strip-urls", 64)
    normalised, _ = normalise_with_spans(text, spans, "demojize+strip-urls")
    assert "rocket" in normalised and "http" not in normalised
    tokens = tokenizer.convert_ids_to_tokens(ids[0])
    first, second, lost = mentions[0]
    assert first is not None and second is not None and lost is None  # inside a link: gone
    words = ["".join(t.removeprefix("##") for t in tokens[a:b]) for a, b in (first, second)]
    assert words == ["acme", "globex"]
    assert tokens[first[0] - 1] == "rocket" and tokens[second[1]] == "chart"  # the emoji's words lie outside


def test_a_mention_past_max_length_is_dropped() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_base_path("minilm-l6"))
    text = "Acme rose " + "and then some more " * 20 + "Globex fell"
    spans = [(0, 4), (text.index("Globex"), len(text) - 5)]
    _, mentions = tokenize_with_mentions(tokenizer, [text], [spans], None, 16)
    assert mentions[0][0] == (1, 3) and mentions[0][1] is None  # "ac", "##me"


def _batch(entity_labels: torch.Tensor, mention_mask: torch.Tensor) -> Batch:
    rows = entity_labels.shape[0]
    labels = {"sentiment": torch.tensor([0, MISSING]), "topic": torch.tensor([MISSING, MISSING]), ENTITY: entity_labels}
    ids = torch.zeros((rows, 4), dtype=torch.long)
    return Batch(ids, torch.ones_like(ids), labels, None, mention_mask, mention_mask.clone())


def test_rows_without_entity_labels_add_no_entity_loss() -> None:
    torch.manual_seed(0)
    mask = torch.zeros((2, 2, 4))
    mask[0, 0, 1] = mask[0, 1, 2] = mask[1, 0, 1] = 1.0
    logits = {"sentiment": torch.randn(2, 3), "topic": torch.randn(2, 5), ENTITY: torch.randn(2, 2, 3)}
    loss = EntityLoss(weight=1.0, label_smoothing=0.0)
    unlabelled = _batch(torch.full((2, 2), MISSING), mask)
    assert loss.terms(logits, unlabelled) == []
    # Row 1 has a label on slot 1, which holds no tokens (cut off): it adds nothing either.
    labelled = _batch(torch.tensor([[2, 0], [MISSING, 1]]), mask)
    (term,) = loss.terms(logits, labelled)
    expected = torch.nn.functional.cross_entropy(logits[ENTITY][0], torch.tensor([2, 0]), reduction="sum")
    torch.testing.assert_close(term, expected)
    assert JointLoss([loss]).of_logits(logits, labelled) == pytest.approx(float(expected) / 2)


def test_the_entity_loss_distils_only_what_the_teacher_scored() -> None:
    torch.manual_seed(1)
    mask = torch.zeros((2, 2, 4))
    mask[0, 0, 1] = mask[0, 1, 2] = 1.0
    logits = {ENTITY: torch.randn(2, 2, 3)}
    batch = _batch(torch.tensor([[2, 0], [MISSING, MISSING]]), mask)
    teacher = torch.full((2, 2, 3), float("nan"))
    teacher[0, 0] = torch.tensor([0.1, 0.2, 3.0])
    batch.teacher = {ENTITY: teacher}
    _, soft = EntityLoss(weight=2.0, label_smoothing=0.0, alpha=0.5, temperature=2.0).terms(logits, batch)
    assert torch.isfinite(soft)
    kl = torch.nn.functional.kl_div(
        torch.log_softmax(logits[ENTITY][0, :1] / 2, -1), torch.log_softmax(teacher[0, :1] / 2, -1),
        reduction="sum", log_target=True,
    )  # fmt: skip
    torch.testing.assert_close(soft, 2.0 * 0.5 * 4 * kl)


def test_a_batch_without_mentions_takes_the_plain_forward() -> None:
    class Heads(torch.nn.Module):
        def logits_by_task(self, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
            return {"sentiment": torch.zeros(ids.shape[0], 3), "topic": torch.zeros(ids.shape[0], 5)}

        def forward_with_entities(self, *args: torch.Tensor) -> None:
            raise AssertionError("no mentions: the entity head must not run")

    ids = torch.zeros((2, 4), dtype=torch.long)
    assert set(entity_forward(Heads(), Batch(ids, torch.ones_like(ids), {}))) == {"sentiment", "topic"}


def test_entity_files_are_checked_and_capped(tmp_path: Path) -> None:
    assert EntitySource.parse("/data/x.jsonl:1500") == EntitySource(Path("/data/x.jsonl"), 1500)
    assert EntitySource.parse("C:/x.jsonl") == EntitySource(Path("C:/x.jsonl"))
    assert str(EntitySource(Path("a.jsonl"), 3)) == "a.jsonl:3"
    bad = _write_jsonl(
        tmp_path / "bad.jsonl", [{"text": "Acme", "entities": [{"start": 0, "end": 9, "sentiment": "positive"}]}]
    )
    with pytest.raises(ModelConfigError, match=r"bad\.jsonl:1"):
        read_mention_rows(bad)
    wrong = _write_jsonl(
        tmp_path / "wrong.jsonl", [{"text": "Acme", "entities": [{"start": 0, "end": 4, "sentiment": "up"}]}]
    )
    with pytest.raises(ModelConfigError, match=r"wrong\.jsonl:1"):
        read_mention_rows(wrong)


def test_train_command_continues_a_model_with_entity_data(
    tiny_model_dir: Path,
    data_root: Path,
    entity_files: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    import finsent.training_cli
    from finsent.cli import main

    configs: list[TrainConfig] = []
    monkeypatch.setattr(finsent.training_cli, "_run_training", lambda config, resume: configs.append(config))
    result = CliRunner().invoke(
        main, ["train", "--init-from", str(tiny_model_dir), "--teacher", str(tiny_model_dir), "--data-root",
               str(data_root), "--entity-data", str(entity_files["train"]), "--entity-data", f"{entity_files['val']}:1",
               "--entity-val", str(entity_files["val"]), "--tweet-sample", "10", "--entity-weight", "0.5",
               "--out", str(tmp_path / "m")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (config,) = configs
    assert config.base_model == ModelSpec.from_dir(tiny_model_dir).base_model  # the parent's, not mpnet-base
    assert config.entity_data == (EntitySource(entity_files["train"]), EntitySource(entity_files["val"], 1))
    assert (config.tweet_sample, config.entity_loss_weight, config.teacher) == (10, 0.5, tiny_model_dir)
    assert TrainConfig.from_json(config.to_json()) == config


def test_entity_validation_without_entity_data_is_refused(
    tiny_data: dict[str, Path], entity_files: dict[str, Path]
) -> None:
    with pytest.raises(ModelConfigError, match="entity_val"):
        TrainConfig(
            sentiment_train=tiny_data["sentiment"], sentiment_val=tiny_data["sentiment"],
            topic_train=tiny_data["topic"], topic_val=tiny_data["topic"], out_dir=Path("o"),
            entity_val=entity_files["val"],
        )  # fmt: skip


def test_a_teacher_with_an_entity_head_gives_logits_for_each_mention(entity_model: Path, tmp_path: Path) -> None:
    from models.train.teacher import teacher_logits

    spec = ModelSpec.from_dir(entity_model)
    texts = [CONTRASTS[0].format(win="Acme", lose="Globex"), "Globex schedules its annual meeting"]
    spans = [[(texts[0].index(n), texts[0].index(n) + len(n)) for n in ("Acme", "Globex")], []]
    classes = {"sentiment": spec.sentiments, "topic": spec.topics}
    logits = teacher_logits(entity_model, texts, classes, tmp_path / "cache.npz", spans)
    assert logits[ENTITY].shape == (2, 2, 3)
    read = [spec.sentiments[i] for i in logits[ENTITY][0].argmax(axis=-1)]
    assert read == _entity_labels(entity_model, texts[0], ("Acme", "Globex"))  # as the model reads them
    assert torch.isnan(torch.from_numpy(logits[ENTITY][1])).all()  # no mentions: nothing to distil
    cached = teacher_logits(entity_model, texts, classes, tmp_path / "cache.npz", spans)
    assert (cached["sentiment"] == logits["sentiment"]).all()


def test_a_run_shipped_without_its_entity_head_reads_documents_alone(entity_model: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from models import Classifier
    from models.report import write_report
    from models.ship import ship_model

    shipped = tmp_path / "shipped"
    ship_model(entity_model, shipped, entity_head=False)
    spec = ModelSpec.from_dir(shipped)
    assert not spec.entity_head and ENTITY not in spec.temperatures
    assert spec.temperatures == {k: v for k, v in ModelSpec.from_dir(entity_model).temperatures.items() if k != ENTITY}
    assert not any(key.startswith("entity_head.") for key in load_file(str(shipped / "heads.safetensors")))
    text = CONTRASTS[0].format(win="Acme", lose="Globex")
    spans = [(text.index(name), text.index(name) + len(name)) for name in ("Acme", "Globex")]
    full, bare = (Classifier.load(d, backend="torch-fp32") for d in (entity_model, shipped))
    (before,), (after,) = full.predict([text]), bare.predict([text])
    assert (after.sentiment_label, after.topic) == (before.sentiment_label, before.topic)
    assert after.score == pytest.approx(before.score, abs=1e-2)
    assert {e.source for e in bare.predict_entities([(text, spans)])[0]} == {"document"}
    write_report(shipped)
    assert "--without-entity-head" in (shipped / "README.md").read_text()
    ship_model(entity_model, tmp_path / "whole")
    assert ModelSpec.from_dir(tmp_path / "whole").entity_head
