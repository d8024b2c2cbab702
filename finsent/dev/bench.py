"""``finsent bench pipeline``: the model alone, the whole pipeline, its ceiling, and a naive loop, on the same texts.

- ``model_docs_per_s``: the bare classifier over the texts (a fresh process, batches of ``batch_size``),
  each text read by the model the worker's routes give it (``finsent.dev.model_alone``);
- ``e2e_docs_per_s``: a backlog of the same documents through the embedded broker, a real worker
  process, the classifier and the store, counted from the first batch's start to the last one's end;
- ``ceiling_docs_per_s``: the same with ``FINSENT_MODEL=null`` (fixed predictions, no computation);
- ``e2e_without_stories_docs_per_s``: the e2e run with ``FINSENT_STORIES_ENABLED=false``, taking turns with
  the e2e run (``STORY_PAIRS`` of each, the best of each kept: a busy host's noise only slows runs down);
  ``stories_throughput_ratio`` is e2e with stories over e2e without (the stories issue's target: ≥ 0.9);
- ``naive_docs_per_s``: consume one, classify one, insert one, over a subset of the texts;
- ``p50_ms`` / ``p99_ms``: produce → score stored (seen on ``finsent.scores``, emitted right after the
  score rows are inserted), at half the measured e2e throughput;
- ``worker_p50_ms`` / ``worker_p99_ms``: the same run as the worker measures it (``streams.delays``): each
  message's Kafka timestamp to its batch's commit, after the documents insert, so a little later;
- ``worker_peak_rss_mb``: the worker's peak resident memory;
- ``stages_us``: for the e2e and ceiling runs, the worker's mean cost per message of each stage
  (``streams.stages``), in µs of wall and of CPU time.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from config import Settings
from config.kafka import kafka_client_config
from finsent.dev.broker import EmbeddedBroker
from finsent.dev.model_alone import model_throughput, routed_texts
from finsent.dev.process import WorkerProcess, worker_env
from ingest.generator import FeedConfig, FeedGenerator
from ingest.messages import OutgoingMessage
from ingest.producer import produce
from schemas import DocumentKind, parse_document

AUTHOR_KEY = "finsent-bench"
STORY_PAIRS = 2
"""E2e runs with and without stories, taking turns (the stories' cost is a few % of noisy figures)."""
MODEL_ALONE_RUNS = 2
"""Runs of the model alone, the faster kept: one run in a fresh process read 511 docs/s on
2026-12-07 where four others that hour read 625–717, and made the efficiency 0.89 instead of 0.70."""


@dataclass(frozen=True)
class PipelineBenchOptions:
    docs: int = 5_000
    model: str | None = None
    backend: str = "auto"
    batch_size: int = 1024
    store_url: str | None = None
    latency_seconds: float = 20.0
    naive_docs: int = 300
    seed: int = 7
    progress: Callable[[str], None] = lambda message: None


def feed(docs: int, seed: int, start: datetime | None = None) -> list[OutgoingMessage]:
    """``docs`` valid generated messages (news and posts, no scripted bursts) from ``start`` (default: now);
    the same for the same seed and start."""
    config = FeedConfig(seed=seed, bad_ratio=0.0, start=start or datetime.now(UTC), spacing_s=0.01, bursts=())
    return list(FeedGenerator(config).messages(docs))


def texts_of(messages: Sequence[OutgoingMessage]) -> list[str]:
    return [parse_document(m.value, m.kind, AUTHOR_KEY.encode()).text for m in messages]


def bench_pipeline(options: PipelineBenchOptions) -> dict[str, Any]:
    """Run every measurement (several minutes for the defaults) and return the figures."""
    say = options.progress
    messages = feed(options.docs, options.seed)
    model = routed_model_throughput(messages, options)
    e2e, plain = e2e_with_and_without_stories(messages, options)
    say("ceiling (null model)")
    ceiling = run_e2e(feed(options.docs, options.seed + 1), options, "null")
    rate = max(1.0, e2e["docs_per_s"] / 2)
    say(f"latency at half load ({rate:.0f} docs/s for {options.latency_seconds:.0f} s)")
    latency = run_latency(options, rate)
    say(f"naive loop over {min(options.naive_docs, len(messages))} messages")
    naive = _in_fresh_process(naive_throughput, messages[: options.naive_docs], options.model, options.backend)
    return {
        "docs": options.docs,
        "backend": model["backend"],
        "batch_size": options.batch_size,
        "model_docs_per_s": round(model["docs_per_s"], 1),
        "e2e_docs_per_s": round(e2e["docs_per_s"], 1),
        "efficiency": round(e2e["docs_per_s"] / model["docs_per_s"], 3),
        "e2e_without_stories_docs_per_s": round(plain["docs_per_s"], 1),
        "stories_throughput_ratio": round(e2e["docs_per_s"] / plain["docs_per_s"], 3),
        "ceiling_docs_per_s": round(ceiling["docs_per_s"], 1),
        "naive_docs_per_s": round(naive, 2),
        "speedup_vs_naive": round(e2e["docs_per_s"] / naive, 1),
        "latency_rate_docs_per_s": round(rate, 1),
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "latency_samples": latency["samples"],
        "worker_p50_ms": latency["worker_delay_ms"].get("p50"),
        "worker_p99_ms": latency["worker_delay_ms"].get("p99"),
        "worker_peak_rss_mb": max(e2e["peak_rss_mb"], latency["peak_rss_mb"]),
        "stages_us": {"e2e": e2e["stages"], "e2e_without_stories": plain["stages"], "ceiling": ceiling["stages"]},
        "machine": machine(),
    }


def routed_model_throughput(messages: Sequence[OutgoingMessage], options: PipelineBenchOptions) -> dict[str, Any]:
    """The classifier alone over the messages' texts, each read by the model its route names (the
    faster of ``MODEL_ALONE_RUNS`` fresh processes per model, as e2e is the faster of its runs);
    docs/s over the time of all of them."""
    groups = routed_texts(texts_of(messages), [m.kind for m in messages], options.model)
    seconds, backends = 0.0, []
    for model, texts in groups.items():
        options.progress(f"model alone ({model or 'served model'}) over {len(texts)} texts")
        runs = [_in_fresh_process(model_throughput, model, options.backend, texts, options.batch_size)
                for _ in range(MODEL_ALONE_RUNS)]  # fmt: skip
        alone = max(runs, key=lambda run: run["docs_per_s"])
        seconds += len(texts) / alone["docs_per_s"]
        backends.append(alone["backend"])
    return {"docs_per_s": len(messages) / seconds, "backend": "+".join(dict.fromkeys(backends))}


def e2e_with_and_without_stories(
    messages: Sequence[OutgoingMessage], options: PipelineBenchOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fastest of ``STORY_PAIRS`` e2e runs with stories and of as many without, taking turns."""
    runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
    for pair in range(1, STORY_PAIRS + 1):
        for stories in (True, False):
            which = "with" if stories else "without"
            options.progress(f"end to end (backlog), {which} stories, {pair} of {STORY_PAIRS}")
            runs[stories].append(run_e2e(messages, options, options.model, stories=stories))
    with_stories, without = (max(runs[flag], key=lambda run: run["docs_per_s"]) for flag in (True, False))
    return with_stories, without


@contextmanager
def fresh_pipeline(
    options: PipelineBenchOptions, model: str | None, backlog: Sequence[OutgoingMessage] = (), stories: bool = True
) -> Iterator[tuple[str, Settings, WorkerProcess]]:
    """A new embedded broker (pre-loaded with ``backlog``), a temporary data dir and a ready worker on them;
    yields the broker's address, client settings for it, and the worker."""
    with tempfile.TemporaryDirectory(prefix="finsent-bench-") as data_dir, EmbeddedBroker() as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        if backlog:
            produce(
                backlog, kafka_client_config(settings.kafka, broker.bootstrap), settings.input_topics(), progress=False
            )
        env = worker_env(
            broker.bootstrap,
            Path(data_dir),
            f"bench-{uuid.uuid4().hex[:8]}",
            AUTHOR_KEY,
            model=model,
            backend=options.backend,
            batch_max_size=options.batch_size,
            store_url=options.store_url,
            stories=stories,
        )
        with WorkerProcess(env, Path(data_dir) / "w.log") as worker:
            worker.wait_ready(timeout_s=300)
            yield broker.bootstrap, settings, worker


def run_e2e(
    messages: Sequence[OutgoingMessage], options: PipelineBenchOptions, model: str | None, stories: bool = True
) -> dict[str, Any]:
    """Pre-load the input topics, start a worker, and time it through the backlog; its cost per stage too."""
    with fresh_pipeline(options, model, backlog=messages, stories=stories) as (_, _, worker):
        # Polled once a second: each look at the stats page counts the stored documents, and five a
        # second cost the worker a quarter of its ceiling (active_s comes from the worker, not the poll).
        stats: dict[str, Any] = worker.wait_for_stat("stored_documents", len(messages), timeout_s=3_600, poll_s=1.0)
        return {
            "docs_per_s": stats["stored_documents"] / max(stats["active_s"], 1e-6),
            "peak_rss_mb": stats["peak_rss_mb"],
            "stages": stats.get("stages", {}),
        }


def run_latency(options: PipelineBenchOptions, rate: float) -> dict[str, Any]:
    """Produce at ``rate`` for ``latency_seconds`` into a running worker; time each document to its score."""
    count = max(20, int(rate * options.latency_seconds))
    messages = feed(count, options.seed + 2)
    doc_ids = {m.key: parse_document(m.value, m.kind, AUTHOR_KEY.encode()).doc_id for m in messages}
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    with fresh_pipeline(options, options.model) as (bootstrap, settings, worker):
        stop = threading.Event()
        watcher = threading.Thread(target=_watch_scores, args=(settings, bootstrap, seen, stop), daemon=True)
        watcher.start()
        produce(
            messages,
            kafka_client_config(settings.kafka, bootstrap),
            settings.input_topics(),
            rate=rate,
            progress=False,
            on_sent=lambda m: sent.__setitem__(doc_ids[m.key], time.time()),
        )
        deadline = time.monotonic() + 60
        while len(seen.keys() & sent.keys()) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.2)
        stats = worker.stats() or {}
        stop.set()
        watcher.join(timeout=5)
    delays = sorted((seen[key] - sent[key]) * 1000 for key in sent if key in seen)
    return {
        "p50_ms": round(_quantile(delays, 0.5), 1) if delays else None,
        "p99_ms": round(_quantile(delays, 0.99), 1) if delays else None,
        "samples": len(delays),
        "worker_delay_ms": stats.get("delay_ms", {}),
        "peak_rss_mb": float(stats.get("peak_rss_mb", 0.0)),
    }


def naive_throughput(messages: Sequence[OutgoingMessage], model: str | None, backend: str) -> float:
    """Docs/s of the loop people write first: consume one message, classify it, insert it, repeat."""
    from kafka import KafkaConsumer

    from models import load_classifier
    from storage import open_store
    from streams.pipeline import BatchProcessor, IncomingMessage

    classifier = load_classifier(model, backend=backend)
    with tempfile.TemporaryDirectory(prefix="finsent-naive-") as data_dir, EmbeddedBroker() as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        produce(
            messages, kafka_client_config(settings.kafka, broker.bootstrap), settings.input_topics(), progress=False
        )
        kinds = {topic: DocumentKind(kind) for kind, topic in settings.input_topics().items()}
        with open_store(f"chdb://{data_dir}/chdb") as store:
            store.init_schema()
            processor = BatchProcessor(classifier, store.existing_documents, author_key=AUTHOR_KEY.encode())
            consumer = KafkaConsumer(
                *kinds,
                **kafka_client_config(settings.kafka, broker.bootstrap),
                group_id=f"naive-{uuid.uuid4().hex[:8]}",
                auto_offset_reset="earliest",
                max_poll_records=1,
                session_timeout_ms=6_000,
                heartbeat_interval_ms=2_000,
            )
            done, started = 0, None
            deadline = time.monotonic() + 600
            while done < len(messages) and time.monotonic() < deadline:
                for records in consumer.poll(timeout_ms=500, max_records=1).values():
                    for record in records:
                        started = started or time.perf_counter()
                        raw = IncomingMessage(record.value, record.topic, record.partition, record.offset,
                                              kinds[record.topic])  # fmt: skip
                        result = processor.process([raw])
                        store.insert_scores(result.scores)
                        store.insert_documents(result.documents)
                        consumer.commit()
                        done += 1
            consumer.close()
    return done / (time.perf_counter() - started) if started else 0.0


INT8_EXTENSIONS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
"""The CPU extensions that decide how fast int8 kernels run: a VM can move between hosts that differ in them."""


def machine() -> dict[str, Any]:
    info = cpu_info()
    flags = set(info.get("flags", "").split())
    return {
        "cpus": os.cpu_count(),
        "cpu": info.get("model name") or platform.processor() or "unknown",
        "vector_extensions": [name for name in INT8_EXTENSIONS if name in flags],
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def _watch_scores(settings: Settings, bootstrap: str, seen: dict[str, float], stop: threading.Event) -> None:
    from kafka import KafkaConsumer, TopicPartition

    # A short fetch wait: the watcher measures the worker, and must not add its own delay.
    consumer = KafkaConsumer(
        **kafka_client_config(settings.kafka, bootstrap), enable_auto_commit=False, fetch_max_wait_ms=20
    )
    # The worker creates the topic with its first score; the broker is fresh, so read it from the start.
    while not consumer.partitions_for_topic(settings.scores_topic) and not stop.is_set():
        time.sleep(0.05)
    partitions = [TopicPartition(settings.scores_topic, p) for p in range(settings.topic_partitions)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    while not stop.is_set():
        for records in consumer.poll(timeout_ms=100).values():
            now = time.time()
            for record in records:
                seen.setdefault(orjson.loads(record.value)["doc_id"], now)
    consumer.close()


def _in_fresh_process(function: Callable[..., Any], *args: Any) -> Any:
    """Run in a new interpreter: torch's threads, once started here, would slow ONNX Runtime."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def _quantile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_info(path: Path = Path("/proc/cpuinfo")) -> dict[str, str]:
    """The first processor's fields in ``/proc/cpuinfo``; empty where there is no such file."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


BATCH_SIZES = (1, 16, 64, 256)


def bench_model(
    model: str | None,
    data: dict[str, Path],
    limit: int | None,
    backends: Sequence[str] = (),
    texts_per_corpus: int = 512,
) -> dict[str, Any]:
    """Texts/s of each backend at batch 1/16/64/256 on generated tweets and articles; its validation
    macro-F1 per task, and the share of validation texts whose labels match torch fp32's."""
    from models.backends import CPU_BACKENDS, CUDA_BACKENDS, cuda_available

    messages = feed(texts_per_corpus * 4, seed=11)
    pairs = list(zip(messages, texts_of(messages), strict=True))
    corpora = {
        name: [text for message, text in pairs if message.kind is kind][:texts_per_corpus]
        for name, kind in (("tweets", DocumentKind.SOCIAL), ("articles", DocumentKind.NEWS))
    }
    names = list(backends) or list(CPU_BACKENDS) + (list(CUDA_BACKENDS[:2]) if cuda_available() else [])
    names = ["torch-fp32", *(n for n in names if n != "torch-fp32")]
    results = {name: _in_fresh_process(backend_figures, model, name, corpora, data, limit) for name in names}
    reference = results["torch-fp32"]
    for figures in results.values():
        for task in ("sentiment", "topic"):
            figures[f"{task}_f1_delta_vs_fp32"] = round(figures[f"{task}_macro_f1"] - reference[f"{task}_macro_f1"], 4)
            same = sum(a == b for a, b in zip(figures[f"{task}_labels"], reference[f"{task}_labels"], strict=True))
            figures[f"{task}_label_agreement_vs_fp32"] = round(same / len(reference[f"{task}_labels"]), 4)
    for figures in results.values():
        for task in ("sentiment", "topic"):
            del figures[f"{task}_labels"]
    return {
        "corpus": {
            name: {"texts": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts))}
            for name, texts in corpora.items()
        },
        "backends": results,
        "machine": machine(),
    }


def backend_figures(
    model: str | None, backend: str, corpora: dict[str, list[str]], data: dict[str, Path], limit: int | None
) -> dict[str, Any]:
    from models import Classifier
    from models.evaluate import evaluate_file, predicted_labels

    classifier = Classifier.load(model, backend=backend, max_batch=max(BATCH_SIZES))
    figures: dict[str, Any] = {"model_version": classifier.model_version}
    for task in ("sentiment", "topic"):
        metrics = evaluate_file(classifier, task, data[task], f"tfn-{task}", limit)  # type: ignore[arg-type]
        figures[f"{task}_macro_f1"] = round(float(metrics["macro_f1"]), 4)
        figures[f"{task}_labels"] = predicted_labels(classifier, task, data[task], limit)  # type: ignore[arg-type]
    for name, texts in corpora.items():
        for batch in BATCH_SIZES:
            sample = texts[: 128 if batch == 1 else len(texts)]
            classifier.predict(sample[:batch])
            started = time.perf_counter()
            for start in range(0, len(sample), batch):
                classifier.predict(sample[start : start + batch])
            figures[f"{name}_per_s_batch{batch}"] = round(len(sample) / (time.perf_counter() - started), 1)
    return figures


def bench_soak(options: PipelineBenchOptions, minutes: float, rate: float | None = None) -> dict[str, Any]:
    """Feed a worker at ``rate`` (default: 80 % of a measured backlog throughput) for ``minutes``;
    sample its RSS and lag (messages sent but not yet handled) every 10 s."""
    say = options.progress
    if rate is None:
        say("measuring max throughput on a 2,000-document backlog")
        rate = 0.8 * run_e2e(feed(2_000, options.seed + 5), options, options.model)["docs_per_s"]
    total = int(rate * minutes * 60)
    messages = feed(total, options.seed + 6)
    sent = [0]
    samples: list[dict[str, float]] = []
    with fresh_pipeline(options, options.model) as (bootstrap, settings, worker):
        say(f"soak: {rate:.0f} docs/s for {minutes:g} min")
        sender = threading.Thread(
            target=produce,
            args=(messages, kafka_client_config(settings.kafka, bootstrap), settings.input_topics()),
            kwargs={"rate": rate, "progress": False, "on_sent": lambda m: sent.__setitem__(0, sent[0] + 1)},
            daemon=True,
        )
        started = time.monotonic()
        sender.start()
        while sender.is_alive():
            time.sleep(10)
            stats = worker.stats() or {}
            samples.append({
                "t_s": round(time.monotonic() - started, 1),
                "rss_mb": float(stats.get("rss_mb", 0.0)),
                "lag": sent[0] - int(stats.get("messages", 0)),
            })  # fmt: skip
    warm = [s for s in samples if s["t_s"] >= 60] or samples
    first, last = warm[0]["rss_mb"], warm[-1]["rss_mb"]
    return {
        "minutes": minutes,
        "rate_docs_per_s": round(rate, 1),
        "docs": total,
        "rss_after_1_min_mb": first,
        "rss_end_mb": last,
        "rss_growth_pct": round(100 * (last - first) / first, 1) if first else None,
        "max_lag": max((s["lag"] for s in samples), default=None),
        "final_lag": samples[-1]["lag"] if samples else None,
        "samples": samples,
        "machine": machine(),
    }
