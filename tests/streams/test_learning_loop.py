"""The learning loop end to end, as an operator runs it, while a worker streams.

Label 40 documents through the API, `finsent retrain` promotes the challenger, the running worker
switches to it between batches, new rows carry the new version with nothing lost or stored twice,
and `finsent models rollback` switches back.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from finsent.dev.broker import EmbeddedBroker
from finsent.dev.process import WorkerProcess
from storage import open_store
from tests.streams.feed import start_worker
from tests.streams.test_running_service import api_server, finsent

pytestmark = pytest.mark.integration
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne")
NOUNS = ("bookings", "shipments", "orders", "sales", "deliveries")
NOW = datetime.now(UTC).replace(microsecond=0)


def news(env: dict[str, str], tmp_path: Path, name: str, headlines: list[str]) -> None:
    """Send headlines as news through `finsent replay`, as an operator would feed a file."""
    path = tmp_path / f"{name}.jsonl"
    published = (NOW - timedelta(minutes=5)).isoformat()
    rows = [{"id": f"{name}-{i}", "source": "wire", "headline": headline, "published_at": published}
            for i, headline in enumerate(headlines)]  # fmt: skip
    path.write_text("\n".join(json.dumps(row) for row in rows))
    finsent(env, "replay", str(path), "--kind", "news")


def stored(env: dict[str, str]) -> dict[str, dict]:
    """Every stored document by headline (through the worker, which holds the store)."""
    with open_store(f"chdb://{Path(env['FINSENT_DATA_DIR']).resolve() / 'chdb'}", create=False) as store:
        rows = store._query_dicts("SELECT doc_id, headline, model_version FROM documents FINAL")
    return {row["headline"]: row for row in rows}


def wait_stored(env: dict[str, str], worker: WorkerProcess, headlines: list[str], timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        found = stored(env)
        if all(headline in found for headline in headlines):
            return found
        assert worker.alive() and time.monotonic() < deadline, worker.log_tail()
        time.sleep(1)


def wait_switch(worker: WorkerProcess, to: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while f"-> {to}" not in worker.log_file.read_text():
        assert worker.alive() and time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.5)


def test_label_retrain_promote_switch_and_roll_back(
    broker: EmbeddedBroker, worker_env: dict[str, str], data_root: Path, tmp_path: Path
) -> None:
    env = {**worker_env, "FINSENT_MODEL_POLL_S": "1", "FINSENT_TRAINING_DATA": str(data_root)}
    worker = start_worker(env, tmp_path / "worker.log")
    labelled = [f"{company} {noun} rose 24% to EUR 1.5bn" for company in COMPANIES for noun in NOUNS]
    news(env, tmp_path, "labelled", labelled)
    first = wait_stored(env, worker, labelled)
    assert {first[h]["model_version"] for h in labelled} == {"tiny-test+onnx-int8"}

    with api_server(env, tmp_path / "api.log") as url:
        key = json.loads(finsent(env, "api-key", "create", "desk", "--scope", "write").splitlines()[0])["key"]
        for headline in labelled:
            answer = httpx.post(f"{url}/v1/labels", json={"doc_id": first[headline]["doc_id"], "sentiment": "positive"},
                                headers={"Authorization": f"Bearer {key}"})  # fmt: skip
            assert answer.status_code == 200, answer.text
    assert len(json.loads(finsent(env, "query", "labels", "--format", "json"))) == 40

    report = json.loads(finsent(env, "retrain", "--epochs", "3", "--learning-rate", "3e-3", "--batch-size", "8",
                                "--tolerance", "0.2"))  # fmt: skip
    assert report["decision"] == "promoted", report
    challenger = report["challenger"]
    during = [f"Acme files report {i}" for i in range(120)]
    news(env, tmp_path, "during", during)  # sent while the worker notices and loads the new version
    wait_switch(worker, challenger)
    after = [f"Globex files report {i}" for i in range(30)]
    news(env, tmp_path, "after", after)
    found = wait_stored(env, worker, during + after)
    assert {found[h]["model_version"] for h in during} <= {"tiny-test+onnx-int8", f"{challenger}+onnx-int8"}
    assert {found[h]["model_version"] for h in after} == {f"{challenger}+onnx-int8"}

    assert json.loads(finsent(env, "models", "rollback"))["version"] == "tiny-test"
    wait_switch(worker, "tiny-test")
    back = [f"Initech files report {i}" for i in range(30)]
    news(env, tmp_path, "back", back)
    found = wait_stored(env, worker, back)
    assert {found[h]["model_version"] for h in back} == {"tiny-test+onnx-int8"}
    assert len(found) == len(labelled) + len(during) + len(after) + len(back), "a document lost or extra"
    with open_store(f"chdb://{Path(env['FINSENT_DATA_DIR']).resolve() / 'chdb'}", create=False) as store:
        assert store.count_documents(final=False) == len(found), "a document stored twice"
    listed = finsent(env, "models", "list")
    assert challenger in listed and "tiny-test" in listed

    # The rolled-back challenger scores every new document beside the serving model, in the worker.
    finsent(env, "models", "shadow", challenger, "--sample", "1")
    deadline = time.monotonic() + 120
    while "shadow scoring: " + challenger not in worker.log_file.read_text():
        assert worker.alive() and time.monotonic() < deadline, worker.log_tail()
        time.sleep(0.5)
    shadowed = [f"Umbrella files report {i}" for i in range(20)]
    news(env, tmp_path, "shadowed", shadowed)
    wait_stored(env, worker, shadowed)
    while True:
        agreement = json.loads(finsent(env, "query", "shadow", "--format", "json"))
        if agreement and agreement[0]["docs"] >= len(shadowed):
            break
        assert time.monotonic() < deadline, agreement
        time.sleep(1)
    assert (agreement[0]["challenger"], agreement[0]["champion"]) == (f"{challenger}+onnx-int8", "tiny-test+onnx-int8")
    worker.stop()
    versions = Counter(row["model_version"] for row in found.values())
    print(json.dumps({"report": report, "versions": versions}))
