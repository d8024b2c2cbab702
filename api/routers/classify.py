"""Ad-hoc classification with the deployment's model."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ERRORS, ClassifierDep, MetricsDep, ReadKey, RouteModelsDep, SettingsDep, charge_tokens
from api.exceptions import ClientGone
from config.components import ApiSettings
from models import Prediction
from models.bases import token_cost
from models.classifier import EntityPrediction
from models.entities import SymbolExtractor
from models.labels import SENTIMENT_VALUES
from models.symbol_sentiment import (
    EntityScorer,
    SymbolMentions,
    plan_mentions,
    predict_read_by,
    symbol_sentiments,
)
from schemas.api import ClassifyRequest, ClassifyResponse, MentionOut, PredictionOut, SymbolOut

router = APIRouter(tags=["model"])

CHUNK_TOKENS = 2_048
"""Tokens classified between two checks that the client is still there (about half a CPU-second)."""
SENTIMENT_NAMES = {value: name for name, value in SENTIMENT_VALUES.items()}
Item = TypeVar("Item")
Result = TypeVar("Result")
TextItem = tuple[str, Sequence[str]]
"""A text to classify and its explicit tickers."""


@router.post("/v1/classify", responses=ERRORS)
async def classify(
    request: Request,
    body: ClassifyRequest,
    key: ReadKey,
    settings: SettingsDep,
    model: ClassifierDep,
    route_models: RouteModelsDep,
    metrics: MetricsDep,
) -> ClassifyResponse:
    """Topic and sentiment of each text, in order, and the symbols it is about: per symbol its
    mentions, the text's sentiment toward it and its relevance (see ``classify_texts``).

    With ``kind`` (and ``source``), the texts are read as the worker reads documents of that kind:
    by the model its route names (the served model's entity head reads the mentions when that model
    has none), so a stored news item and the same text classified here agree.

    Bounded cost, counted in the model's tokens (a CJK character or an emoji is a token, a
    word of English about one), each weighed by the reading model's work per token against the
    served model's (``token_weight``): at most ``max_texts`` texts of ``max_text_chars`` each and
    ``max_request_chars`` in all, and at most ``max_request_tokens`` weighed tokens once each text
    is cut to the model's capped windows (413); a per-key budget of tokens per minute (429). The
    texts are classified in chunks off the event loop, and work stops when the client disconnects.
    """
    check_texts(body.texts, settings)
    chosen = await run_in_threadpool(route_models, body.kind, body.source) or model
    weight = token_weight(chosen, model)
    counts = [count * weight for count in await run_in_threadpool(chosen.token_counts, body.texts)]
    charge_tokens(request, key, check_tokens(counts, settings, weight))
    items = list(zip(body.texts, body.tickers or [[]] * len(body.texts), strict=True))
    try:
        predictions = await predict_while_connected(
            lambda chunk: classify_texts(chosen, chunk, mention_reader=model), items, counts, request.is_disconnected
        )
    except ClientGone:
        raise HTTPException(499, "the client closed the request") from None
    metrics.classified.inc(len(predictions))
    return ClassifyResponse(model_version=chosen.model_version, predictions=predictions)


def classify_texts(
    model: EntityScorer,
    items: Sequence[TextItem],
    extractor: SymbolExtractor | None = None,
    mention_reader: EntityScorer | None = None,
) -> list[PredictionOut]:
    """Each text's prediction and symbols, from one model pass over the texts and their mentions
    (a second, of ``mention_reader``'s entity head, where ``model`` has none and it has one).

    A text's first line is read as its headline (as a stored document's text is its headline, a
    newline, then its body), which is what relevance weighs. At most ``max_symbols`` symbols per
    text (the extractor's cap) and ``MENTIONS_SCORED_PER_SYMBOL`` mentions each are read and returned.
    """
    extractor = extractor or SymbolExtractor.default()
    plans = [plan_mentions(extractor, text, tickers, _headline_end(text)) for text, tickers in items]
    spans = [(text, plan.spans) for (text, _), plan in zip(items, plans, strict=True)]
    scored = predict_read_by(model, mention_reader or model, spans)
    return [
        _prediction_out(prediction, plan, entities) for (prediction, entities), plan in zip(scored, plans, strict=True)
    ]


def token_weight(model: object, served: object) -> int:
    """How many of the budget's tokens one token read by ``model`` costs: its encoder's work per token over
    the served model's, at least 1 (the teacher on the news route weighs 8 where the student serves)."""
    return max(1, math.ceil(_token_cost(model) / _token_cost(served)))


def _token_cost(model: object) -> int:
    base = getattr(getattr(model, "spec", None), "base_model", None)
    return token_cost(base) if base is not None else 1


def _headline_end(text: str) -> int:
    newline = text.find("\n")
    return len(text) if newline < 0 else newline


def _prediction_out(
    prediction: Prediction, plan: SymbolMentions, entities: Sequence[EntityPrediction]
) -> PredictionOut:
    mentions: list[list[MentionOut]] = [[] for _ in plan.symbols]
    for owner, mention in zip(plan.owners, plan.mentions, strict=True):
        mentions[owner].append(MentionOut(start=mention.start or 0, end=mention.end or 0, kind=mention.kind.value))
    symbols = [
        SymbolOut(
            symbol=s.symbol,
            sentiment=s.sentiment,
            sentiment_label=SENTIMENT_NAMES[s.sentiment],
            score=s.score,
            source=s.source,
            relevance=s.relevance,
            mentions=found,
        )
        for s, found in zip(symbol_sentiments(plan, prediction, entities), mentions, strict=True)
    ]
    return PredictionOut(**_prediction_fields(prediction), symbols=symbols)


def check_texts(texts: Sequence[str], settings: ApiSettings) -> None:
    """413 for too many or too long texts (they would cost tokenizer time), 422 for blank ones."""
    if len(texts) > settings.max_texts:
        raise HTTPException(413, f"at most {settings.max_texts} texts per request, got {len(texts)}")
    for index, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise HTTPException(
                413, f"texts[{index}] has {len(text)} characters; the limit is {settings.max_text_chars}"
            )
        if not text.strip():
            raise HTTPException(422, f"texts[{index}] is empty or whitespace")
    total = sum(len(text) for text in texts)
    if total > settings.max_request_chars:
        raise HTTPException(413, f"{total} characters in all; a request may carry at most {settings.max_request_chars}")


def check_tokens(counts: Sequence[int], settings: ApiSettings, weight: int = 1) -> int:
    """The request's cost in (weighed) tokens, or 413 if it is over the per-request budget."""
    total = sum(counts)
    if total > settings.max_request_tokens:
        weighed = f" (each weighed {weight}× for the model this kind's route names)" if weight > 1 else ""
        raise HTTPException(
            413,
            f"these texts come to {total} tokens once cut to the model's windows{weighed}; "
            f"a request may cost at most {settings.max_request_tokens} (send fewer or shorter texts)",
        )
    return total


def token_chunks(counts: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` runs of texts of at most ``budget`` tokens each (a longer text runs alone)."""
    bounds: list[tuple[int, int]] = []
    start, total = 0, 0
    for index, count in enumerate(counts):
        if index > start and total + count > budget:
            bounds.append((start, index))
            start, total = index, 0
        total += count
    if counts:
        bounds.append((start, len(counts)))
    return bounds


async def predict_while_connected(
    predict: Callable[[list[Item]], list[Result]],
    texts: Sequence[Item],
    counts: Sequence[int],
    disconnected: Callable[[], Awaitable[bool]],
) -> list[Result]:
    """``predict`` over ``texts`` in chunks of ``CHUNK_TOKENS``, off the event loop; ClientGone once the client left."""
    predictions: list[Result] = []
    for start, end in token_chunks(counts, CHUNK_TOKENS):
        if await disconnected():
            raise ClientGone
        predictions.extend(await run_in_threadpool(predict, list(texts[start:end])))
    return predictions


def _prediction_fields(prediction: Any) -> dict[str, Any]:
    return {name: getattr(prediction, name) for name in PredictionOut.model_fields if name != "symbols"}
