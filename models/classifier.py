"""``Classifier``: the one interface the stream and the API use to score text."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from models.artifact import ModelSpec, load_torch_model, resolve_model_dir, tokenizer_source
from models.backends import Backend, build_backend, choose_backend_name, wants_cuda
from models.calibration import softmax
from models.exceptions import EmptyTextError, ModelConfigError
from models.export import onnx_model_path
from models.labels import SENTIMENT_VALUES, TASKS
from models.spans import TokenSpan, span_masks
from models.text import normalise
from models.windows import (
    CharSpan,
    checked_spans,
    cut_text,
    place_mentions,
    prepare_text,
    window_starts,
)

log = logging.getLogger(__name__)

DEFAULT_TOKEN_BUDGET = 8_192
DEFAULT_ATTENTION_BUDGET = 2**19
"""Rows × width² a batch may cost: every attention layer holds rows × heads × width² scores at once,
so 32 windows of 256 tokens (the token budget) took over 400 MB of transient memory. This allows 8
such windows (about 25 MB a tensor for 12 heads); at a post's width the token budget binds first."""
DEFAULT_MAX_WINDOWS = 8
"""Windows scored per text: the first ``max_windows - 1`` and the last (see ``Tokenizer.chunks``)."""
DEFAULT_MAX_BATCH = 64
CALL_COST_TOKENS = 32
"""The fixed cost of one model call, in padded tokens (about 0.6 ms of ONNX Runtime on a CPU core)."""


# The parts below carry no slots of their own (``__slots__ = ()``) so that a prediction may take two
# of them: its fields are the parts' in reverse order of the bases (the head first), then its own,
# which keeps the positional order ``Prediction(topic, topic_confidence, sentiment, ..., model_version)``.
@dataclass(frozen=True)
class SentimentReading:
    """Sentiment of a text, or of a text toward one mention: the class, its probabilities and score."""

    __slots__ = ()
    sentiment: int
    sentiment_label: str
    p_negative: float
    p_neutral: float
    p_positive: float
    score: float
    """``p_positive - p_negative``."""


@dataclass(frozen=True)
class _TopicPart:
    __slots__ = ()
    topic: str
    topic_confidence: float


@dataclass(frozen=True)
class _SpanPart:
    __slots__ = ()
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Prediction(SentimentReading, _TopicPart):
    """Topic and sentiment of one text."""

    model_version: str


EntitySource = Literal["mention", "document"]
"""Where an entity's sentiment comes from: the entity head read the mention, or the document's is copied."""


@dataclass(frozen=True, slots=True)
class EntityPrediction(SentimentReading, _SpanPart):
    """Sentiment toward one mention (the ``[start, end)`` characters of its text)."""

    source: EntitySource


EntityItem = tuple[str, Sequence[tuple[int, int]]]
"""A text and the character spans of its mentions."""


@dataclass(frozen=True, slots=True)
class _Chunk:
    doc: int
    ids: list[int]
    mentions: tuple[tuple[int, TokenSpan], ...] = ()
    """The mentions this window reads: (index among its text's spans, token span in ``ids``)."""


