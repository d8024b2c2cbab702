"""``finsent label``, ``retrain``, ``models …``, ``query labels|review|drift``: the learning loop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click

from config import Settings
from finsent.clisupport import FORMAT, existing_store, initialised_store, settings_for_cli
from finsent.query import since_range
from finsent.tables import render
from learning.registry import Registry
from schemas.learning import CLI_LABELLER, ModelVersionRow


@click.command("label")
@click.argument("doc_id")
@click.option("--sentiment", type=click.Choice(["negative", "neutral", "positive"]), default=None)
@click.option("--topic", default=None, help='a topic, e.g. "Earnings" (any case)')
def label(doc_id: str, sentiment: str | None, topic: str | None) -> None:
    """Correct the model on one stored document (its id from `finsent query documents`)."""
    from learning.labels import record_label

    if sentiment is None and topic is None:
        raise click.UsageError("give --sentiment, --topic or both")
    with initialised_store(settings_for_cli()) as store:
        rows = record_label(store, doc_id, sentiment=sentiment, topic=topic, labeller=CLI_LABELLER)  # type: ignore[arg-type]
    click.echo(json.dumps([row.model_dump(mode="json") for row in rows]))


DISAGREEMENTS = click.option(
    "--disagreements", "only_disagreements", is_flag=True, help="only the disagreements (the table shows both)"
)


@click.command("labels")
@click.option("--task", type=click.Choice(["sentiment", "topic"]), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@DISAGREEMENTS
@FORMAT
def query_labels(task: str | None, limit: int, only_disagreements: bool, fmt: str) -> None:
    """People's labels (the latest of each labeller) and what the model said; then where labellers disagree."""
    from storage.learning import label_disagreements, latest_labels

    with existing_store() as store:
        rows = [] if only_disagreements else latest_labels(store, task=task, limit=limit)  # type: ignore[arg-type]
        split = label_disagreements(store, limit) if only_disagreements or fmt == "table" else []
    if not only_disagreements:
        columns = ["doc_id", "task", "label", "labeller", "labelled_at", "model_version", "predicted"]
        click.echo(render(rows, fmt, columns))
        if not split:
            return
        click.echo(f"\nlabellers disagree on {len(split)} document(s):")
    click.echo(render(split, fmt, ["doc_id", "task", "labels", "votes"]))


@click.command("review")
@click.option("--since", default="24h", show_default=True, help="how far back: 15m, 6h, 7d")
@click.option("--limit", type=click.IntRange(1, 500), default=30, show_default=True)
@click.option("--teacher", default=None,
              help="a second model (e.g. finsent-mpnet): rank by its disagreement with the stored scores")  # fmt: skip
@FORMAT
def query_review(since: str, limit: int, teacher: str | None, fmt: str) -> None:
    """What to label next: new sources and symbols, then the least confident (or, with --teacher, those the
    teacher disagrees with most), balanced across the predicted classes."""
    from storage.learning import review_candidates

    start, end = since_range(since)
    pool = limit * 4 if teacher else limit
    with existing_store() as store:
        rows = review_candidates(store, start=start, end=end, limit=pool, new_since=end - timedelta(days=7))
    columns = ["doc_id", "time", "source", "headline", "symbols", "topic", "predicted", "confidence", "why"]
    if teacher:
        from learning.review import rank_by_teacher
        from models import Classifier

        rows = rank_by_teacher(rows, Classifier.load(teacher), limit)
        columns[-1:] = ["teacher", "disagreement", "why"]
    click.echo(render([{name: row[name] for name in columns} for row in rows], fmt, columns))


@click.command("drift")
@click.option("--since", default="24h", show_default=True, help="how far back: 15m, 6h, 7d")
@FORMAT
def query_drift(since: str, fmt: str) -> None:
    """Per hour and source: predicted class mix, confidence, and PSI against the serving model's validation mix."""
    from learning.drift import drift_report

    start, end = since_range(since)
    settings = settings_for_cli()
    with existing_store(settings) as store:
        report = drift_report(store, settings.model, start=start, end=end)
    if fmt == "table":
        click.echo(f"model {report['model']}, validation mix {report['reference']} (PSI > 0.25: a large shift)")
    columns = ["hour", "source", "docs", "negatives", "neutrals", "positives", "mean_confidence",
               "low_confidence_share", "psi"]  # fmt: skip
    rows = report["rows"] if fmt == "table" else [{**row, "model": report["model"]} for row in report["rows"]]
    click.echo(render(rows, fmt, columns if fmt == "table" else [*columns, "model"]))


@click.command("retrain")
@click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="the base training corpora [FINSENT_TRAINING_DATA]")  # fmt: skip
@click.option("--min-new-labels", type=click.IntRange(min=0), default=1, show_default=True,
              help="do nothing unless this many documents were labelled since the last round")  # fmt: skip
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True)
@click.option("--tolerance", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="macro-F1 the challenger may lose on any evaluation set")  # fmt: skip
@click.option("--learning-rate", type=float, default=None, help="[5e-4 lora, 8e-5 full]")
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="only the first N rows of each base file")
@click.option("--dry-run", is_flag=True, help="train and report, but do not promote")
def retrain(data_root: Path | None, dry_run: bool, **options: object) -> None:
    """Fine-tune the active model on the base data plus people's labels; promote it only if it is better.

    Safe from cron: with fewer new labels than --min-new-labels it does nothing and exits 0.
    Prints one JSON report: decision, reason, the figures of champion and challenger.
    """
    from learning.retrain import RetrainOptions
    from learning.retrain import retrain as run_retrain
    from models.corpora import corpora

    settings = settings_for_cli()
    learning = settings.learning
    root = corpora(data_root or learning.training_data)
    with initialised_store(settings) as store:
        registry = Registry(store, learning.registry_dir)
        report = run_retrain(
            registry, root, settings.model, RetrainOptions(dry_run=dry_run, **options),  # type: ignore[arg-type]
            progress=lambda message: click.echo(f"retrain: {message}", err=True),
        )  # fmt: skip
    click.echo(json.dumps(report.to_json(), default=str))


