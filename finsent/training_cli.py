"""``finsent train``, ``distill``, ``ship`` and ``eval``: making a model, shipping it, measuring it.

Model errors are not caught here: they reach ``FinsentGroup`` and end the command in one line
with their own exit status (2 for a wrong option or file, 4 for a model failure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from finsent.clisupport import DATA_ROOT, emit_json, setup_logging

DATA_HELP = "CSV (text,label) or JSONL file"


ENTITY_OPTIONS = [
    click.option(
        "--entity-data",
        multiple=True,
        metavar="PATH[:LIMIT]",
        help="texts with per-mention labels (FinEntity JSONL), LIMIT rows sampled by seed; repeatable. "
        "With any, the model gets an entity head",
    ),
    click.option(
        "--entity-val",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="FinEntity JSONL reported on at every checkpoint (never used to pick one)",
    ),
    click.option(
        "--entity-weight",
        "entity_loss_weight",
        type=click.FloatRange(min=0),
        default=1.0,
        show_default=True,
        help="weight of the entity loss",
    ),
    click.option(
        "--entity-label-smoothing", type=click.FloatRange(0, 1, max_open=True), default=0.05, show_default=True
    ),
    click.option(
        "--text-normaliser",
        default="demojize+strip-urls",
        show_default=True,
        help="applied to every text in training and, recorded in the model, at inference",
    ),
]


def _training_options(function: Any) -> Any:
    """Options shared by ``train`` and ``distill``."""
    options = [
        DATA_ROOT,
        click.option("--method", type=click.Choice(["lora", "full"]), default="lora", show_default=True),
        click.option("--epochs", type=click.IntRange(min=1), default=None, help="[train 3, distill 4]"),
        click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True),
        click.option("--learning-rate", type=float, default=None, help="[lora: train 3e-4, distill 5e-4; full 8e-5]"),
        click.option("--lora-rank", type=click.IntRange(min=1), default=None, help="[train 32, distill 64]"),
        click.option("--max-length", type=click.IntRange(min=8), default=96, show_default=True),
        click.option("--checkpoints-per-epoch", type=click.IntRange(min=1), default=3, show_default=True),
        click.option("--seed", type=int, default=13, show_default=True),
        click.option("--limit", type=click.IntRange(min=1), default=None, help="only the first N rows of each file"),
        click.option("--model-version", default=None),
        click.option(
            "--tweet-sample",
            type=click.IntRange(min=1),
            default=None,
            help="a seeded random sample of N rows of each tweet training file",
        ),
        *ENTITY_OPTIONS,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_training(config: Any, resume: bool) -> None:
    from models.report import write_report
    from models.train import train as run_training

    setup_logging("INFO")
    result = run_training(config, progress=True, resume=resume)
    write_report(config.out_dir)
    validation = result.metrics["validation"]
    summary = {
        "out": str(config.out_dir),
        "best_epoch": result.best_epoch,
        "seconds": round(result.seconds, 1),
        "sentiment_macro_f1": validation["sentiment"]["macro_f1"],
        "topic_accuracy": validation["topic"]["accuracy"],
        "ece": validation["sentiment"]["ece"],
    }
    if "entity" in validation:
        entity = validation["entity"]
        summary |= {
            "entity_macro_f1": entity["macro_f1"],
            "entity_mixed_macro_f1": (entity["mixed"] or {}).get("macro_f1"),
        }
    click.echo(json.dumps(summary))


@dataclass(frozen=True)
class Recipe:
    """A command's defaults: the settings its shipped model was trained with (docs/models.md)."""

    epochs: int
    lora_rank: int
    lora_learning_rate: float
    full_learning_rate: float = 8e-5

    def fill(self, options: dict[str, Any]) -> None:
        """Set the options the user left out to this recipe's values."""
        options["epochs"] = options["epochs"] or self.epochs
        options["lora_rank"] = options["lora_rank"] or self.lora_rank
        default_rate = self.lora_learning_rate if options["method"] == "lora" else self.full_learning_rate
        options["learning_rate"] = options["learning_rate"] or default_rate


