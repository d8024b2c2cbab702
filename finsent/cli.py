"""The ``finsent`` command: demo, worker, replay, generate, train, eval, schemas, config."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from config import Settings
from finsent.clisupport import FORMAT, FinsentGroup, existing_store, settings_for_cli
from finsent.query import since_range
from schemas.api import MAX_ALERTS_PAGE, MAX_DOCUMENTS_PAGE
from schemas.durations import end_of_now, parse_span

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ingest.messages import OutgoingMessage

DATA_HELP = "CSV (text,label) or JSONL file"


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aiokafka", "kafka", "faust", "mode", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def _emit(payload: object, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(payload))
    else:
        click.echo(json.dumps(payload, indent=2))


@click.group(cls=FinsentGroup)
@click.version_option(package_name="finsent")
@click.option("--verbose", "-v", is_flag=True, help="show tracebacks on errors (also FINSENT_LOG_LEVEL=DEBUG)")
def main(verbose: bool) -> None:
    """finsent: streaming financial sentiment (Kafka → Faust → transformers → ClickHouse)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@main.command()
@click.option("--docs", type=click.IntRange(min=1), default=3000, show_default=True, help="documents to generate")
@click.option("--seconds", type=click.FloatRange(min=1), default=None, help="stop after this long instead")
@click.option("--bad-ratio", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--rate", type=click.FloatRange(min=1), default=200.0, show_default=True, help="messages per second")
@click.option("--seed", type=int, default=None, help="generator seed (default: new each run)")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="where chdb keeps its data [./.finsent]"
)
@click.option("--live/--no-live", default=None, help="live terminal view (default: when stderr is a terminal)")
def demo(
    docs: int,
    seconds: float | None,
    bad_ratio: float,
    rate: float,
    seed: int | None,
    data_dir: Path | None,
    live: bool | None,
) -> None:
    """Run broker, worker, store and a synthetic feed together; end with one JSON line."""
    from finsent.dev.demo import DemoOptions, run_demo

    settings = settings_for_cli()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    _setup_logging("WARNING")
    options = DemoOptions(
        docs=docs,
        seconds=seconds,
        bad_ratio=bad_ratio,
        rate=rate,
        seed=seed,
        live=sys.stderr.isatty() if live is None else live,
    )
    summary = run_demo(settings, options)
    click.echo(json.dumps(summary))
    sys.exit(0 if summary.get("ok") else 1)


@main.command()
def worker() -> None:
    """Consume news and social posts, classify, store (blocks until Ctrl-C / SIGTERM)."""
    from finsent.worker import run_worker

    settings = settings_for_cli()
    _setup_logging(settings.log_level)
    run_worker(settings)


def _send_to_kafka(
    settings: Settings, messages: Iterable[OutgoingMessage], rate: float | None, total: int | None
) -> None:
    """Produce to the news/social topics with a progress bar; print the counts as JSON."""
    from config.kafka import kafka_client_config
    from ingest.producer import produce

    stats = produce(
        messages,
        kafka_client_config(settings.kafka, _bootstrap_or_fail(settings)),
        settings.input_topics(),
        rate=rate,
        total=total,
        progress=sys.stderr.isatty(),
    )
    click.echo(json.dumps(stats.__dict__))


def _bootstrap_or_fail(settings: Settings) -> str:
    if not settings.kafka_bootstrap:
        raise click.UsageError(
            "FINSENT_KAFKA_BOOTSTRAP is not set: point it at Kafka, or at the embedded "
            "broker a running `finsent worker` prints at start-up"
        )
    return settings.kafka_bootstrap


