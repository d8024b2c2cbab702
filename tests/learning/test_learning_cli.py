"""``finsent label``, ``query labels|review|drift`` and ``models …`` on a small store, one line per error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsent.cli import main
from storage import open_store
from tests.learning.conftest import LABELLED, labelled_document

pytestmark = pytest.mark.integration


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_label_list_review_drift_and_registry_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_model_dir: Path
) -> None:
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FINSENT_STORE_URL", raising=False)
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        store.insert_documents([labelled_document(i, headline) for i, (headline, _) in enumerate(LABELLED[:6])])
    code, out = run("label", "doc-001", "--sentiment", "positive", "--topic", "earnings")
    assert code == 0, out
    assert [(row["task"], row["label"], row["labeller"]) for row in json.loads(out)] == [
        ("sentiment", "positive", "cli"), ("topic", "Earnings", "cli")]  # fmt: skip
    assert run("label", "doc-001")[0] == 2, "a label needs a sentiment or a topic"
    code, out = run("label", "nope", "--sentiment", "negative")
    assert code == 7 and out.strip() == "Error: no stored document 'nope': see `finsent query documents` for ids"
    code, out = run("query", "labels", "--format", "json")
    predicted = {row["predicted"] for row in json.loads(out)}  # one JSON array, as every listing
    assert code == 0 and predicted == {"neutral", "Company | Product News"}
    code, out = run("query", "review", "--since", "3650d", "--format", "json")
    assert code == 0 and "doc-001" not in {row["doc_id"] for row in json.loads(out)} and json.loads(out)
    ranked = CliRunner().invoke(main, ["query", "review", "--since", "3650d", "--teacher", str(tiny_model_dir),
                                       "--format", "json"])  # fmt: skip
    assert ranked.exit_code == 0, ranked.output
    assert all(0 <= row["disagreement"] <= 1 and row["teacher"] for row in json.loads(ranked.stdout))
    code, out = run("query", "drift", "--since", "3650d", "--format", "json")
    assert code == 0 and json.loads(out)[0]["docs"] == 6
    assert run("models", "list")[0] == 0
    code, out = run("models", "promote", "v9")
    assert code == 7 and out.strip() == "Error: no model version 'v9': see `finsent models list`"
    assert run("models", "shadow")[0] == 2, "a version or --off"
    code, out = run("models", "shadow", "v9", "--sample", "0.2")
    assert code == 7 and "no model version 'v9'" in out
    code, out = run("models", "shadow", "--off")
    assert code == 0 and json.loads(out)["version"] == ""
    code, out = run("query", "shadow", "--format", "json")
    assert code == 0 and json.loads(out) == []
    code, out = run("query", "shadow", "--disagreements", "--format", "json")
    assert code == 0 and json.loads(out) == []
    code, out = run("models", "rollback")
    assert code == 7 and "nothing to roll back to" in out
