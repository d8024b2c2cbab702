"""``finsent label``, ``retrain``, ``models …``, ``query labels|review|drift``: the learning loop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click

from finsent.clisupport import FORMAT, existing_store, initialised_store, settings_for_cli
from finsent.query import render, since_range
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


@click.command("labels")
@click.option("--task", type=click.Choice(["sentiment", "topic"]), default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@FORMAT
def query_labels(task: str | None, limit: int, fmt: str) -> None:
    """People's labels (the latest of each labeller), what the model said, and where labellers disagree."""
    from storage.learning import label_disagreements, latest_labels

    with existing_store() as store:
        rows = latest_labels(store, task=task, limit=limit)  # type: ignore[arg-type]
        split = label_disagreements(store, limit)
    columns = ["doc_id", "task", "label", "labeller", "labelled_at", "model_version", "predicted"]
    if fmt == "json":
        click.echo(json.dumps({"labels": rows, "disagreements": split}, default=str))
        return
    click.echo(render(rows, fmt, columns))
    if split and fmt == "table":
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
    if fmt == "json":
        click.echo(json.dumps(report, default=str))
        return
    if fmt == "table":
        click.echo(f"model {report['model']}, validation mix {report['reference']} (PSI > 0.25: a large shift)")
    columns = ["hour", "source", "docs", "negatives", "neutrals", "positives", "mean_confidence",
               "low_confidence_share", "psi"]  # fmt: skip
    click.echo(render(report["rows"], fmt, columns))


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


def _version_row(row: ModelVersionRow, active: str | None) -> dict[str, object]:
    decision = json.loads(row.metrics or "{}").get("decision", "")
    return {"version": row.version, "active": "*" if row.version == active else "", "parent": row.parent,
            "created (UTC)": f"{row.created_at:%Y-%m-%d %H:%M}", "decision": decision, "path": row.path}  # fmt: skip


@contextmanager
def _registry() -> Iterator[Registry]:
    settings = settings_for_cli()
    with initialised_store(settings) as store:
        yield Registry(store, settings.learning.registry_dir)


@models_group.command("list")
@FORMAT
def models_list(fmt: str) -> None:
    """Every registered version, oldest first; * marks the active one."""
    with _registry() as registry:
        active = registry.active()
        rows = [_version_row(row, active.version if active else None) for row in registry.versions()]
    click.echo(render(rows, fmt, ["version", "active", "parent", "created (UTC)", "decision", "path"]))


@models_group.command("show")
@click.argument("version")
def models_show(version: str) -> None:
    """One version: lineage, training data summary, figures and decision, as JSON."""
    with _registry() as registry:
        row = registry.show(version)
    shown = row.model_dump(mode="json") | {"summary": json.loads(row.summary), "metrics": json.loads(row.metrics)}
    click.echo(json.dumps(shown, indent=2))


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
@FORMAT
def query_shadow(limit: int, fmt: str) -> None:
    """Shadow scoring so far: agreement per challenger and champion, then the largest disagreements."""
    from storage.learning import shadow_agreement, shadow_disagreements

    with existing_store() as store:
        agreement, disagreements = shadow_agreement(store), shadow_disagreements(store, limit)
    if fmt == "json":
        click.echo(json.dumps({"agreement": agreement, "disagreements": disagreements}, default=str))
        return
    click.echo(render(agreement, fmt, ["challenger", "champion", "docs", "sentiment_agreement", "topic_agreement",
                                       "mean_score_gap", "first_at", "last_at"]))  # fmt: skip
    if fmt == "table":
        click.echo(render(disagreements, fmt, ["doc_id", "champion_says", "challenger_says", "score_gap", "headline"]))