class Tokenizer:
    """A fast (Rust) tokenizer used without truncation, so long texts can be chunked."""

    def __init__(self, source: str):
        from tokenizers import Tokenizer as RustTokenizer

        path = Path(source) / "tokenizer.json"
        if path.is_file():
            self._tok = RustTokenizer.from_file(str(path))
        else:
            from transformers import AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(source).backend_tokenizer
        self._tok.no_truncation()
        self._tok.no_padding()
        specials = _special_tokens(Path(source))
        self.cls_id = self._id(specials.get("cls_token", "[CLS]"))
        self.sep_id = self._id(specials.get("sep_token", "[SEP]"))
        self.pad_id = self._id(specials.get("pad_token", "[PAD]"))

    def _id(self, token: str) -> int:
        token_id = self._tok.token_to_id(token)
        if token_id is None:
            raise ModelConfigError(f"tokenizer has no special token {token!r}")
        return token_id

    def chunks(
        self, texts: Sequence[str], max_length: int, max_windows: int | None = None, normaliser: str | None = None
    ) -> list[_Chunk]:
        """Token windows of at most ``max_length`` (special tokens included) per text.

        With ``max_windows``, a longer text is scored on its first ``max_windows - 1`` windows
        and its last one (lead paragraphs and the conclusion): its cost is bounded whatever its
        size, and the text is cut before tokenising for the same reason.
        """
        window = max_length - 2
        prepared = [normalise(text, normaliser) or text for text in texts]
        if max_windows is not None:
            prepared = [cut_text(text, window, max_windows) for text in prepared]
        encoded = self._tok.encode_batch(prepared, add_special_tokens=False)
        out: list[_Chunk] = []
        for doc, encoding in enumerate(encoded):
            starts = window_starts(len(encoding.ids), window, max_windows)
            out.extend(_Chunk(doc, self._row(encoding.ids, start, window)) for start in starts)
        return out

    def chunks_with_mentions(
        self,
        items: Sequence[tuple[str, Sequence[CharSpan]]],
        max_length: int,
        max_windows: int | None,
        normaliser: str | None,
    ) -> list[_Chunk]:
        """The windows ``chunks`` gives for the items' texts, each with the mentions it reads (``models.windows``)."""
        window = max_length - 2
        prepared = [prepare_text(text, spans, normaliser, window, max_windows) for text, spans in items]
        encoded = self._tok.encode_batch([p.text for p in prepared], add_special_tokens=False)
        out: list[_Chunk] = []
        for doc, (encoding, text) in enumerate(zip(encoded, prepared, strict=True)):
            starts = window_starts(len(encoding.ids), window, max_windows)
            placed = place_mentions(encoding.offsets, text.spans, starts, window)
            out.extend(
                _Chunk(doc, self._row(encoding.ids, start, window), tuple(mentions))
                for start, mentions in zip(starts, placed, strict=True)
            )
        return out

    def _row(self, ids: list[int], start: int, window: int) -> list[int]:
        """The window of ``ids`` from ``start`` between the special tokens (an empty text: one separator)."""
        return [self.cls_id, *(ids or [self.sep_id])[start : start + window], self.sep_id]


def _special_tokens(source: Path) -> dict[str, str]:
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = source / name
        if path.is_file():
            raw = json.loads(path.read_text())
            return {
                k: (v["content"] if isinstance(v, dict) else v)
                for k, v in raw.items()
                if k.endswith("_token") and isinstance(v, (str, dict))
            }
    return {}


