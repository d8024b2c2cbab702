"""What the CLI lists and shows agrees with what runs: JSON arrays, no ``None``, the serving model, unknown keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsent.cli import main
from models.artifact import SHIPPED_MODEL_DIR, STUDENT, ModelSpec
from schemas import DocumentRow
from schemas.records import DeadLetterRow
from storage import open_store

pytestmark = pytest.mark.integration


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A chdb store in ``tmp_path`` holding one fresh document of NVDA and two dead letters."""
    for name in ("FINSENT_STORE_URL", "FINSENT_MODEL", "FINSENT_MODEL_REGISTRY_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FINSENT_DEVICE", "cpu")
    now = datetime.now(UTC).replace(microsecond=0)
    document = DocumentRow(doc_id="news:x:[/]d1", kind="news", source="wire", event_time=now - timedelta(minutes=5),
                           ingested_at=now, headline="Nvidia [bold]slides[/] :x:", body="", url="", author_hash="",
                           symbols=["NVDA"], content_hash="h", topic="Stock Movement", topic_confidence=0.9,
                           sentiment=-1, p_negative=0.9, p_neutral=0.05, p_positive=0.05, score=-0.85,
                           model_version="m")  # fmt: skip
    letters = [DeadLetterRow(topic="finsent.news", partition=0, offset=offset, error="invalid JSON", raw_preview="{",
                             raw_bytes=1, failed_at=now - timedelta(minutes=1)) for offset in (1, 2)]  # fmt: skip
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        store.insert_documents([document])
        store.insert_dead_letters(letters)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "80"})
    return result.exit_code, result.output


def test_every_listing_prints_one_json_array(store_dir: Path) -> None:
    code, out = run("query", "dead-letters", "--since", "1h", "--format", "json")
    assert code == 0, out
    assert [row["offset"] for row in json.loads(out)] == [2, 1], "the newest dead letters, as an array"
    code, out = run("query", "dead-letters", "--since", "1h", "--reasons", "--format", "json")
    assert code == 0 and [(row["reason"], row["messages"]) for row in json.loads(out)] == [("invalid JSON", 2)]
    for listing in (["query", "labels"], ["query", "labels", "--disagreements"], ["query", "shadow"],
                    ["query", "shadow", "--disagreements"], ["query", "drift", "--since", "1h"],
                    ["query", "documents"], ["query", "movers"], ["models", "list"]):  # fmt: skip
        code, out = run(*listing, "--format", "json")
        assert code == 0 and isinstance(json.loads(out), list), (listing, out)


def test_tables_show_stored_markup_as_text_and_no_none_at_80_columns(store_dir: Path) -> None:
    code, out = run("query", "documents", "--since", "1h")
    assert code == 0, out
    assert "news:x:[/]d1" in out.split() and "[bold]slides[/]" in out and ":x:" in out and "❌" not in out
    code, out = run("query", "movers", "--window", "1h", "--baseline", "1d", "--min-docs", "1")
    assert code == 0, out
    assert "NVDA" in out and "None" not in out
    for listing in (["query", "documents"], ["query", "movers", "--min-docs", "1"], ["query", "dead-letters"]):
        assert all(len(line) <= 80 for line in run(*listing)[1].splitlines()), listing


def test_the_shipped_model_serves_until_a_version_is_promoted(store_dir: Path) -> None:
    version = ModelSpec.from_dir(SHIPPED_MODEL_DIR).model_version
    code, out = run("models", "list", "--format", "json")
    assert code == 0, out
    assert [(row["version"], row["serving"]) for row in json.loads(out)] == [(version, "*")]
    for name in (STUDENT, version):
        code, out = run("models", "show", name)
        assert code == 0, out
        shown = json.loads(out)
        assert (shown["version"], shown["serving"], shown["registered"]) == (version, True, False)
        assert 0 < shown["validation"]["sentiment"]["macro_f1"] < 1
    code, out = run("models", "show", "no-such-version")
    assert code == 7 and out.strip() == "Error: no model version 'no-such-version': see `finsent models list`"


def test_revoking_an_unknown_key_fails_in_one_line(store_dir: Path) -> None:
    code, out = run("api-key", "revoke", "nosuchid")
    assert code == 8 and out.strip() == "Error: no API key 'nosuchid': see `finsent api-key list`"
    code, out = run("api-key", "create", "desk")
    key_id = json.loads(out.splitlines()[0])["key_id"]
    assert json.loads(run("api-key", "revoke", key_id)[1])["changed"] is True
    assert run("api-key", "revoke", key_id) == (0, json.dumps({"key_id": key_id, "changed": False}) + "\n")
