"""``finsent retrain``: fine-tune the active model again on the base data plus people's labels, then decide.

The challenger starts from the champion (the active version, or the configured model the first
time), learns from the base training corpora and the stored labels, and is evaluated beside the
champion on the configured evaluation sets and on the newest labels, which it never trained on.
It is promoted only if it is no worse than the champion by more than ``tolerance`` (macro-F1)
on any set and better on the held-out labels; otherwise the champion stays, with the reason.
"""

from __future__ import annotations

import csv
import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from learning.registry import Registry
from learning.review import document_text
from models.artifact import ModelSpec
from models.classifier import Classifier
from models.corpora import Corpora, EvalSet
from models.data import read_labelled
from models.evaluate import evaluate_file
from models.labels import TASKS, resolve_label_map
from models.train import TrainConfig, train
from schemas.learning import LabelTask
from storage.learning import count_labels_since, labelled_examples, summary_of

log = logging.getLogger(__name__)
LABELS_SET = "labels_{task}"


@dataclass(frozen=True)
class RetrainOptions:
    epochs: int = 2
    tolerance: float = 0.01
    """How much macro-F1 the challenger may lose on any evaluation set and still be promoted."""
    label_test_share: float = 0.25
    """The newest share of labelled documents, per task, kept out of training to judge on."""
    min_new_labels: int = 1
    dry_run: bool = False
    batch_size: int = 32
    learning_rate: float | None = None
    max_length: int = 96
    limit: int | None = None
    """Only the first N rows of each base training file (tests, smoke runs)."""
    actor: str = "cli"


@dataclass
class RetrainReport:
    decision: str
    """``promoted``, ``kept`` (trained, not better), ``dry-run`` (trained, not promoted) or ``skipped``."""
    reason: str
    champion: str
    challenger: str | None = None
    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def retrain(
    registry: Registry,
    corpora: Corpora,
    configured_model: str | None,
    options: RetrainOptions,
    progress: Callable[[str], None] = log.info,
) -> RetrainReport:
    """One retraining round; see the module docstring. Registers the challenger whatever the decision."""
    champion = registry.active()
    if champion is None:  # the first round: the configured model becomes version one, so rollback can return to it
        champion = registry.adopt(configured_model)
        if not options.dry_run:
            registry.promote(champion.version, "the configured model, adopted as the first version", options.actor)
    # Since the last round, promoted or not: a refused challenger's labels are no reason to train again.
    since = max((summary_of(row).get("labels_until") or "" for row in registry.versions()), default="")
    new_labels = count_labels_since(registry.store, datetime.fromisoformat(since) if since else None)
    if new_labels < options.min_new_labels:
        reason = (f"{new_labels} documents labelled since the last training round, "
                  f"fewer than {options.min_new_labels}")  # fmt: skip
        return RetrainReport("skipped", reason, champion.version)
    examples = {task: labelled_examples(registry.store, task) for task in TASKS}
    split = {task: split_by_time(rows, options.label_test_share) for task, rows in examples.items()}
    if not any(test for _, test in split.values()) or not any(train_rows for train_rows, _ in split.values()):
        return RetrainReport("skipped", "too few labelled documents to train on some and judge on the rest",
                             champion.version)  # fmt: skip
    version = f"retrain-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    out = registry.new_directory(version)
    parent = ModelSpec.from_dir(Path(champion.path))
    with tempfile.TemporaryDirectory(prefix="finsent-retrain-") as scratch:
        files, base_rows = _training_files(Path(scratch), corpora, split, options.limit)
        summary = _summary(champion.version, base_rows, split)
        config = TrainConfig(
            sentiment_train=files["sentiment_train"], sentiment_val=files["sentiment_val"],
            topic_train=files["topic_train"], topic_val=files["topic_val"], out_dir=out,
            base_model=parent.base_model, method=parent.finetune, sentiment_label_map=None, topic_label_map=None,
            epochs=options.epochs, patience=options.epochs * 2, batch_size=options.batch_size,
            learning_rate=options.learning_rate, max_length=options.max_length, init_from=Path(champion.path),
            model_version=version, text_normaliser=parent.text_normaliser,
        )  # fmt: skip
        progress(f"training {version} from {champion.version} on {summary['train_examples']} examples")
        train(config, progress=False)
        _write_card(out, summary)
        sets = [*corpora.eval_sets(), *_label_sets(Path(scratch), split)]
        progress(f"evaluating {champion.version} and {version} on {', '.join(s.name for s in sets)}")
        figures = {
            "champion": _macro_f1(Path(champion.path), sets, options.limit),
            "challenger": _macro_f1(out, sets, options.limit),
        }
    promote, reason = decide(figures["champion"], figures["challenger"], options.tolerance)
    decision = "promoted" if promote and not options.dry_run else ("dry-run" if promote else "kept")
    registry.register(out, champion.version, summary, {"figures": figures, "decision": decision, "reason": reason})
    if decision == "promoted":
        registry.promote(version, reason, options.actor)
    return RetrainReport(decision, reason, champion.version, version, figures, summary)


