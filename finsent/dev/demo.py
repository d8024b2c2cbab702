"""``finsent demo``: embedded broker + a real worker process + chdb + the synthetic feed.

The demo produces the feed, watches the worker until every message is stored or
dead-lettered, stops it, and then counts what reached the store itself.
"""

from __future__ import annotations

import hashlib
import logging
import signal
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import orjson

from alerts.history import StoreHistory
from alerts.rules import load_rules, rules_file
from config import Settings
from config.files import private_dir
from config.kafka import kafka_client_config
from finsent.dev.broker import EmbeddedBroker
from finsent.dev.live import ScoreBoard, render
from finsent.dev.process import WorkerProcess
from ingest.generator import COPY_NOTE, Burst, FeedConfig, FeedGenerator
from ingest.messages import OutgoingMessage
from ingest.producer import produce
from schemas import InvalidMessage, parse_document
from schemas.alerts import AlertRecord
from storage import open_store
from storage.queries import count_score_rows_of, documents_per_symbol
from storage.stories import stories_of
from streams.stories import STORY_WINDOW

log = logging.getLogger(__name__)

BURST = Burst()
"""The scripted event of the demo feed: a negative news burst about one symbol."""
BURST_RULE = "symbol-negative-burst"
"""The default rule the burst is expected to fire."""
BURST_SYMBOLS = ("NVDA", "PLTR", "SNOW", "UBER", "SHOP", "COIN", "ABNB", "RIVN")
"""Symbols the burst may be about (see ``pick_burst``); the feed mentions none but NVDA otherwise."""


@dataclass(frozen=True)
class DemoOptions:
    docs: int = 3000
    seconds: float | None = None
    bad_ratio: float = 0.05
    rate: float = 200.0
    seed: int | None = None
    live: bool = False
    drain_timeout_s: float = 120.0


@dataclass
class _Sent:
    """What the producer sent, as the demo will reconcile it."""

    produced: int = 0
    valid_ids: list[str] = field(default_factory=list)
    invalid_digests: set[str] = field(default_factory=set)
    done: threading.Event = field(default_factory=threading.Event)
    first_at: float | None = None
    burst_first_at: float | None = None
    burst_last_at: float | None = None
    copies: int = 0
    """Copies (syndicated or reposted) of the feed's earlier headlines among the messages sent."""

    def record(self, message: OutgoingMessage, author_key: bytes) -> None:
        now = time.monotonic()
        self.first_at = self.first_at or now
        if message.note == COPY_NOTE:
            self.copies += 1
        if message.note == BURST.name:
            self.burst_first_at = self.burst_first_at or now
            self.burst_last_at = now
        self.produced += 1
        try:
            self.valid_ids.append(parse_document(message.value, message.kind, author_key).doc_id)
        except InvalidMessage:
            self.invalid_digests.add(hashlib.blake2b(message.value, digest_size=16).hexdigest())


def run_demo(settings: Settings, options: DemoOptions) -> dict[str, object]:
    """Run the demo; return the closing summary (``ok`` says whether the counts reconcile)."""
    _interrupt_on_signals()
    seed = options.seed if options.seed is not None else int(time.time())
    data_dir = settings.data_dir
    private_dir(data_dir)
    burst, burst_can_fire = pick_burst(settings)
    sent = _Sent()
    stop = threading.Event()
    author_key = settings.author_hash_key.get_secret_value().encode()
    with ExitStack() as stack:
        bootstrap = (
            settings.kafka_bootstrap or stack.enter_context(EmbeddedBroker(log_file=data_dir / "tansu.log")).bootstrap
        )
        worker = stack.enter_context(WorkerProcess(_worker_env(settings, bootstrap), data_dir / "worker.log"))
        log.warning("starting a worker (log: %s); the first run exports the model to ONNX once", worker.log_file)
        worker.wait_ready()
        board = ScoreBoard()
        watcher = _TopicWatcher(settings, bootstrap, board, sent, burst.symbol).start(stack)
        feed = _feed(options, seed, burst)
        producer = threading.Thread(
            target=_produce, daemon=True, args=(settings, bootstrap, feed, options, sent, stop, author_key)
        )
        started = time.monotonic()
        producer.start()
        finished_at = _watch(worker, board, sent, options, stop, started)
        producer.join(timeout=30)
        alert_expected = sent.burst_last_at is not None and burst_can_fire
        if alert_expected and watcher.burst_alert_at() is None:
            _wait_for(watcher.burst_alert_at, timeout_s=10)
        worker.stop()
    return _summary(settings, sent, watcher, seed, started, finished_at, alert_expected)


