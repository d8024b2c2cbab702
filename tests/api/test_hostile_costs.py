"""Requests that bought unbounded work (issue 26), replayed: each is refused early or stopped, its work counted.

The model is the shipped student's own tokenizer and windowing (``Classifier.token_counts``
and ``predict`` run for real) over a stand-in network that returns zero logits and counts the
tokens it is given: the tests measure bytes read, tokens computed and chunks classified, never time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

import api.keys
from alerts.rules import MAX_RULES, Rule, save_rules
from api.app import ClassifierSource, create_app
from api.limits import RateLimiter
from api.routers.classify import CHUNK_TOKENS, token_chunks
from config import Settings
from models.artifact import SHIPPED_MODEL_DIR, ModelSpec, tokenizer_source
from models.classifier import Classifier, Tokenizer
from storage import Store
from tests.api.conftest import auth

CJK = ("市场今天大涨，投资者担心通胀🚀📉😭" * 100)[:781]
ASCII = ("Acme shares rallied today after the company beat estimates " * 20)[:781]
CHUNK = b"x" * 65_536


class CountingNetwork:
    """Zero logits for every window; counts the calls and the tokens it was asked to score."""

    name = "counting"

    def __init__(self, spec: ModelSpec) -> None:
        self.shapes = (len(spec.topics), len(spec.sentiments))
        self.tokens = 0

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.tokens += int(attention_mask.sum())
        rows = len(input_ids)
        return np.zeros((rows, self.shapes[0])), np.zeros((rows, self.shapes[1]))


class CountingModel:
    """The student's windowing over ``CountingNetwork``; counts the chunks ``predict`` gets and can hold the first."""

    def __init__(self, spec: ModelSpec, tokenizer: Tokenizer, on_first_chunk: Callable[[], None] = lambda: None):
        self.network = CountingNetwork(spec)
        self.classifier = Classifier(spec, tokenizer, self.network)
        self.model_version = self.classifier.model_version
        self.chunks = 0
        self._on_first_chunk = on_first_chunk

    def token_counts(self, texts: list[str]) -> list[int]:
        return self.classifier.token_counts(texts)

    def predict(self, texts: list[str]) -> list[Any]:
        self.chunks += 1
        if self.chunks == 1:
            self._on_first_chunk()
        return self.classifier.predict(texts)


@pytest.fixture(scope="module")
def student() -> tuple[ModelSpec, Tokenizer]:
    spec = ModelSpec.from_dir(SHIPPED_MODEL_DIR)
    return spec, Tokenizer(tokenizer_source(SHIPPED_MODEL_DIR, spec))


def build_app(store: Store, model: object, **overrides: object) -> FastAPI:
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    return create_app(settings.api, store, ClassifierSource(lambda: model))  # type: ignore[arg-type,return-value]


def send_body(app: FastAPI, headers: list[tuple[bytes, bytes]], chunks: Iterable[bytes]) -> tuple[int, str, int]:
    """POST /v1/classify with ``chunks`` as a chunked body, pulled by the app as a server would hand them
    over: the status, the answer and how many bytes the app pulled."""
    pending: Iterator[bytes] = iter(chunks)
    pulled, sent = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(pending, b"")
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunk)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/classify", "raw_path": b"/v1/classify", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), *headers], "client": ("10.0.0.9", 40_000),
        "server": ("testserver", 80),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body.decode(), pulled


def bearer(token: str) -> tuple[bytes, bytes]:
    return b"authorization", f"Bearer {token}".encode()


def guessed_token() -> str:
    return f"fsk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


CHUNKED = (b"transfer-encoding", b"chunked")


@pytest.mark.parametrize("headers", [[CHUNKED], [CHUNKED, bearer("fsk_not_a_key")], [CHUNKED, bearer(guessed_token())]])
def test_a_200_mb_chunked_upload_without_a_valid_key_is_cut_off_at_the_small_cap(
    api_store: Store, student, headers: list[tuple[bytes, bytes]]
) -> None:
    app = build_app(api_store, CountingModel(*student))
    status, answer, pulled = send_body(app, headers, itertools.repeat(CHUNK, 3_200))
    assert status == 413 and "over 16384 bytes without a valid API key" in answer
    assert pulled <= 16_384 + len(CHUNK)