@main.command()
@click.argument("source", type=str)
@click.option("--kind", type=click.Choice(["news", "social"]), required=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None, help="default: from the extension")
@click.option("--rate", type=click.FloatRange(min=0.1), default=None, help="messages per second (default: unlimited)")
def replay(source: str, kind: str, fmt: str | None, rate: float | None) -> None:
    """Send a JSONL or CSV file (or - for stdin) to the news or social topic."""
    from ingest.replay import count_lines, read_messages
    from schemas import DocumentKind

    settings = settings_for_cli()
    document_kind = DocumentKind(kind)
    try:
        messages = read_messages(source, document_kind, fmt)
        total = None if source == "-" else count_lines(source)
    except (OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    _send_to_kafka(settings, messages, rate, total)


@main.command()
@click.option("--docs", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--bad-ratio", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--rate", type=click.FloatRange(min=0.1), default=None, help="messages per second (default: unlimited)")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="write JSONL here instead of Kafka")
def generate(docs: int, bad_ratio: float, rate: float | None, seed: int, out: Path | None) -> None:
    """Produce a synthetic feed (templated news and posts, a scripted negative burst, bad messages)."""
    from ingest.generator import FeedConfig, FeedGenerator

    generator = FeedGenerator(FeedConfig(seed=seed, bad_ratio=bad_ratio))
    if out is not None:
        with out.open("wb") as handle:
            for message in generator.messages(docs):
                handle.write(message.value.replace(b"\n", b" ") + b"\n")
        click.echo(json.dumps({"written": docs, "path": str(out)}))
        return
    _send_to_kafka(settings_for_cli(), generator.messages(docs), rate, docs)


DATA_ROOT = click.option(
    "--data-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FINSENT_TRAINING_DATA",
    default=None,
    help="folder holding the labelled corpora (see docs/models.md) [FINSENT_TRAINING_DATA]",
)


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
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_training(config: Any, resume: bool) -> None:
    from models import ModelError
    from models.report import write_report
    from models.train import train as run_training

    _setup_logging("INFO")
    try:
        result = run_training(config, progress=True, resume=resume)
        write_report(config.out_dir)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    validation = result.metrics["validation"]
    click.echo(
        json.dumps(
            {
                "out": str(config.out_dir),
                "best_epoch": result.best_epoch,
                "seconds": round(result.seconds, 1),
                "sentiment_macro_f1": validation["sentiment"]["macro_f1"],
                "topic_accuracy": validation["topic"]["accuracy"],
                "ece": validation["sentiment"]["ece"],
            }
        )
    )


@dataclass(frozen=True)
class Recipe:
    """A command's defaults: the settings its shipped model was trained with (docs/models.md)."""

    epochs: int
    lora_rank: int
    lora_learning_rate: float
    full_learning_rate: float = 8e-5

    def fill(self, options: dict[str, Any]) -> None:
        options["epochs"] = options["epochs"] or self.epochs
        options["lora_rank"] = options["lora_rank"] or self.lora_rank
        default_rate = self.lora_learning_rate if options["method"] == "lora" else self.full_learning_rate
        options["learning_rate"] = options["learning_rate"] or default_rate


TEACHER_RECIPE = Recipe(epochs=3, lora_rank=32, lora_learning_rate=3e-4)
STUDENT_RECIPE = Recipe(epochs=4, lora_rank=64, lora_learning_rate=5e-4)


def _config_from_options(out: Path, base: str, options: dict[str, Any], **extra: Any) -> Any:
    from models import ModelError
    from models.corpora import corpora
    from models.train import TrainConfig

    try:
        data = corpora(options.pop("data_root"))
        files: dict[str, Any] = {
            "sentiment_train": data.sentiment_train,
            "sentiment_val": data.sentiment_val,
            "topic_train": data.topic_train,
            "topic_val": data.topic_val,
        }
    except ModelError as exc:
        raise click.UsageError(str(exc)) from exc
    options = {k: v for k, v in options.items() if v is not None}
    return TrainConfig(out_dir=out, base_model=base, **files, **options, **extra)


@main.command()
@click.option("--base", "base", default="mpnet-base", show_default=True,
              help="minilm-l6, mpnet-base, a Hugging Face id or a local path")  # fmt: skip