def _interrupt_on_signals() -> None:
    """Ctrl-C and SIGTERM both mean "stop the feed and finish cleanly" (even if SIGINT was ignored)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)


def _worker_env(settings: Settings, bootstrap: str) -> dict[str, str]:
    return {
        "FINSENT_KAFKA_BOOTSTRAP": bootstrap,
        "FINSENT_DATA_DIR": str(settings.data_dir),
        "FINSENT_KAFKA_SESSION_TIMEOUT_S": "6",
        "FINSENT_LOG_LEVEL": "INFO",
    }


def _feed(options: DemoOptions, seed: int, burst: Burst):
    total = options.docs if options.seconds is None else min(options.docs, int(options.rate * options.seconds))
    config = FeedConfig(
        seed=seed, bad_ratio=options.bad_ratio, start=datetime.now(UTC), spacing_s=1.0 / options.rate, bursts=(burst,)
    )
    return FeedGenerator(config).messages(max(total, 1))


def _produce(
    settings: Settings,
    bootstrap: str,
    feed,
    options: DemoOptions,
    sent: _Sent,
    stop: threading.Event,
    author_key: bytes,
) -> None:
    def until_stopped():
        for message in feed:
            if stop.is_set():
                return
            yield message

    try:
        produce(
            until_stopped(),
            kafka_client_config(settings.kafka, bootstrap),
            settings.input_topics(),
            rate=options.rate,
            progress=False,
            on_sent=lambda m: sent.record(m, author_key),
        )
    finally:
        sent.done.set()


class _TopicWatcher:
    """Follows finsent.scores (for the live board), finsent.deadletter (to count this run's) and finsent.alerts."""

    def __init__(self, settings: Settings, bootstrap: str, board: ScoreBoard, sent: _Sent, burst_symbol: str):
        self.settings, self.bootstrap, self.board, self.sent = settings, bootstrap, board, sent
        self.burst_symbol = burst_symbol
        self.count = 0
        self.alerts: dict[str, tuple[AlertRecord, float]] = {}
        """alert id -> (alert, when it arrived); alerts are emitted after they are stored."""
        self._stop = threading.Event()

    def start(self, stack: ExitStack) -> _TopicWatcher:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(**kafka_client_config(self.settings.kafka, self.bootstrap), enable_auto_commit=False)
        topics = (self.settings.scores_topic, self.settings.deadletter_topic, self.settings.alerts_topic)
        partitions = [TopicPartition(t, p) for t in topics for p in range(self.settings.topic_partitions)]
        consumer.assign(partitions)
        consumer.seek_to_end(*partitions)
        thread = threading.Thread(target=self._run, args=(consumer,), daemon=True)
        thread.start()
        stack.callback(consumer.close)
        stack.callback(thread.join, timeout=5)
        stack.callback(self._stop.set)
        return self

    def _run(self, consumer) -> None:
        while not self._stop.is_set():
            for tp, records in consumer.poll(timeout_ms=200).items():
                for record in records:
                    if tp.topic == self.settings.scores_topic:
                        self.board.add(record.value)
                    elif tp.topic == self.settings.alerts_topic:
                        self._alert(record.value)
                    elif self._is_ours(record.value):
                        self.count += 1

    def _alert(self, value: bytes) -> None:
        alert = AlertRecord.model_validate_json(value)
        if alert.alert_id not in self.alerts:
            self.alerts[alert.alert_id] = (alert, time.monotonic())
            self.board.add_alert(alert)

    def burst_alert_at(self) -> float | None:
        """When the alert the scripted burst should raise arrived (None if it did not)."""
        times = [
            at
            for alert, at in self.alerts.values()
            if alert.rule_id == BURST_RULE and alert.symbol == self.burst_symbol
        ]
        return min(times, default=None)

    def _is_ours(self, value: bytes) -> bool:
        from schemas import DeadLetter

        raw = DeadLetter.model_validate(orjson.loads(value)).raw
        return hashlib.blake2b(raw, digest_size=16).hexdigest() in self.sent.invalid_digests


def _watch(
    worker: WorkerProcess,
    board: ScoreBoard,
    sent: _Sent,
    options: DemoOptions,
    stop: threading.Event,
    started: float,
) -> float:
    """Refresh the view until everything sent is accounted for; returns when that happened.

    The first Ctrl-C stops the feed and lets the worker drain what was sent; a second aborts.
    """
    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True, width=None if options.live else 200)
    drain_deadline: float | None = None
    last_print = 0.0
    with Live(console=console, refresh_per_second=2, transient=False, auto_refresh=False) as live:
        while True:
            try:
                stats = worker.stats() or {}
                status = _status(stats, sent, time.monotonic() - started)
                if options.live:
                    live.update(render(board, status), refresh=True)
                elif time.monotonic() - last_print > 2:
                    console.print(" · ".join(f"{k} {v}" for k, v in status.items()))
                    last_print = time.monotonic()
                if options.seconds is not None and status["elapsed_s"] >= options.seconds:
                    stop.set()
                if not worker.alive():
                    raise RuntimeError(f"the worker died:\n{worker.log_tail()}")
                if sent.done.is_set():
                    if _handled(stats) >= sent.produced:
                        return time.monotonic()
                    drain_deadline = drain_deadline or time.monotonic() + options.drain_timeout_s
                    if time.monotonic() > drain_deadline:
                        log.error("worker did not drain within %.0fs", options.drain_timeout_s)
                        return time.monotonic()
                time.sleep(0.25)
            except KeyboardInterrupt:
                if stop.is_set():
                    raise
                console.print(
                    "stopping the feed; waiting for the worker to store what was sent (Ctrl-C again to abort)"
                )
                stop.set()