@click.group("models")
def models_group() -> None:
    """The model registry: versions, their lineage and figures, which one is active; promote and roll back."""


def _version_row(row: ModelVersionRow, serving: str | None) -> dict[str, object]:
    decision = json.loads(row.metrics or "{}").get("decision", "")
    return {"version": row.version, "serving": "*" if row.version == serving else "", "parent": row.parent,
            "created (UTC)": f"{row.created_at:%Y-%m-%d %H:%M}", "decision": decision, "path": row.path}  # fmt: skip


@contextmanager
def _registry(settings: Settings | None = None) -> Iterator[Registry]:
    settings = settings or settings_for_cli()
    with initialised_store(settings) as store:
        yield Registry(store, settings.learning.registry_dir)


VERSION_COLUMNS = ["version", "serving", "parent", "created (UTC)", "decision", "path"]


@models_group.command("list")
@FORMAT
def models_list(fmt: str) -> None:
    """Every registered version, oldest first, and the configured model; * marks the one that serves.

    Until a version is promoted, the configured model (FINSENT_MODEL, else the shipped default) serves.
    """
    from learning.serving import configured_model

    settings = settings_for_cli()
    with _registry(settings) as registry:
        active, versions = registry.active(), registry.versions()
    fallback = None if active else configured_model(settings.classifier)
    serving = active.version if active else fallback.version if fallback else None
    rows = [_version_row(row, serving) for row in versions]
    if fallback is not None and all(row.version != fallback.version for row in versions):
        rows.append({"version": fallback.version, "serving": "*", "parent": "", "created (UTC)": None,
                     "decision": "configured", "path": str(fallback.path or fallback.name)})  # fmt: skip
    click.echo(render(rows, fmt, VERSION_COLUMNS))


@models_group.command("show")
@click.argument("version")
def models_show(version: str) -> None:
    """One version (registered, shipped by name or version, or a model directory): lineage and figures, as JSON."""
    from learning.exceptions import LearningError

    settings = settings_for_cli()
    with _registry(settings) as registry:
        try:
            row = registry.show(version)
        except LearningError:
            click.echo(json.dumps(_unregistered_model(version, settings, registry.active()), indent=2))
            return
    shown = row.model_dump(mode="json") | {"summary": json.loads(row.summary), "metrics": json.loads(row.metrics)}
    click.echo(json.dumps(shown, indent=2))


def _unregistered_model(version: str, settings: Settings, active: ModelVersionRow | None) -> dict[str, object]:
    """A shipped model or model directory that is not in the registry, as ``models show`` prints it."""
    from learning.exceptions import LearningError
    from learning.serving import configured_model, local_model

    found = local_model(version)
    if found is None or found.path is None:
        raise LearningError(f"no model version {version!r}: see `finsent models list`")
    fallback = None if active else configured_model(settings.classifier)
    metrics_file = found.path / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    figures = ("n", "accuracy", "macro_f1", "ece")
    return {
        "version": found.version,
        "name": found.name,
        "path": str(found.path),
        "registered": False,
        "serving": fallback is not None and fallback.version == found.version,
        "validation": {
            task: {name: result.get(name) for name in figures} for task, result in metrics.get("validation", {}).items()
        },
    }


@models_group.command("promote")
@click.argument("version")
@click.option("--reason", default="promoted by hand", show_default=True)
def models_promote(version: str, reason: str) -> None:
    """Make VERSION active: workers and API processes switch to it within FINSENT_MODEL_POLL_S."""
    with _registry() as registry:
        activation = registry.promote(version, reason, CLI_LABELLER)
    click.echo(json.dumps(activation.model_dump(mode="json")))


@models_group.command("rollback")
def models_rollback() -> None:
    """Make the version that was active before the current one active again."""
    with _registry() as registry:
        activation = registry.rollback(CLI_LABELLER)
    click.echo(json.dumps(activation.model_dump(mode="json")))


@models_group.command("shadow")
@click.argument("version", required=False)
@click.option("--sample", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="share of live documents the version scores beside the active model")  # fmt: skip
@click.option("--off", is_flag=True, help="stop shadow scoring")
def models_shadow(version: str | None, sample: float, off: bool) -> None:
    """Have VERSION score a sample of live documents beside the active model (see `finsent query shadow`)."""
    if off == (version is not None):
        raise click.UsageError("give a VERSION to shadow, or --off")
    with _registry() as registry:
        setting = registry.shadow(version or "", sample, CLI_LABELLER)
    click.echo(json.dumps(setting.model_dump(mode="json")))


@click.command("shadow")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@DISAGREEMENTS
@FORMAT
def query_shadow(limit: int, only_disagreements: bool, fmt: str) -> None:
    """Shadow scoring so far: agreement per challenger and champion; then the largest disagreements."""
    from storage.learning import shadow_agreement, shadow_disagreements

    with existing_store() as store:
        agreement = [] if only_disagreements else shadow_agreement(store)
        disagreements = shadow_disagreements(store, limit) if only_disagreements or fmt == "table" else []
    if not only_disagreements:
        click.echo(render(agreement, fmt, ["challenger", "champion", "docs", "sentiment_agreement",
                                           "topic_agreement", "mean_score_gap", "first_at", "last_at"]))  # fmt: skip
        if fmt != "table":
            return
    click.echo(render(disagreements, fmt, ["doc_id", "champion_says", "challenger_says", "score_gap", "headline"]))
