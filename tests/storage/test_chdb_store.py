"""chdb specifics: one data path per process, a real release on close, lock errors."""

from __future__ import annotations

import gc
import math
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas import DocumentRow
from storage import StoreConfigError, StoreError, open_store
from storage.exceptions import StoreNotInitialised, short_reason

pytestmark = pytest.mark.integration

HOLD_PATH = """
import sys, time
from chdb.session import Session
session = Session(sys.argv[1])
session.query("SELECT 1")
print("ready", flush=True)
time.sleep(60)
"""


def test_second_store_in_one_process_is_refused(tmp_path: Path) -> None:
    with open_store(f"chdb://{tmp_path / 'first'}") as first:
        with pytest.raises(StoreError, match="already open in this process") as caught:
            open_store(f"chdb://{tmp_path / 'second'}")
        assert str(first.path) in str(caught.value)
    with open_store(f"chdb://{tmp_path / 'second'}") as second:
        second.ping()


def test_a_forgotten_store_frees_its_slot_when_collected(tmp_path: Path) -> None:
    forgotten = open_store(f"chdb://{tmp_path / 'forgotten'}")
    forgotten.ping()
    del forgotten
    gc.collect()
    with open_store(f"chdb://{tmp_path / 'next'}") as store:
        assert store._query("SELECT 2") == [(2,)]


def test_data_survives_close_and_reopen(tmp_path: Path, make_document: Callable[..., DocumentRow]) -> None:
    url = f"chdb://{tmp_path / 'db'}?database=finsent"
    with open_store(url) as store:
        store.init_schema()
        store.insert_documents([make_document("kept")])
    with open_store(url) as store:
        assert store.existing_documents(["kept"]) == {"kept": "hash-kept"}
        assert store._query("SELECT currentDatabase()") == [("finsent",)]


def test_path_locked_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "shared"
    path.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_PATH, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="another process") as caught:
            open_store(f"chdb://{path}")
        assert str(path) in str(caught.value)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    with open_store(f"chdb://{path}") as store:
        assert store._query("SELECT 1") == [(1,)]


def test_bad_sql_is_a_store_error(tmp_path: Path) -> None:
    with open_store(f"chdb://{tmp_path / 'db'}") as store, pytest.raises(StoreError, match=r"Syntax error") as caught:
        store._query("SELECT doc_id FROM numbers(1) WHERE (")
    assert "SYNTAX_ERROR" in str(caught.value)


def test_a_reader_does_not_create_a_store_where_there_is_none(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "chdb"
    with pytest.raises(StoreConfigError, match=r"no finsent store at .*FINSENT_DATA_DIR"):
        open_store(f"chdb://{missing}", create=False)
    assert not missing.exists()


def test_the_data_path_is_private_to_its_owner(tmp_path: Path) -> None:
    created = tmp_path / "data" / "chdb"
    with open_store(f"chdb://{created}") as store:
        store.init_schema()
    assert stat.S_IMODE(created.stat().st_mode) == stat.S_IMODE(created.parent.stat().st_mode) == 0o700
    os.chmod(created, 0o755)  # as earlier versions left it
    with open_store(f"chdb://{created}", create=False) as store:
        assert store.count_documents() == 0
    assert stat.S_IMODE(created.stat().st_mode) == 0o700


def test_a_store_without_tables_says_so_without_echoing_sql(tmp_path: Path) -> None:
    with open_store(f"chdb://{tmp_path / 'empty'}") as store, pytest.raises(StoreNotInitialised) as caught:
        store.count_documents()
    assert "no finsent tables yet" in str(caught.value)
    assert "SELECT" not in str(caught.value)


def test_short_reason_drops_the_quoted_query() -> None:
    text = "Code: 62. DB::Exception: Syntax error: failed at position 8. In scope SELECT secret FROM t. (SYNTAX_ERROR)"
    assert short_reason(text) == "Code: 62. DB::Exception: Syntax error: failed at position 8 (SYNTAX_ERROR)"


def test_an_alerts_table_from_before_not_configured_is_brought_up_to_date(tmp_path: Path) -> None:
    with open_store(f"chdb://{tmp_path / 'old'}") as store:
        store.init_schema()
        old = "Enum8('pending' = 1, 'delivered' = 2, 'failed' = 3)"
        store._command(f"ALTER TABLE alerts MODIFY COLUMN delivery_state {old}")
        store.init_schema()
        (kind,) = store._query("SELECT type FROM system.columns WHERE table = 'alerts' AND name = 'delivery_state'")[0]
        assert "'not_configured' = 4" in kind


def test_inserts_keep_every_value_exactly_whichever_way_they_go(tmp_path: Path) -> None:
    """Plain columns go as JSON, the rest (here a NaN) through Arrow: both keep the values bit for bit."""
    with open_store(f"chdb://{tmp_path / 'db'}") as store:
        store._command_locked("CREATE TABLE kept (x Float64, n Nullable(Float64), s Array(String)) ENGINE = Memory")
        plain = [[0.1 + 0.2, -5e-324, 1e308], [None, 0.5, 1 / 3], [['a\t"b'], [], ["\u00e9", ""]]]
        with store._open():
            store._insert("kept", ["x", "n", "s"], plain)
            store._insert("kept", ["x", "n", "s"], [[float("nan")], [None], [[]]])
        rows = store._query("SELECT x, n, s FROM kept ORDER BY isNaN(x), x")
    assert rows[:3] == [(-5e-324, 0.5, []), (0.1 + 0.2, None, ['a\t"b']), (1e308, 1 / 3, ["\u00e9", ""])]
    assert math.isnan(rows[3][0]) and rows[3][1:] == (None, [])


def test_the_story_index_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow imports pandas (seconds, on a busy host) at its first conversion; JSON inserts need neither."""
    code = f"""
import sys
from datetime import UTC, datetime
from storage import open_store
from storage.stories import StoryRepository
from streams.stories import StoryAssigner, StoryInput
with open_store("chdb://{tmp_path / "db"}") as store:
    store.init_schema()
    StoryAssigner(StoryRepository(store)).assign([StoryInput("d1", datetime(2026, 1, 1, tzinfo=UTC), "Acme rises", "")])
print("pandas" in sys.modules)
"""
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False"
