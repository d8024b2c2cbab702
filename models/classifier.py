"""``Classifier``: the one interface the stream and the API use to score text."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.artifact import ModelSpec, load_torch_model, resolve_model_dir, tokenizer_source
from models.backends import Backend, build_backend, choose_backend_name
from models.exceptions import EmptyTextError, ModelConfigError
from models.export import onnx_model_path
from models.labels import SENTIMENT_VALUES

log = logging.getLogger(__name__)

DEFAULT_TOKEN_BUDGET = 8_192
DEFAULT_MAX_BATCH = 64
CALL_COST_TOKENS = 32
"""The fixed cost of one model call, in padded tokens (about 0.6 ms of ONNX Runtime on a CPU core)."""


@dataclass(frozen=True, slots=True)
class Prediction:
    """Topic and sentiment of one text."""

    topic: str
    topic_confidence: float
    sentiment: int
    sentiment_label: str
    p_negative: float
    p_neutral: float
    p_positive: float
    score: float
    model_version: str


@dataclass(frozen=True, slots=True)
class _Chunk:
    doc: int
    ids: list[int]


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

    def chunks(self, texts: Sequence[str], max_length: int) -> list[_Chunk]:
        """Token windows of at most ``max_length`` (special tokens included) per text."""
        window = max_length - 2
        encoded = self._tok.encode_batch(list(texts), add_special_tokens=False)
        out: list[_Chunk] = []
        for doc, encoding in enumerate(encoded):
            ids = encoding.ids or [self.sep_id]
            for start in range(0, len(ids), window):
                out.append(_Chunk(doc, [self.cls_id, *ids[start : start + window], self.sep_id]))
        return out


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
        max_batch: int = DEFAULT_MAX_BATCH,
    ):
        self.spec = spec
        self.tokenizer = tokenizer
        self.backend = backend
        self.token_budget = token_budget
        self.max_batch = max_batch
        self.model_version = f"{spec.model_version}+{backend.name}"
        self._negative, self._neutral, self._positive = (
            spec.sentiments.index(label) for label in ("negative", "neutral", "positive")
        )

    @classmethod
    def load(
        cls, path_or_hf_id: str | Path | None = None, device: str = "auto", backend: str = "auto", **options: int
    ) -> Classifier:
        """Load a finsent model directory (None: the shipped default) on the best backend."""
        directory = resolve_model_dir(path_or_hf_id)
        spec = ModelSpec.from_dir(directory)
        name = choose_backend_name(backend, device, spec.default_cpu_backend)
        runtime = build_backend(
            name,
            device,
            load_torch=lambda: load_torch_model(directory, spec),
            onnx_path=lambda int8: onnx_model_path(directory, spec, int8),
        )
        log.info("loaded %s from %s on %s", spec.model_version, directory, name)
        return cls(spec, Tokenizer(tokenizer_source(directory, spec)), runtime, **options)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify texts; raises EmptyTextError naming the first empty one."""
        for index, text in enumerate(texts):
            if not text or not text.strip():
                raise EmptyTextError(f"text #{index} is empty or only whitespace; nothing to classify")
        if not texts:
            return []
        topic_probs, sentiment_probs = self.predict_probabilities(texts)
        return [self._prediction(t, s) for t, s in zip(topic_probs, sentiment_probs, strict=True)]

    def predict_probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per-text topic and sentiment probabilities (rows in input order)."""
        chunks = self.tokenizer.chunks(texts, self.spec.max_length)
        topic = np.zeros((len(texts), len(self.spec.topics)), dtype=np.float64)
        sentiment = np.zeros((len(texts), len(self.spec.sentiments)), dtype=np.float64)
        weight = np.zeros(len(texts), dtype=np.float64)
        for batch in self._batches(chunks):
            ids, mask = self._pad([chunk.ids for chunk in batch])
            topic_logits, sentiment_logits = self.backend(ids, mask)
            docs = np.array([chunk.doc for chunk in batch])
            lengths = mask.sum(axis=1).astype(np.float64)
            np.add.at(topic, docs, _softmax(topic_logits) * lengths[:, None])
            np.add.at(sentiment, docs, _softmax(sentiment_logits) * lengths[:, None])
            np.add.at(weight, docs, lengths)
        return topic / weight[:, None], sentiment / weight[:, None]

    def _batches(self, chunks: list[_Chunk]) -> list[list[_Chunk]]:
        """Length-sorted chunks cut into batches that cost the fewest padded tokens plus a fixed cost per call.

        Cutting only where a batch is full would pad a few long windows and dozens of tweets to
        the same width: a batch of 128 documents then cost four times its real tokens.
        """
        ordered = sorted(chunks, key=lambda c: len(c.ids), reverse=True)
        cuts = optimal_cuts([len(c.ids) for c in ordered], self.max_batch, self.token_budget, CALL_COST_TOKENS)
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


def optimal_cuts(lengths: Sequence[int], max_batch: int, token_budget: int, call_cost: int) -> list[int]:
    """Where to cut ``lengths`` (sorted longest first) into batches, as boundaries ``[0, ..., len]``.

    Minimises the padded tokens (a batch is as wide as its first, longest row) plus ``call_cost``
    per batch, with at most ``max_batch`` rows and ``token_budget`` padded tokens a batch (a
    single row may exceed the budget). Dynamic programming over the end of the last batch.
    """
    count = len(lengths)
    best = [0] * (count + 1)
    start_of = [0] * (count + 1)
    for end in range(1, count + 1):
        best[end] = best[end - 1] + call_cost + lengths[end - 1]
        start_of[end] = end - 1
        for start in range(end - 2, max(-1, end - 1 - max_batch), -1):
            padded = (end - start) * lengths[start]
            if padded > token_budget:
                break  # starting earlier only widens and lengthens the batch
            cost = best[start] + call_cost + padded
            if cost < best[end]:
                best[end], start_of[end] = cost, start
    cuts = [count]
    while cuts[-1] > 0:
        cuts.append(start_of[cuts[-1]])
    return cuts[::-1]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)
