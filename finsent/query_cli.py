"""``finsent query …``: history from the store as a table, CSV or one JSON array."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import click

from finsent.clisupport import FORMAT, existing_store
from finsent.query import since_range
from finsent.tables import render
from schemas.api import MAX_ALERTS_PAGE, MAX_DOCUMENTS_PAGE
from schemas.durations import end_of_now, parse_span
from storage.exceptions import InvalidQuery


@click.group()
def query() -> None:
    """History from the store (works while a worker or the API runs: they share an embedded store)."""


SINCE = click.option("--since", default="24h", show_default=True, help="how far back: 15m, 6h, 7d")
SYMBOL = click.option("--symbol", default=None, help="a ticker, e.g. NVDA (any case)")
TOPIC = click.option("--topic", default=None, help='a topic, e.g. "Earnings" (any case; see `finsent query topics`)')
MIN_RELEVANCE = click.option(
    "--min-relevance",
    type=click.IntRange(0, 100),
    default=0,
    show_default=True,
    help="0-100: only documents at least this relevant to the symbol (symbols only)",
)

COUNT = click.option(
    "--count",
    type=click.Choice(["stories", "documents"]),
    default="stories",
    show_default=True,
    help="count distinct stories (a story's copies once, its mean score once) or every document",
)


@query.command(name="sentiment")
@SYMBOL
@TOPIC
@SINCE
@click.option("--interval", default="1m", show_default=True, help="bucket size: whole minutes, 1m to 1d")
@click.option(
    "--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, help="also draw a chart (.png, .svg, .pdf)"
)
@MIN_RELEVANCE
@COUNT
@FORMAT
def query_sentiment(
    symbol: str | None,
    topic: str | None,
    since: str,
    interval: str,
    plot: Path | None,
    min_relevance: int,
    count: str,
    fmt: str,
) -> None:
    """Mean score and volume over time for one symbol (the text's sentiment toward it), one topic,
    or (neither) the whole market (the documents' sentiment); volume in stories unless --count documents."""
    from finsent.query import check_plot_path, plot_sentiment
    from schemas.durations import parse_interval
    from storage.queries import SERIES_COLUMNS, STORY_SERIES_COLUMNS, fired_alerts, sentiment_series

    try:
        if plot is not None:
            check_plot_path(plot)
        step = parse_interval(interval)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    start, end = since_range(since)
    try:
        with existing_store() as store:
            rows = sentiment_series(store, symbol=symbol, topic=topic, start=start, end=end, interval_s=step,
                                    min_relevance=min_relevance, count=count)  # fmt: skip
            alerts = fired_alerts(store, symbol=symbol, topic=topic, start=start, end=end) if plot else []
    except InvalidQuery as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(render(rows, fmt, STORY_SERIES_COLUMNS if count == "stories" else SERIES_COLUMNS))
    what = symbol.upper() if symbol else topic or "the market"
    if plot is not None:
        if not rows:
            raise click.ClickException(f"nothing to plot: no documents for {what} in the last {since}")
        title = f"{what}: sentiment and volume per {interval}"
        plot_sentiment(rows, alerts, title, plot, step, start, end, volume="stories" if count == "stories" else "docs")
        click.echo(f"wrote {plot}", err=True)


@query.command(name="alerts")
@click.option("--rule", "rule_id", default=None)
@SYMBOL
@TOPIC
@SINCE
@click.option("--limit", type=click.IntRange(1, MAX_ALERTS_PAGE), default=100, show_default=True)
@click.option("--wide", is_flag=True, help="every column, headlines included (the table fits 80 columns without)")
@FORMAT
def query_alerts(
    rule_id: str | None, symbol: str | None, topic: str | None, since: str, limit: int, wide: bool, fmt: str
) -> None:
    """Alerts fired, newest first, with their Grafana delivery state."""
    from finsent.query import compact_alerts
    from storage.queries import ALERT_COLUMNS, fired_alerts

    start, end = since_range(since)
    with existing_store() as store:
        rows = fired_alerts(store, rule_id=rule_id, symbol=symbol, topic=topic, start=start, end=end, limit=limit)
    if fmt == "table" and not wide:
        click.echo(render(compact_alerts(rows), fmt))
    else:
        click.echo(render(rows, fmt, ALERT_COLUMNS))


@query.command(name="documents")
@SYMBOL
@TOPIC
@click.option("--sentiment", type=click.Choice(["negative", "neutral", "positive"]), default=None)
@SINCE
@click.option("--limit", type=click.IntRange(1, MAX_DOCUMENTS_PAGE), default=20, show_default=True)
@MIN_RELEVANCE
@FORMAT
def query_documents(
    symbol: str | None, topic: str | None, sentiment: str | None, since: str, limit: int, min_relevance: int, fmt: str
) -> None:
    """The newest documents in the range, with doc id, URL, symbols, topic, sentiment and score.

    With --symbol, also that symbol's sentiment and score (the text's toward it), whether they were
    read from its mentions or copied from the document, and the document's relevance to it.
    """
    from storage.queries import DOCUMENT_COLUMNS, SYMBOL_DOCUMENT_COLUMNS, documents_page

    start, end = since_range(since)
    try:
        with existing_store() as store:
            rows = documents_page(store, symbol=symbol, topic=topic, sentiment=sentiment, start=start, end=end,
                                  limit=limit, min_relevance=min_relevance)  # fmt: skip
    except InvalidQuery as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(render(rows, fmt, SYMBOL_DOCUMENT_COLUMNS if symbol else DOCUMENT_COLUMNS))


@query.command(name="stories")
@SYMBOL
@SINCE
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@FORMAT
def query_stories(symbol: str | None, since: str, limit: int, fmt: str) -> None:
    """Stories in the range, most copies first: first headline, first seen, copies, sources, sentiment."""
    from storage.stories import STORY_COLUMNS, top_stories

    start, end = since_range(since)
    with existing_store() as store:
        rows = top_stories(store, symbol=symbol, start=start, end=end, limit=limit)
    click.echo(render(rows, fmt, STORY_COLUMNS))


def _activity_command(kind: str) -> Callable[..., None]:
    @SINCE
    @click.option("--limit", type=click.IntRange(1, 1_000), default=100, show_default=True)
    @COUNT
    @FORMAT
    def listing(since: str, limit: int, count: str, fmt: str) -> None:
        from storage.queries import ACTIVITY_COLUMNS, STORY_ACTIVITY_COLUMNS, activity

        start, end = since_range(since)
        with existing_store() as store:
            rows = activity(store, kind, start=start, end=end, limit=limit, count=count)
        click.echo(render(rows, fmt, STORY_ACTIVITY_COLUMNS if count == "stories" else ACTIVITY_COLUMNS))

    listing.__doc__ = (
        f"{kind.capitalize()}s with documents in the range, the busiest (most stories, or --count documents) first,"
        " with their mean score."
    )
    return listing


@query.command(name="movers")
@click.option("--kind", type=click.Choice(["symbol", "topic"]), default="symbol", show_default=True)
@click.option("--window", default="1h", show_default=True, help="the recent span")
@click.option("--baseline", default="24h", show_default=True, help="the trailing span before the window")
@click.option("--min-docs", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@MIN_RELEVANCE
@COUNT
@FORMAT
def query_movers(
    kind: str, window: str, baseline: str, min_docs: int, limit: int, min_relevance: int, count: str, fmt: str
) -> None:
    """Top movers: the largest change of mean score in the window against the baseline before it
    (symbols by the text's sentiment toward each; volumes in stories unless --count documents)."""
    from storage.queries import MOVER_COLUMNS, STORY_MOVER_COLUMNS, top_movers

    try:
        window_span = timedelta(seconds=parse_span(window))
        baseline_span = timedelta(seconds=parse_span(baseline))
        end = end_of_now()
        start = end - window_span
        baseline_start = start - baseline_span
    except (ValueError, OverflowError) as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        with existing_store() as store:
            rows = top_movers(store, kind, start=start, end=end, baseline_start=baseline_start, min_docs=min_docs,
                              limit=limit, min_relevance=min_relevance, count=count)  # fmt: skip
    except InvalidQuery as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(render(rows, fmt, STORY_MOVER_COLUMNS if count == "stories" else MOVER_COLUMNS))


@query.command(name="dead-letters")
@SINCE
@click.option("--limit", type=click.IntRange(1, MAX_DOCUMENTS_PAGE), default=20, show_default=True)
@click.option("--reasons", "by_reason", is_flag=True, help="only the counts per reason")
@FORMAT
def query_dead_letters(since: str, limit: int, by_reason: bool, fmt: str) -> None:
    """Messages the pipeline refused, newest first; the table starts with the counts per reason."""
    from storage.queries import DEAD_LETTER_COLUMNS, REASON_COLUMNS, dead_letter_reasons, latest_dead_letters

    start, end = since_range(since)
    with existing_store() as store:
        reasons = dead_letter_reasons(store, start=start, end=end) if by_reason or fmt == "table" else []
        latest = [] if by_reason else latest_dead_letters(store, start=start, end=end, limit=limit)
    if by_reason or fmt == "table":
        click.echo(render(reasons, fmt, REASON_COLUMNS))
    if not by_reason:
        click.echo(render(latest, fmt, DEAD_LETTER_COLUMNS))


query.command(name="symbols")(_activity_command("symbol"))
query.command(name="topics")(_activity_command("topic"))