def decide(champion: dict[str, float], challenger: dict[str, float], tolerance: float) -> tuple[bool, str]:
    """Promote only if no set loses more than ``tolerance`` and the held-out labels improve."""
    worse = [f"{name} {challenger[name]:.3f} < {champion[name]:.3f} - {tolerance:g}"
             for name in champion if challenger[name] < champion[name] - tolerance]  # fmt: skip
    if worse:
        return False, "worse on " + "; ".join(worse)
    label_sets = [name for name in champion if name.startswith("labels_")]
    gained = sum(challenger[name] - champion[name] for name in label_sets)
    if gained <= 0:
        return False, f"not better on the held-out labels ({', '.join(label_sets)}: {gained:+.3f} macro-F1)"
    return True, f"better on the held-out labels by {gained:+.3f} macro-F1, within {tolerance:g} everywhere else"


def split_by_time(rows: Sequence[dict[str, Any]], test_share: float) -> tuple[list[dict], list[dict]]:
    """(train, test): the newest ``test_share`` of the labelled documents (at least one, if two or more) judge."""
    ordered = sorted(rows, key=lambda row: (row["labelled_at"], row["doc_id"]))
    if len(ordered) < 2:
        return list(ordered), []
    n_test = min(len(ordered) - 1, max(1, round(len(ordered) * test_share)))
    return ordered[:-n_test], ordered[-n_test:]


def _training_files(
    scratch: Path, corpora: Corpora, split: dict[LabelTask, tuple[list[dict], list[dict]]], limit: int | None
) -> tuple[dict[str, Path], dict[str, int]]:
    """Base corpora with class names for labels, plus the training share of people's labels; base row counts."""
    corpus_files = corpora.training_files()
    files: dict[str, Path] = {}
    base_counts: dict[str, int] = {}
    label_maps: tuple[tuple[LabelTask, str], ...] = (("sentiment", "tfn-sentiment"), ("topic", "tfn-topic"))
    for task, label_map in label_maps:
        mapping = resolve_label_map(label_map)
        base = read_labelled(corpus_files[f"{task}_train"], mapping)
        base_rows = list(zip(base.texts, base.labels, strict=True))[:limit]
        people = [(document_text(row), row["label"]) for row in split[task][0]]
        files[f"{task}_train"] = _write_csv(scratch / f"{task}_train.csv", base_rows + people)
        validation = read_labelled(corpus_files[f"{task}_val"], mapping)
        val_rows = list(zip(validation.texts, validation.labels, strict=True))[:limit]
        files[f"{task}_val"] = _write_csv(scratch / f"{task}_val.csv", val_rows)
        base_counts[task] = len(base_rows)
    return files, base_counts


def _label_sets(scratch: Path, split: dict[LabelTask, tuple[list[dict], list[dict]]]) -> list[EvalSet]:
    sets = []
    for task, (_, test) in split.items():
        if test:
            path = _write_csv(scratch / f"labels_{task}_test.csv", [(document_text(r), r["label"]) for r in test])
            sets.append(EvalSet(LABELS_SET.format(task=task), task, path, None))
    return sets


def _macro_f1(model_dir: Path, sets: list[EvalSet], limit: int | None) -> dict[str, float]:
    classifier = Classifier.load(model_dir, backend="torch-fp32")
    return {s.name: float(evaluate_file(classifier, s.task, s.path, s.label_map, limit)["macro_f1"])  # type: ignore[arg-type]
            for s in sets}  # fmt: skip


def _summary(parent: str, base_rows: dict[str, int], split: dict[LabelTask, tuple[list[dict], list[dict]]]) -> dict:
    times = [row["labelled_at"] for train_rows, test in split.values() for row in (*train_rows, *test)]
    return {
        "parent": parent,
        "train_examples": {
            "base_sentiment": base_rows["sentiment"],
            "base_topic": base_rows["topic"],
            "labels_sentiment": len(split["sentiment"][0]),
            "labels_topic": len(split["topic"][0]),
        },
        "label_test_examples": {task: len(test) for task, (_, test) in split.items()},
        "labels_from": min(times).isoformat() if times else None,
        "labels_until": max(times).isoformat() if times else None,
    }


def _write_csv(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def _write_card(out: Path, summary: dict[str, Any]) -> None:
    from models.report import write_report

    write_report(out)
    counts = summary["train_examples"]
    section = (
        "\n## Retraining\n\n"
        f"Fine-tuned again from `{summary['parent']}` by `finsent retrain`, on "
        f"{counts['base_sentiment']} sentiment and {counts['base_topic']} topic rows of the base corpora plus "
        f"{counts['labels_sentiment']} sentiment and {counts['labels_topic']} topic labels given by people "
        f"between {summary['labels_from']} and {summary['labels_until']} (UTC). The newest labels "
        f"({json.dumps(summary['label_test_examples'])}) were kept out of training to judge it on.\n"
    )
    with (out / "README.md").open("a") as card:
        card.write(section)