@_training_options
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="continue the stopped run in this directory (its own settings are used)")  # fmt: skip
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="model directory to write")
def train(base: str, resume_dir: Path | None, out: Path | None, **options: Any) -> None:
    """Fine-tune one encoder for topic and sentiment jointly (the teacher); resumable.

    Checkpoints land in OUT/checkpoint several times an epoch; `finsent train --resume OUT`
    continues a stopped run with the same data order, seed and schedule.
    """
    from models import ModelError
    from models.train import load_config

    if resume_dir is not None:
        try:
            config = load_config(resume_dir)
        except ModelError as exc:
            raise click.UsageError(str(exc)) from exc
        _run_training(config, resume=True)
        return
    if out is None:
        raise click.UsageError("--out DIR is required (or --resume DIR)")
    TEACHER_RECIPE.fill(options)
    _run_training(_config_from_options(out, base, options), resume=True)


@main.command()
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


@main.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", type=click.Choice(["finsent-minilm", "finsent-mpnet"]), required=True)
def ship(run_dir: Path, name: str) -> None:
    """Copy a trained model (adapter as int8 rows, heads, spec, metrics, card) into models/artifacts/NAME."""
    from models import ModelError
    from models.artifact import ARTIFACTS_DIR
    from models.ship import ship_model

    try:
        files = ship_model(run_dir, ARTIFACTS_DIR / name)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    size = sum(path.stat().st_size for path in files)
    click.echo(json.dumps({"shipped": str(ARTIFACTS_DIR / name), "files": len(files), "bytes": size}))