TEACHER_RECIPE = Recipe(epochs=3, lora_rank=32, lora_learning_rate=3e-4)
STUDENT_RECIPE = Recipe(epochs=4, lora_rank=64, lora_learning_rate=5e-4)


def _config_from_options(out: Path, base: str, options: dict[str, Any], **extra: Any) -> Any:
    from models.corpora import corpora
    from models.train import TrainConfig

    data = corpora(options.pop("data_root"))
    files: dict[str, Any] = data.training_files()
    options = {k: v for k, v in options.items() if v is not None}
    return TrainConfig(out_dir=out, base_model=base, **files, **options, **extra)


@click.command()
@click.option("--base", "base", default=None,
              help="minilm-l6, mpnet-base, a HF id or a local path [mpnet-base; --init-from: its base]")  # fmt: skip
@_training_options
@click.option("--init-from", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="a finsent model directory to go on training: its adapter, heads and classes "
                   "(an entity head is added when it has none)")  # fmt: skip
@click.option("--teacher", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="a model whose logits the heads also learn (the --init-from model: self-distillation)")  # fmt: skip
@click.option("--alpha", "distill_alpha", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="with --teacher: weight of the teacher's soft labels")  # fmt: skip
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="continue the stopped run in this directory (its own settings are used)")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="model directory to write")
def train(base: str | None, resume_dir: Path | None, out: Path | None, **options: Any) -> None:
    """Fine-tune one encoder for topic and sentiment jointly (the teacher); resumable.

    With --entity-data it also trains an entity head (sentiment toward each mention). With
    --init-from it goes on training a model (a shipped one, say), whose rank the adapter keeps.
    Checkpoints land in OUT/checkpoint several times an epoch; `finsent train --resume OUT`
    continues a stopped run with the same data order, seed and schedule.
    """
    from models.artifact import ModelSpec
    from models.bases import TEACHER_BASE
    from models.train import load_config

    if resume_dir is not None:
        _run_training(load_config(resume_dir), resume=True)
        return
    if out is None:
        raise click.UsageError("--out DIR is required (or --resume DIR)")
    if base is None:
        base = ModelSpec.from_dir(options["init_from"]).base_model if options["init_from"] else TEACHER_BASE
    TEACHER_RECIPE.fill(options)
    _run_training(_config_from_options(out, base, options), resume=True)


@click.command()
@click.option("--teacher", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="the teacher's model directory (finsent train --out)")  # fmt: skip
@click.option("--base", "base", default="minilm-l6", show_default=True, help="the student's base encoder")
@_training_options
@click.option("--temperature", "distill_temperature", type=click.FloatRange(min=0.1), default=2.0, show_default=True)
@click.option("--alpha", "distill_alpha", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="weight of the teacher's soft labels (the rest: the true labels)")  # fmt: skip
@click.option("--distill-heads", type=click.Choice(["sentiment", "topic"]), multiple=True,
              help="the heads that learn the teacher's soft labels (repeatable; default both)")  # fmt: skip
@click.option("--unlabelled-weight", "distill_unlabelled_weight", type=click.FloatRange(0, 1), default=1.0,
              show_default=True, help="weight of a head's soft labels on texts without its true label")  # fmt: skip
@click.option("--transfer-texts", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              help="extra unlabelled texts (CSV/JSONL with a text column) that carry only teacher targets")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
def distill(
    teacher: Path,
    base: str,
    out: Path,
    distill_heads: tuple[str, ...],
    transfer_texts: tuple[Path, ...],
    **options: Any,
) -> None:
    """Train a student on a teacher's soft labels for every text of both training splits; resumable.

    With --base mpnet-base the student is a new teacher (self-distillation) and takes the
    teacher's recipe, whose rank-32 adapter fits what a shipped model may add.
    """
    from models.bases import TEACHER_BASE

    (TEACHER_RECIPE if base == TEACHER_BASE else STUDENT_RECIPE).fill(options)
    if distill_heads:
        options["distill_heads"] = tuple(sorted(set(distill_heads)))
    config = _config_from_options(out, base, options, teacher=teacher, transfer_texts=transfer_texts)
    _run_training(config, resume=True)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", type=click.Choice(["finsent-minilm", "finsent-mpnet"]), required=True)
