"""``finsent chaos``: stream documents while killing the worker with SIGKILL, then count what was stored.

The worker is killed ``kills`` times at random moments once it is consuming (never during its
first group join: the embedded broker cannot recover a group whose member vanishes then), and
restarted each time. At the end the store must hold every valid document exactly once:

- ``lost``: valid documents not stored;
- ``duplicates``: documents the per-minute rollups counted more than once (what a dashboard would
  show twice), plus raw ``documents`` rows beyond one per id that a merge has not yet collapsed
  are reported apart as ``raw_extra_rows`` (harmless: readers use FINAL);
- ``max_recovery_s``: the longest time from a restart to the new worker storing its first batch.

On the embedded broker each restarted worker joins a new consumer group (see ``_start``), so
recovery replays the topics from the start; the single-group restart with committed offsets is
covered by ``tests/streams/test_worker_integration.py`` (one kill) and, on real Kafka, by the
same code path.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config import Settings
from config.kafka import kafka_client_config
from finsent.dev.broker import EmbeddedBroker
from finsent.dev.process import WorkerProcess, worker_env
from ingest.generator import FeedConfig, FeedGenerator
from ingest.producer import produce
from schemas import InvalidMessage, parse_document
from storage import open_store
from storage.queries import rollup_document_count

AUTHOR_KEY = "finsent-chaos"
SESSION_TIMEOUT_S = 6


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


def run_chaos(options: ChaosOptions, say: Any = lambda message: None) -> dict[str, Any]:
    """Run the experiment; the result's ``ok`` is true when nothing was lost or double-counted."""
    rng = random.Random(options.seed)
    config = FeedConfig(seed=options.seed, bad_ratio=options.bad_ratio, start=datetime.now(UTC), bursts=())
    messages = list(FeedGenerator(config).messages(options.docs))
    valid_ids = _valid_ids(messages)
    with tempfile.TemporaryDirectory(prefix="finsent-chaos-") as scratch, EmbeddedBroker() as broker:
        data_dir = options.data_dir or Path(scratch)
        env = worker_env(
            broker.bootstrap,
            data_dir,
            f"chaos-{uuid.uuid4().hex[:8]}",
            AUTHOR_KEY,
            model=options.model,
            backend=options.backend,
            session_timeout_s=SESSION_TIMEOUT_S,
        )
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        sender = threading.Thread(
            target=produce,
            args=(messages, kafka_client_config(settings.kafka, broker.bootstrap), settings.input_topics()),
            kwargs={"rate": options.rate, "progress": False},
            daemon=True,
        )
        recoveries: list[float] = []
        worker = _start(env, data_dir, 0)
        sender.start()
        for kill in range(options.kills):
            _wait_for_progress(worker)
            time.sleep(rng.uniform(0.5, 3.0))
            say(f"kill {kill + 1}/{options.kills}: SIGKILL worker {worker.pid}")
            worker.kill()
            restarted = time.monotonic()
            worker = _start(env, data_dir, kill + 1)
            _wait_for_progress(worker)
            recoveries.append(time.monotonic() - restarted)
        sender.join()
        say("feed sent; waiting for the last worker to drain")
        # The last worker's group is new, so it reads every message: drained once it has handled them all.
        worker.wait_for_stat("messages", len(messages), options.drain_timeout_s, poll_s=0.5)
        worker.stop()
        counts = _count(Settings(data_dir=data_dir).resolved_store_url, valid_ids)
    lost = len(valid_ids) - counts["stored_distinct"]
    duplicates = counts["rollup_docs"] - counts["stored_distinct"]
    return {
        "produced": len(messages),
        "valid": len(valid_ids),
        "kills": options.kills,
        "stored_distinct": counts["stored_distinct"],
        "stored_rows_final": counts["stored_rows_final"],
        "raw_extra_rows": counts["raw_rows"] - counts["stored_distinct"],
        "lost": lost,
        "duplicates": duplicates,
        "max_recovery_s": round(max(recoveries, default=0.0), 2),
        "group_per_restart": True,
        "ok": lost == 0 and duplicates == 0 and counts["stored_rows_final"] == len(valid_ids),
    }


def _valid_ids(messages: list[Any]) -> list[str]:
    ids = []
    for message in messages:
        with contextlib.suppress(InvalidMessage):
            ids.append(parse_document(message.value, message.kind, AUTHOR_KEY.encode()).doc_id)
    return ids


def _start(env: dict[str, str], data_dir: Path, generation: int) -> WorkerProcess:
    # A new consumer group per restart: the embedded broker (tansu) stops assigning a group after a
    # second member dies in it. The new group reads the topics from the start, so every message is
    # consumed again and the store's dedupe, not the committed offsets, keeps documents single.
    group = f"{env['FINSENT_CONSUMER_GROUP']}-{generation}"
    worker = WorkerProcess(env | {"FINSENT_CONSUMER_GROUP": group}, data_dir / f"worker-{generation}.log").start()
    worker.wait_ready(timeout_s=300)
    return worker


def _wait_for_progress(worker: WorkerProcess) -> None:
    """Until this worker has handled a batch (a batch of duplicates stores nothing, so count batches)."""
    worker.wait_for_stat("batches", 1, timeout_s=300, poll_s=0.1)


def _count(store_url: str, valid_ids: list[str]) -> dict[str, int]:
    with open_store(store_url) as store:
        return {
            "stored_distinct": len(store.existing_documents(valid_ids)),
            "stored_rows_final": store.count_documents(final=True),
            "raw_rows": store.count_documents(final=False),
            "rollup_docs": rollup_document_count(store),
        }