@main.command(name="eval")
@click.option("--model", "model_ref", default=None, help="finsent-minilm, finsent-mpnet, a model dir or a hub id")
@click.option("--task", type=click.Choice(["sentiment", "topic"]), default=None, help="with --data: one file")
@click.option("--data", type=click.Path(exists=True, path_type=Path), default=None, help=DATA_HELP)
@DATA_ROOT
@click.option("--label-map", default=None, help="preset (tfn-sentiment, tfn-topic), JSON file, or 'raw=name,...'")
@click.option("--baselines/--no-baselines", default=True, show_default=True, help="VADER and Loughran-McDonald too")
@click.option("--write", is_flag=True, help="record the report in the model's metrics.json and card")
@click.option("--backend", default="auto", show_default=True)
@click.option("--device", default="auto", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None)
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
    """
    from models import Classifier, ModelError
    from models.corpora import corpora
    from models.evaluate import evaluate_file, evaluate_suite, record_evaluation

    _setup_logging("WARNING")
    if (data is None) != (task is None):
        raise click.UsageError("--data and --task go together (or neither, for the standard report)")
    try:
        classifier = Classifier.load(model_ref, device=device, backend=backend)
        if data is not None:
            result = evaluate_file(classifier, task, data, label_map, limit)  # type: ignore[arg-type]
        else:
            result = evaluate_suite(classifier, corpora(data_root).eval_sets(), baselines=baselines)
            if write:
                record_evaluation(classifier, result)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from exc
    _emit(result, fmt)


@main.group()
def schemas() -> None:
    """Wire and table contracts."""


@schemas.command(name="export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas/json"))
def schemas_export(out_dir: Path) -> None:
    """Write the JSON Schema of every message type and the ClickHouse DDL into OUT_DIR."""
    from schemas.export import export_schemas
    from storage.tables import ddl_statements

    written = export_schemas(out_dir)
    sql = out_dir / "clickhouse.sql"
    sql.write_text(";\n\n".join(ddl_statements()) + ";\n")
    written.append(sql)
    click.echo(json.dumps({"written": [str(p) for p in written]}))


@main.group()
def query() -> None:
    """History from the store (works while a worker or the API runs: they share an embedded store)."""


SINCE = click.option("--since", default="24h", show_default=True, help="how far back: 15m, 6h, 7d")
SYMBOL = click.option("--symbol", default=None, help="a ticker, e.g. NVDA (any case)")
TOPIC = click.option("--topic", default=None, help='a topic, e.g. "Earnings" (any case; see `finsent query topics`)')


@query.command(name="sentiment")
@SYMBOL
@TOPIC
@SINCE
@click.option("--interval", default="1m", show_default=True, help="bucket size: whole minutes, 1m to 1d")
@click.option(
    "--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="also draw a chart (.png, .svg, .pdf)"
)
@FORMAT
def query_sentiment(
    symbol: str | None, topic: str | None, since: str, interval: str, plot: Path | None, fmt: str
) -> None:
    """Mean score and volume over time for one symbol, one topic, or (neither) the whole market."""
    from finsent.query import check_plot_path, plot_sentiment, render
    from schemas.durations import parse_interval
    from storage.queries import SERIES_COLUMNS, fired_alerts, sentiment_series

    try:
        if plot is not None:
            check_plot_path(plot)
        step = parse_interval(interval)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    start, end = since_range(since)
    try:
        with existing_store() as store:
            rows = sentiment_series(store, symbol=symbol, topic=topic, start=start, end=end, interval_s=step)
            alerts = fired_alerts(store, symbol=symbol, topic=topic, start=start, end=end) if plot else []
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(render(rows, fmt, SERIES_COLUMNS))
    what = symbol.upper() if symbol else topic or "the market"
    if plot is not None:
        if not rows:
            raise click.ClickException(f"nothing to plot: no documents for {what} in the last {since}")
        title = f"{what}: sentiment and volume per {interval}"
        plot_sentiment(rows, alerts, title, plot, step, start, end)
        click.echo(f"wrote {plot}", err=True)


@query.command(name="alerts")
@click.option("--rule", "rule_id", default=None)
@SYMBOL
@TOPIC
@SINCE
@click.option("--limit", type=click.IntRange(1, MAX_ALERTS_PAGE), default=100, show_default=True)
@click.option("--wide", is_flag=True, help="every column, headlines included (the table fits 100 columns without)")
@FORMAT
def query_alerts(
    rule_id: str | None, symbol: str | None, topic: str | None, since: str, limit: int, wide: bool, fmt: str
) -> None:
    """Alerts fired, newest first, with their Grafana delivery state."""
    from finsent.query import compact_alerts, render
    from storage.queries import ALERT_COLUMNS, fired_alerts

    start, end = since_range(since)
    with existing_store() as store:
        rows = fired_alerts(store, rule_id=rule_id, symbol=symbol, topic=topic, start=start, end=end, limit=limit)
    if fmt == "table" and not wide:
        click.echo(render(compact_alerts(rows), fmt, width=100))
    else:
        click.echo(render(rows, fmt, ALERT_COLUMNS))


@query.command(name="documents")
@SYMBOL
@TOPIC
@click.option("--sentiment", type=click.Choice(["negative", "neutral", "positive"]), default=None)
@SINCE
@click.option("--limit", type=click.IntRange(1, MAX_DOCUMENTS_PAGE), default=20, show_default=True)
@FORMAT
def query_documents(
    symbol: str | None, topic: str | None, sentiment: str | None, since: str, limit: int, fmt: str
) -> None:
    """The newest documents in the range, with doc id, URL, symbols, topic, sentiment and score."""
    from finsent.query import render
    from storage.queries import DOCUMENT_COLUMNS, documents_page

    start, end = since_range(since)
    with existing_store() as store:
        rows = documents_page(store, symbol=symbol, topic=topic, sentiment=sentiment, start=start, end=end, limit=limit)
    click.echo(render(rows, fmt, DOCUMENT_COLUMNS))


def _activity_command(kind: str) -> Callable[..., None]:
    @SINCE
    @click.option("--limit", type=click.IntRange(1, 1_000), default=100, show_default=True)
    @FORMAT
    def listing(since: str, limit: int, fmt: str) -> None:
        from finsent.query import render
        from storage.queries import ACTIVITY_COLUMNS, activity

        start, end = since_range(since)
        with existing_store() as store:
            rows = activity(store, kind, start=start, end=end, limit=limit)
        click.echo(render(rows, fmt, ACTIVITY_COLUMNS))

    listing.__doc__ = f"{kind.capitalize()}s with documents in the range, the busiest first, with their mean score."
    return listing


@query.command(name="movers")
@click.option("--kind", type=click.Choice(["symbol", "topic"]), default="symbol", show_default=True)
@click.option("--window", default="1h", show_default=True, help="the recent span")
@click.option("--baseline", default="24h", show_default=True, help="the trailing span before the window")
@click.option("--min-docs", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@FORMAT
def query_movers(kind: str, window: str, baseline: str, min_docs: int, limit: int, fmt: str) -> None:
    """Top movers: the largest change of mean score in the window against the baseline before it."""
    from finsent.query import render
    from storage.queries import MOVER_COLUMNS, top_movers

    try:
        window_span = timedelta(seconds=parse_span(window))
        baseline_span = timedelta(seconds=parse_span(baseline))
        end = end_of_now()
        start = end - window_span
        baseline_start = start - baseline_span
    except (ValueError, OverflowError) as exc:
        raise click.UsageError(str(exc)) from exc
    with existing_store() as store:
        rows = top_movers(
            store, kind, start=start, end=end, baseline_start=baseline_start, min_docs=min_docs, limit=limit
        )
    click.echo(render(rows, fmt, MOVER_COLUMNS))


@query.command(name="dead-letters")
@SINCE
@click.option("--limit", type=click.IntRange(1, MAX_DOCUMENTS_PAGE), default=20, show_default=True)
@FORMAT
def query_dead_letters(since: str, limit: int, fmt: str) -> None:
    """Messages the pipeline refused: counts per reason, then the newest (the table format shows both)."""
    from finsent.query import render
    from storage.queries import DEAD_LETTER_COLUMNS, REASON_COLUMNS, dead_letter_reasons, latest_dead_letters

    start, end = since_range(since)
    with existing_store() as store:
        reasons = dead_letter_reasons(store, start=start, end=end)
        latest = latest_dead_letters(store, start=start, end=end, limit=limit)
    if fmt == "json":
        click.echo(json.dumps({"reasons": reasons, "latest": latest}, default=str))
    elif fmt == "csv":
        click.echo(render(latest, fmt, DEAD_LETTER_COLUMNS))
    else:
        click.echo(render(reasons, fmt, REASON_COLUMNS))
        click.echo(render(latest, fmt, DEAD_LETTER_COLUMNS))


query.command(name="symbols")(_activity_command("symbol"))
query.command(name="topics")(_activity_command("topic"))


@main.command()
@click.option("--kills", type=click.IntRange(min=0), default=5, show_default=True, help="SIGKILLs of the worker")
@click.option("--docs", type=click.IntRange(min=10), default=5_000, show_default=True)
@click.option("--rate", type=click.FloatRange(min=1), default=250.0, show_default=True, help="messages per second")
@click.option("--bad-ratio", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--model", default=None, help="model dir, HF id, or 'null' (default: the shipped model)")
@click.option("--backend", default="auto", show_default=True)
@click.option(
    "--broker",
    type=click.Choice(["embedded", "apache-kafka"]),
    default="embedded",
    show_default=True,
    help="apache-kafka: restarts rejoin one consumer group (needs `make kafka`, or --bootstrap)",
)
@click.option("--bootstrap", default=None, help="with --broker apache-kafka: a running broker (HOST:PORT)")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def chaos(fmt: str, **options: Any) -> None:
    """Stream DOCS documents while SIGKILLing the worker KILLS times; print lost and duplicated counts."""
    from finsent.dev.chaos import ChaosOptions, run_chaos

    result = run_chaos(ChaosOptions(**options), say=lambda message: click.echo(f"chaos: {message}", err=True))
    click.echo(json.dumps(result))
    if not result["ok"]:
        sys.exit(1)


@main.group()
def bench() -> None:
    """Benchmarks that print JSON (the performance figures in the README come from these)."""


@bench.command(name="model")
@click.option("--model", default=None, help="finsent-minilm, finsent-mpnet, a model dir or a hub id")
@DATA_ROOT
@click.option("--backend", "backends", multiple=True, help="repeat to pick backends (default: all available)")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="validation rows per task (default: all)")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_model_command(
    model: str | None, data_root: Path | None, backends: tuple[str, ...], limit: int | None, fmt: str
) -> None:
    """Texts/s of each backend at batch 1/16/64/256 on tweets and articles, its F1 and label agreement with fp32."""
    from finsent.dev.bench import bench_model
    from models import ModelError
    from models.corpora import corpora

    try:
        root = corpora(data_root)
        data = {"sentiment": root.sentiment_val, "topic": root.topic_val}
    except ModelError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(bench_model(model, data, limit, backends)))


@bench.command(name="windows")
@click.option("--model", default=None, help="finsent-minilm, finsent-mpnet, a model dir or a hub id")
@DATA_ROOT
@click.option("--docs", type=click.IntRange(min=2), default=40, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_windows_command(model: str | None, data_root: Path | None, docs: int, fmt: str) -> None:
    """Cost and effect of the per-document window cap, on long documents of real news sentences (newsmtsc)."""
    from finsent.dev.bench import bench_windows
    from models import ModelError
    from models.corpora import NEWSMTSC, corpora
    from models.data import read_labelled

    try:
        sentences = read_labelled(corpora(data_root).file(NEWSMTSC), {}, require_label=False).texts
    except ModelError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(json.dumps(bench_windows(model, sentences, docs)))


@bench.command(name="pipeline")
@click.option("--docs", type=click.IntRange(min=100), default=5_000, show_default=True)
@click.option("--model", default=None, help="model dir, HF id, or 'null' (default: the shipped model)")
@click.option("--backend", default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option("--store", "store_url", default=None, help="clickhouse://… (default: a fresh chdb per run)")
@click.option("--latency-seconds", type=click.FloatRange(min=5), default=20.0, show_default=True)
@click.option("--naive-docs", type=click.IntRange(min=20), default=300, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_pipeline_command(fmt: str, store_url: str | None, **options: Any) -> None:
    """Model alone vs the whole pipeline vs its ceiling (null model) vs a naive loop, plus latency and RSS."""
    from finsent.dev.bench import PipelineBenchOptions, bench_pipeline

    settings = PipelineBenchOptions(
        **options, store_url=store_url, progress=lambda message: click.echo(f"bench: {message}", err=True)
    )
    click.echo(json.dumps(bench_pipeline(settings)))


@bench.command(name="soak")
@click.option("--minutes", type=click.FloatRange(min=0.5), default=10.0, show_default=True)
@click.option("--rate", type=click.FloatRange(min=1), default=None, help="docs/s (default: 80 % of measured max)")
@click.option("--model", default=None, help="model dir, HF id, or 'null' (default: the shipped model)")
@click.option("--backend", default="auto", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_soak_command(minutes: float, rate: float | None, model: str | None, backend: str, fmt: str) -> None:
    """Run a worker at 80 % of its max throughput for MINUTES; report RSS growth and lag."""
    from finsent.dev.bench import PipelineBenchOptions, bench_soak

    options = PipelineBenchOptions(
        model=model, backend=backend, progress=lambda message: click.echo(f"bench: {message}", err=True)
    )
    click.echo(json.dumps(bench_soak(options, minutes, rate)))


@main.command()
def config() -> None:
    """Print the effective configuration (secrets masked)."""
    click.echo(json.dumps(settings_for_cli().public_view(), indent=2, default=str))


def _register_subcommands() -> None:
    from finsent.alerts_cli import alerts
    from finsent.api_cli import api, api_key
    from finsent.learning_cli import (
        label,
        models_group,
        query_drift,
        query_labels,
        query_review,
        query_shadow,
        retrain,
    )
    from finsent.topics_cli import topics

    main.add_command(alerts)
    main.add_command(api)
    main.add_command(api_key)
    main.add_command(label)
    main.add_command(retrain)
    main.add_command(models_group)
    main.add_command(topics)
    query.add_command(query_labels)
    query.add_command(query_review)
    query.add_command(query_drift)
    query.add_command(query_shadow)


_register_subcommands()

if __name__ == "__main__":
    main()
