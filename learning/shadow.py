"""Shadow scoring: a challenger scores a sample of live documents beside the model that stored them.

Set with ``finsent models shadow VERSION --sample 0.1`` (a row in ``model_shadows``, so every
worker agrees). Each worker hands its stored batches to a ``ShadowScorer``; its own thread keeps
the challenger loaded, scores the sampled documents and stores both verdicts in
``shadow_scores``. It is off the batch's path: a full queue drops work (counted), never delays
a batch, and a failure costs shadow rows, never documents.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from learning.registry import Registry
from models.background import BackgroundThread
from models.follow import Scorer
from schemas import DocumentRow
from schemas.documents import classifier_text
from schemas.learning import ShadowRow
from storage import StoreError
from storage.learning import current_shadow, insert_shadow_scores

log = logging.getLogger(__name__)


def in_sample(doc_id: str, rate: float) -> bool:
    """Whether ``doc_id`` falls in a ``rate`` share of documents: the same answer in every worker and run."""
    digest = int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big")
    return digest / 2**64 < rate


class ShadowScorer:
    """See the module docstring; ``offer`` is safe to call from the event loop."""

    def __init__(
        self, registry: Registry, load: Callable[[Path], Scorer], poll_s: float = 5.0, queue_size: int = 16
    ) -> None:
        self._registry = registry
        self._load = load
        self._poll_s = poll_s
        self._queue: queue.Queue[list[DocumentRow]] = queue.Queue(queue_size)
        self._version = ""
        self._rate = 0.0
        self._challenger: Scorer | None = None
        self._background = BackgroundThread("finsent-shadow", self._run)
        self.dropped = 0

    def offer(self, documents: Sequence[DocumentRow]) -> None:
        """Queue stored documents for shadow scoring (nothing while shadowing is off; dropped when full)."""
        if not documents or self._challenger is None:
            return
        try:
            self._queue.put_nowait(list(documents))
        except queue.Full:
            self.dropped += len(documents)

    def refresh(self) -> None:
        """Follow the shadow setting: load the version to shadow, or let it go when turned off."""
        try:
            setting = current_shadow(self._registry.store)
            version, rate = (setting.version, setting.sample_rate) if setting else ("", 0.0)
            if version == self._version:
                self._rate = rate
                return
            path = Path(self._registry.show(version).path) if version else None
        except Exception as exc:  # the store may be briefly away, or the version unknown: try again later
            log.warning("could not read the shadow setting: %s", exc)
            return
        try:
            self._challenger = self._load(path) if path is not None else None
        except Exception as exc:
            log.error("shadow version %s did not load: %s", version, exc)
            self._challenger = None
        self._version, self._rate = version, rate
        log.warning("shadow scoring: %s", f"{version} on {rate:.0%} of documents" if self._challenger else "off")

    def score(self, documents: Sequence[DocumentRow]) -> list[ShadowRow]:
        """The challenger's verdicts on the sampled ``documents`` (empty while shadowing is off)."""
        challenger = self._challenger
        sample = [doc for doc in documents if in_sample(doc.doc_id, self._rate)] if challenger else []
        if challenger is None or not sample:
            return []
        predictions = challenger.predict([classifier_text(doc.headline, doc.body) for doc in sample])
        now = datetime.now(UTC).replace(microsecond=0)
        return [
            ShadowRow(
                doc_id=doc.doc_id,
                champion=doc.model_version,
                challenger=prediction.model_version,
                champion_sentiment=doc.sentiment,
                challenger_sentiment=prediction.sentiment,
                champion_score=doc.score,
                challenger_score=prediction.score,
                champion_topic=doc.topic,
                challenger_topic=prediction.topic,
                scored_at=now,
            )
            for doc, prediction in zip(sample, predictions, strict=True)
        ]

    def start(self) -> ShadowScorer:
        self.refresh()
        self._background.start()
        return self

    def stop(self) -> None:
        self._background.stop()

    def _run(self, stopping: threading.Event) -> None:
        checked = time.monotonic()
        while not stopping.is_set():
            try:
                documents = self._queue.get(timeout=self._poll_s)
            except queue.Empty:
                documents = []
            if time.monotonic() - checked >= self._poll_s:
                self.refresh()
                checked = time.monotonic()
            try:
                rows = self.score(documents)
                if rows:
                    insert_shadow_scores(self._registry.store, rows)
            except StoreError as exc:
                log.warning("shadow scores of %d documents not stored: %s", len(documents), exc)
            except Exception:
                log.exception("shadow scoring of %d documents failed", len(documents))