@click.option("--entity-head/--without-entity-head", default=True, show_default=True,
              help="ship the run's entity head, or leave it behind (the served model's head then reads "
              "the mentions of the documents a route sends this model)")  # fmt: skip
def ship(run_dir: Path, name: str, entity_head: bool) -> None:
    """Copy a trained model (adapter as int8 rows, heads, spec, metrics, card) into models/artifacts/NAME."""
    from models.artifact import ARTIFACTS_DIR
    from models.ship import ship_model

    files = ship_model(run_dir, ARTIFACTS_DIR / name, entity_head=entity_head)
    size = sum(path.stat().st_size for path in files)
    click.echo(json.dumps({"shipped": str(ARTIFACTS_DIR / name), "files": len(files), "bytes": size}))


@click.command(name="eval")
@click.option("--model", "model_ref", default=None, help="finsent-minilm, finsent-mpnet, a model dir or a hub id")
@click.option(
    "--task",
    type=click.Choice(["sentiment", "topic", "entity", "novelty"]),
    default=None,
    help="with --data: one file (entity: FinEntity-style JSONL with character spans); "
    "novelty: story matching's pair precision and recall (--data-root, no model)",
)
@click.option("--data", type=click.Path(exists=True, path_type=Path), default=None, help=DATA_HELP)
@DATA_ROOT
@click.option("--label-map", default=None, help="preset (tfn-sentiment, tfn-topic), JSON file, or 'raw=name,...'")
@click.option("--baselines/--no-baselines", default=True, show_default=True, help="VADER and Loughran-McDonald too")
@click.option("--write", is_flag=True, help="record the report in the model's metrics.json and card")
@click.option("--backend", default="auto", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="a seeded sample of N rows of each file, stratified by label (default: every row)")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["json", "pretty"]), default="pretty", show_default=True)
def evaluate(
    model_ref: str | None,
    task: str | None,
    data: Path | None,
    data_root: Path | None,
    label_map: str | None,
    baselines: bool,
    write: bool,
    backend: str,
    device: str,
    limit: int | None,
    fmt: str,
) -> None:
    """Accuracy, macro-F1, per-class scores, calibration (ECE) and speed, as JSON.

    With --data and --task: one labelled file. Otherwise the standard report from --data-root:
    tweet sentiment and topic validation splits and the news headlines, with lexicon baselines.
    --task entity scores each entity's sentiment, overall and in paragraphs whose entities
    disagree, beside the document's label copied to every entity.
    """
    from models import Classifier
    from models.corpora import corpora
    from models.evaluate import evaluate_file, evaluate_suite, record_evaluation

    setup_logging("WARNING")
    if task == "novelty":
        emit_json(_novelty_report(data_root, data), fmt)
        return
    if (data is None) != (task is None):
        raise click.UsageError("--data and --task go together (or neither, for the standard report)")
    if write and limit is not None:
        raise click.UsageError("--write records the full report: leave out --limit")
    eval_sets = None if data is not None else corpora(data_root).eval_sets()  # a missing root fails before loading
    classifier = Classifier.load(model_ref, device=device, backend=backend)
    if task == "entity":
        from models.entity_eval import evaluate_entities
        from models.labels import resolve_label_map

        result = evaluate_entities(classifier, data, resolve_label_map(label_map), limit)  # type: ignore[arg-type]
    elif eval_sets is None:
        result = evaluate_file(classifier, task, data, label_map, limit)  # type: ignore[arg-type]
    else:
        result = evaluate_suite(classifier, eval_sets, baselines=baselines, limit=limit)
        if write:
            record_evaluation(classifier, result)
    emit_json(result, fmt)


def _novelty_report(data_root: Path | None, data: Path | None) -> dict[str, Any]:
    """``finsent eval --task novelty``: pair precision and recall of story matching on the corpora."""
    from models.corpora import corpora
    from models.novelty_eval import evaluate_novelty

    if data is not None:
        raise click.UsageError("--task novelty builds its pairs from --data-root; leave out --data")
    return evaluate_novelty(corpora(data_root))