def test_a_declared_200_mb_body_without_a_key_is_refused_before_a_byte_is_read(api_store: Store, student) -> None:
    app = build_app(api_store, CountingModel(*student))
    status, _, pulled = send_body(app, [(b"content-length", b"200000000")], itertools.repeat(CHUNK, 3_200))
    assert (status, pulled) == (413, 0)


def test_a_valid_key_gets_the_larger_cap_and_no_more(api_store: Store, student, keys: dict[str, str]) -> None:
    app = build_app(api_store, CountingModel(*student), api_max_body_bytes=1_000_000)
    status, answer, pulled = send_body(app, [CHUNKED, bearer(keys["read"])], itertools.repeat(CHUNK, 3_200))
    assert status == 413 and "over 1000000 bytes" in answer and "without" not in answer
    assert 1_000_000 < pulled <= 1_000_000 + len(CHUNK)
    texts = json.dumps({"texts": ["Acme beats estimates " * 40] * 30}).encode()  # 25 kB: past the anonymous cap
    status, answer, _ = send_body(app, [CHUNKED, bearer(keys["read"])], [texts[:20_000], texts[20_000:]])
    assert status == 200, answer


def test_a_chunked_upload_through_http_gets_413(api_store: Store, student) -> None:
    client = TestClient(build_app(api_store, CountingModel(*student)))
    answer = client.post("/v1/classify", content=itertools.repeat(CHUNK, 64))
    assert answer.status_code == 413 and "without a valid API key" in answer.text


def test_a_text_costs_at_most_its_capped_windows(student) -> None:
    spec, tokenizer = student
    model = CountingModel(spec, tokenizer)
    assert (spec.max_length, model.classifier.max_windows) == (256, 8)
    (huge,) = model.token_counts([CJK * 26])  # 20,306 characters, each a token
    assert huge == 8 * spec.max_length


def test_characters_are_not_the_measure_tokens_are(api_store: Store, student, keys: dict[str, str]) -> None:
    model = CountingModel(*student)
    client = TestClient(build_app(api_store, model))
    cjk_tokens, ascii_tokens = model.token_counts([CJK, ASCII])
    assert cjk_tokens > 3 * ascii_tokens  # the same 781 characters
    refused = client.post("/v1/classify", json={"texts": [CJK] * 256}, headers=auth(keys["read"]))
    assert refused.status_code == 413
    assert f"come to {256 * cjk_tokens} tokens" in refused.text and "at most 8192" in refused.text
    assert model.network.tokens == 0
    assert client.post("/v1/classify", json={"texts": [ASCII] * 40}, headers=auth(keys["read"])).status_code == 200
    assert client.post("/v1/classify", json={"texts": [CJK] * 40}, headers=auth(keys["read"])).status_code == 413


def test_a_keys_token_budget_is_spent_by_cjk_long_before_its_characters(
    api_store: Store, student, keys: dict[str, str]
) -> None:
    model = CountingModel(*student)
    app = build_app(api_store, model, api_key_tokens_per_min=8_192)
    app.state.finsent.tokens = RateLimiter(8_192, clock=lambda: 0.0)  # no refill between the two requests
    client = TestClient(app)
    cjk_texts = {"texts": [CJK] * 8}  # 6,248 characters, about 5,600 tokens
    assert client.post("/v1/classify", json=cjk_texts, headers=auth(keys["read"])).status_code == 200
    spent_tokens = model.network.tokens
    second = client.post("/v1/classify", json=cjk_texts, headers=auth(keys["read"]))
    assert second.status_code == 429 and "8192 tokens per minute" in second.text
    assert int(second.headers["Retry-After"]) >= 1 and model.network.tokens == spent_tokens