class Classifier:
    """Scores texts with one encoder pass for both topic and sentiment.

    Texts are split into token windows, sorted by length, packed into batches under a token
    budget, and the window probabilities are averaged per text (weighted by window length).
    Results come back in input order.
    """

    def __init__(
        self,
        spec: ModelSpec,
        tokenizer: Tokenizer,
        backend: Backend,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        attention_budget: int = DEFAULT_ATTENTION_BUDGET,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_windows: int = DEFAULT_MAX_WINDOWS,
        directory: Path | None = None,
    ):
        if max_windows < 1:
            raise ModelConfigError(f"max_windows must be at least 1, not {max_windows}")
        self.spec = spec
        self.tokenizer = tokenizer
        self.backend = backend
        self.token_budget = token_budget
        self.attention_budget = attention_budget
        self.max_batch = max_batch
        self.max_windows = max_windows
        self.directory = directory
        self._temperature = {task: float(spec.temperatures.get(task, 1.0)) for task in TASKS}
        self._entity_temperature = float(spec.temperatures.get("entity", 1.0))
        self.model_version = f"{spec.model_version}+{backend.name}"
        self._negative, self._neutral, self._positive = (
            spec.sentiments.index(label) for label in ("negative", "neutral", "positive")
        )

    @classmethod
    def load(
        cls, path_or_hf_id: str | Path | None = None, device: str = "auto", backend: str = "auto", **options: int
    ) -> Classifier:
        """Load a model (a shipped name, a directory or a hub id; None: the device's default) on the best backend."""
        on_cuda = backend.startswith("cuda") or (backend == "auto" and wants_cuda(device))
        directory = resolve_model_dir(path_or_hf_id, on_cuda)
        spec = ModelSpec.from_dir(directory)
        name = choose_backend_name(backend, device, spec.default_cpu_backend)
        runtime = build_backend(
            name,
            device,
            load_torch=lambda: load_torch_model(directory, spec),
            onnx_path=lambda int8: onnx_model_path(directory, spec, int8),
        )
        log.info("loaded %s from %s on %s", spec.model_version, directory, name)
        return cls(spec, Tokenizer(tokenizer_source(directory, spec)), runtime, directory=directory, **options)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify texts; raises EmptyTextError naming the first empty one."""
        _check_texts(texts)
        if not texts:
            return []
        topic_probs, sentiment_probs = self.predict_probabilities(texts)
        return [self._prediction(t, s) for t, s in zip(topic_probs, sentiment_probs, strict=True)]

    def predict_entities(self, items: Sequence[EntityItem]) -> list[list[EntityPrediction]]:
        """Per item, the sentiment toward each of its spans, in span order."""
        return [entities for _, entities in self.predict_with_entities(items)]

    def predict_with_entities(self, items: Sequence[EntityItem]) -> list[tuple[Prediction, list[EntityPrediction]]]:
        """Per item its document prediction (as ``predict`` gives it) and the sentiment toward each span, in one pass.

        The entity head reads each of the first ``MAX_MENTIONS_PER_TEXT`` spans in the scored window
        that holds it (``models.windows``). A span past that cap, beyond the scored windows, without
        tokens or inside a removed link gets the document's sentiment (``source="document"``), as
        does every span of a model without an entity head. Raises EmptyTextError for an empty text
        and SpanError for a span that is not ``0 <= start <= end <= len(text)``.
        """
        _check_texts([text for text, _ in items])
        checked = [(text, checked_spans(index, text, spans)) for index, (text, spans) in enumerate(items)]
        if not checked:
            return []
        if not self.spec.entity_head:
            predictions = self.predict([text for text, _ in checked])
            return [
                (doc, [copied_entity(doc, start, end) for start, end in spans])
                for doc, (_, spans) in zip(predictions, checked, strict=True)
            ]
        chunks = self.tokenizer.chunks_with_mentions(
            checked, self.spec.max_length, self.max_windows, self.spec.text_normaliser
        )
        topic_probs, sentiment_probs, read = self._score(chunks, len(checked))
        out: list[tuple[Prediction, list[EntityPrediction]]] = []
        for doc_index, (_, spans) in enumerate(checked):
            doc = self._prediction(topic_probs[doc_index], sentiment_probs[doc_index])
            entities = [
                self._entity(read[doc_index, k], start, end)
                if (doc_index, k) in read
                else copied_entity(doc, start, end)
                for k, (start, end) in enumerate(spans)
            ]
            out.append((doc, entities))
        return out

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text costs to score: its capped windows' tokens, special tokens included.

        The measure of work the API budgets (characters are not: a CJK or emoji character is a token).
        """
        counts = [0] * len(texts)
        for chunk in self.tokenizer.chunks(texts, self.spec.max_length, self.max_windows, self.spec.text_normaliser):
            counts[chunk.doc] += len(chunk.ids)
        return counts

    def predict_probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per-text topic and sentiment probabilities (rows in input order)."""
        chunks = self.tokenizer.chunks(texts, self.spec.max_length, self.max_windows, self.spec.text_normaliser)
        topic, sentiment, _ = self._score(chunks, len(texts))
        return topic, sentiment

    def _score(
        self, chunks: list[_Chunk], count: int
    ) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], np.ndarray]]:
        """Topic and sentiment probabilities of ``count`` texts from their chunks, and the entity probabilities
        of the mentions the chunks carry, by (text, mention index).

        A text's probabilities are its windows' averaged by window length. Batches whose chunks
        carry no mention take the plain path, so texts without mentions cost what ``predict`` costs.
        """
        topic = np.zeros((count, len(self.spec.topics)), dtype=np.float64)
        sentiment = np.zeros((count, len(self.spec.sentiments)), dtype=np.float64)
        weight = np.zeros(count, dtype=np.float64)
        read: dict[tuple[int, int], np.ndarray] = {}
        for batch in self._batches(chunks):
            ids, mask = self._pad([chunk.ids for chunk in batch])
            lengths = mask.sum(axis=1)
            if any(chunk.mentions for chunk in batch):
                spans = [[span for _, span in chunk.mentions] for chunk in batch]
                mention, context = span_masks(spans, lengths.tolist(), ids.shape[1])
                topic_logits, sentiment_logits, entity_logits = self.backend.with_entities(ids, mask, mention, context)
                read.update(self._entity_probabilities(batch, entity_logits))
            else:
                topic_logits, sentiment_logits = self.backend(ids, mask)
            docs = np.array([chunk.doc for chunk in batch])
            weights = lengths.astype(np.float64)[:, None]
            np.add.at(topic, docs, softmax(topic_logits, self._temperature["topic"]) * weights)
            np.add.at(sentiment, docs, softmax(sentiment_logits, self._temperature["sentiment"]) * weights)
            np.add.at(weight, docs, lengths.astype(np.float64))
        return topic / weight[:, None], sentiment / weight[:, None], read

    def _entity_probabilities(
        self, batch: list[_Chunk], logits: np.ndarray
    ) -> Iterator[tuple[tuple[int, int], np.ndarray]]:
        """Each mention's sentiment probabilities (the ``entity`` temperature applied) by (text, mention index)."""
        rows, slots, classes = logits.shape
        probs = softmax(logits.reshape(rows * slots, classes), self._entity_temperature).reshape(logits.shape)
        for row, chunk in enumerate(batch):
            for slot, (index, _) in enumerate(chunk.mentions):
                yield (chunk.doc, index), probs[row, slot]

    def _batches(self, chunks: list[_Chunk]) -> list[list[_Chunk]]:
        """Length-sorted chunks cut into batches that cost the fewest padded tokens plus a fixed cost per call.

        Cutting only where a batch is full would pad a few long windows and dozens of tweets to
        the same width: a batch of 128 documents then cost four times its real tokens.
        """
        ordered = sorted(chunks, key=lambda c: len(c.ids), reverse=True)
        lengths = [len(c.ids) for c in ordered]
        cuts = optimal_cuts(lengths, self.max_batch, self.token_budget, CALL_COST_TOKENS, self.attention_budget)
        return [ordered[start:end] for start, end in itertools.pairwise(cuts)]

    def _pad(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.tokenizer.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        return ids, mask

    def _prediction(self, topic_probs: np.ndarray, sentiment_probs: np.ndarray) -> Prediction:
        topic_index = int(topic_probs.argmax())
        sentiment_index = int(sentiment_probs.argmax())
        label = self.spec.sentiments[sentiment_index]
        p_neg = float(sentiment_probs[self._negative])
        p_pos = float(sentiment_probs[self._positive])
        return Prediction(
            topic=self.spec.topics[topic_index],
            topic_confidence=float(topic_probs[topic_index]),
            sentiment=SENTIMENT_VALUES[label],
            sentiment_label=label,
            p_negative=p_neg,
            p_neutral=float(sentiment_probs[self._neutral]),
            p_positive=p_pos,
            score=p_pos - p_neg,
            model_version=self.model_version,
        )

    def _entity(self, probs: np.ndarray, start: int, end: int) -> EntityPrediction:
        label = self.spec.sentiments[int(probs.argmax())]
        p_neg, p_pos = float(probs[self._negative]), float(probs[self._positive])
        neutral = float(probs[self._neutral])
        return EntityPrediction(
            start, end, SENTIMENT_VALUES[label], label, p_neg, neutral, p_pos, p_pos - p_neg, "mention"
        )


def _check_texts(texts: Sequence[str]) -> None:
    for index, text in enumerate(texts):
        if not text or not text.strip():
            raise EmptyTextError(f"text #{index} is empty or only whitespace; nothing to classify")


def copied_entity(doc: Prediction, start: int, end: int) -> EntityPrediction:
    """The document's sentiment given to a span it has no reading of its own for."""
    return EntityPrediction(
        start, end, doc.sentiment, doc.sentiment_label, doc.p_negative, doc.p_neutral, doc.p_positive, doc.score,
        "document",
    )  # fmt: skip


def optimal_cuts(
    lengths: Sequence[int], max_batch: int, token_budget: int, call_cost: int, attention_budget: int | None = None
) -> list[int]:
    """Where to cut ``lengths`` (sorted longest first) into batches, as boundaries ``[0, ..., len]``.

    Minimises the padded tokens (a batch is as wide as its first, longest row) plus ``call_cost``
    per batch, with at most ``max_batch`` rows, ``token_budget`` padded tokens and (when given)
    ``attention_budget`` rows × width² a batch (a single row may exceed the budgets). Dynamic
    programming over the end of the last batch.
    """
    count = len(lengths)
    best = [0] * (count + 1)
    start_of = [0] * (count + 1)
    for end in range(1, count + 1):
        best[end] = best[end - 1] + call_cost + lengths[end - 1]
        start_of[end] = end - 1
        for start in range(end - 2, max(-1, end - 1 - max_batch), -1):
            padded = (end - start) * lengths[start]
            if padded > token_budget or (attention_budget is not None and padded * lengths[start] > attention_budget):
                break  # starting earlier only widens and lengthens the batch
            cost = best[start] + call_cost + padded
            if cost < best[end]:
                best[end], start_of[end] = cost, start
    cuts = [count]
    while cuts[-1] > 0:
        cuts.append(start_of[cuts[-1]])
    return cuts[::-1]