def _handled(stats: dict[str, float]) -> int:
    return int(stats.get("stored_documents", 0) + stats.get("dead_letters", 0) + stats.get("duplicates", 0))


def _status(stats: dict[str, float], sent: _Sent, elapsed: float) -> dict[str, float | int]:
    stored = stats.get("stored_documents", 0)
    return {
        "elapsed_s": round(elapsed, 1),
        "produced": sent.produced,
        "stored": stored,
        "dead_letters": stats.get("dead_letters", 0),
        "batches": stats.get("batches", 0),
        "docs/s": round(stored / max(elapsed, 1e-3), 1),
    }


def _wait_for(probe, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while probe() is None and time.monotonic() < deadline:
        time.sleep(0.1)


def _summary(
    settings: Settings,
    sent: _Sent,
    watcher: _TopicWatcher,
    seed: int,
    started: float,
    finished_at: float,
    alert_expected: bool,
) -> dict[str, object]:
    with open_store(settings.resolved_store_url) as store:
        stored = len(store.existing_documents(sent.valid_ids))
        score_rows = count_score_rows_of(store, sent.valid_ids)
        stories = stories_of(store, sent.valid_ids)
    valid = len(sent.valid_ids)
    dead_letters = watcher.count
    seconds = max(finished_at - (sent.first_at or started), 1e-3)
    burst_alert_at = watcher.burst_alert_at()
    reconciled = stored == valid and valid + dead_letters == sent.produced
    return {
        "produced": sent.produced,
        "valid": valid,
        "stored_documents": stored,
        "dead_letters": dead_letters,
        "score_rows": score_rows,
        "stories": stories,
        "copies_sent": sent.copies,
        "docs_per_s": round(stored / seconds, 1),
        "alerts": len(watcher.alerts),
        "burst_symbol": watcher.burst_symbol,
        "alert_latency_s": _alert_latency(burst_alert_at, sent.burst_last_at),
        "alert_after_burst_start_s": _alert_latency(burst_alert_at, sent.burst_first_at),
        "seed": seed,
        "ok": reconciled and (burst_alert_at is not None or not alert_expected),
    }


def pick_burst(settings: Settings) -> tuple[Burst, bool]:
    """The burst for this run, and whether its alert can be expected.

    Alert state outlives a demo: a worker restores each rule's cooldown from the stored alerts,
    an earlier run's documents still fill the rule's window, and its burst's headlines stay in
    the story index for ``STORY_WINDOW``, where this run's burst (the same templates) would be
    their copies, which a ``novel_only`` rule does not count. So the burst is about the first of
    ``BURST_SYMBOLS`` the rule has not fired for within its cooldown or the story window,
    preferring one with no documents in the rule's window: an earlier run's news about NVDA,
    minutes ago, would dilute this run's burst below the rule's threshold.
    """
    rule = load_rules(rules_file(settings.rules_file)).by_id(BURST_RULE)
    if not settings.alerts_enabled or rule is None:
        return BURST, False
    now = time.time()
    with open_store(settings.resolved_store_url) as store:
        store.init_schema()
        fired = StoreHistory(store).last_alerts("symbol", BURST_SYMBOLS)
        recent = documents_per_symbol(store, BURST_SYMBOLS, datetime.fromtimestamp(now - rule.window, UTC))
    quiet_since = now - max(rule.window, rule.cooldown, STORY_WINDOW.total_seconds())
    ready = [symbol for symbol in BURST_SYMBOLS if fired.get(symbol, {}).get(BURST_RULE, 0) < quiet_since]
    if not ready:
        log.warning(
            "rule %s fired for each of %s within its cooldown or the story window (%s): this run's burst "
            "should not alert (use a fresh FINSENT_DATA_DIR to see it fire)",
            BURST_RULE,
            ", ".join(BURST_SYMBOLS),
            STORY_WINDOW,
        )
        return BURST, False
    symbol = min(ready, key=lambda s: (recent.get(s, 0) > 0, BURST_SYMBOLS.index(s)))
    return replace(BURST, symbol=symbol), True


def _alert_latency(alert_at: float | None, sent_at: float | None) -> float | None:
    """Seconds from a burst document being sent to the burst's alert being stored; 0 if the alert came first
    (it fires as soon as enough of the burst is in); None without a burst or an alert."""
    if alert_at is None or sent_at is None:
        return None
    return round(max(0.0, alert_at - sent_at), 2)