def test_a_client_that_hangs_up_stops_the_classification(api_store: Store, student, keys: dict[str, str]) -> None:
    in_first_chunk, release = threading.Event(), threading.Event()
    model = CountingModel(*student, on_first_chunk=lambda: (in_first_chunk.set(), release.wait(60)))
    texts = [CJK] * 8  # emoji spelt out: about 925 tokens each
    counts = model.token_counts(texts)
    assert len(token_chunks(counts, CHUNK_TOKENS)) >= 4 and sum(counts) <= Settings().api_max_request_tokens
    with served(build_app(api_store, model)) as (server, port):
        body = json.dumps({"texts": texts}).encode()
        client = socket.create_connection(("127.0.0.1", port))
        head = f"POST /v1/classify HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {keys['read']}\r\n"
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        client.sendall(head.encode() + body)
        assert in_first_chunk.wait(60), client.recv(10_000)
        client.close()
        wait_for(lambda: not server.server_state.connections)  # the server has seen the hang-up
        release.set()
        wait_for(lambda: not server.server_state.tasks)  # the request has finished
    assert model.chunks == 1  # no chunk classified after the disconnect


def test_a_neighbours_failed_logins_do_not_lock_out_a_valid_key(
    api_store: Store, student, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real_lookup = api.keys.api_key
    monkeypatch.setattr(api.keys, "api_key", lambda store, key_id: lookups.append(key_id) or real_lookup(store, key_id))
    app = build_app(api_store, CountingModel(*student))
    app.state.finsent.auth_failures = RateLimiter(30, clock=lambda: 0.0)  # the default budget, no refill
    client = TestClient(app)
    codes = [client.get("/v1/symbols", headers=auth(guessed_token())).status_code for _ in range(31)]
    assert codes == [401] * 30 + [429]
    assert client.get("/v1/symbols", headers=auth(keys["read"])).status_code == 200
    assert client.get("/v1/symbols").status_code == 429
    looked_up = len(lookups)
    assert {client.get("/v1/symbols", headers=auth(guessed_token())).status_code for _ in range(20)} == {429}
    assert len(lookups) == looked_up  # guesses from a throttled address buy no store query


@pytest.mark.parametrize(("field", "value"), [("description", "d" * 1_000_000), ("target", "N" * 10_000)])
def test_an_oversized_rule_field_is_refused(
    api_store: Store, student, keys: dict[str, str], tmp_path: Path, field: str, value: str
) -> None:
    client = TestClient(build_app(api_store, CountingModel(*student), data_dir=tmp_path))
    rule = {"id": "desk", "scope": "symbol", "target": "NVDA", "metric": "mean_score", "comparison": "<"}
    answer = client.put("/v1/rules/desk", json=rule | {"threshold": -0.5, field: value}, headers=auth(keys["admin"]))
    assert answer.status_code == 422 and field in answer.text and "at most" in answer.text
    assert not (tmp_path / "rules.yaml").exists()


def test_a_rules_file_holds_a_bounded_number_of_rules(
    api_store: Store, student, keys: dict[str, str], tmp_path: Path
) -> None:
    fields = {"scope": "all", "metric": "volume", "comparison": ">", "threshold": 100}
    save_rules(tmp_path / "rules.yaml", [Rule(id=f"r{n}", **fields) for n in range(MAX_RULES)])  # type: ignore[arg-type]
    client = TestClient(build_app(api_store, CountingModel(*student), data_dir=tmp_path))
    answer = client.put("/v1/rules/one-more", json={"id": "one-more", **fields}, headers=auth(keys["admin"]))
    assert answer.status_code == 409 and f"already {MAX_RULES} rules" in answer.text
    assert len(client.get("/v1/rules", headers=auth(keys["read"])).json()) == MAX_RULES


class served:
    """``app`` under a real uvicorn in a thread, on a free local port: yields the server and the port."""

    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> tuple[uvicorn.Server, int]:
        self.thread.start()
        wait_for(lambda: self.server.started)
        return self.server, self.sock.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def wait_for(condition: Callable[[], object], limit_s: float = 60.0) -> None:
    """Poll until ``condition`` holds (a generous limit only guards against a hang; nothing is timed)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)
