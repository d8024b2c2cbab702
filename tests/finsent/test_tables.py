"""CLI tables: stored text drawn as text, not markup; the terminal's width kept; no word split; no ``None``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from finsent.query import compact_alerts
from finsent.tables import MIN_WIDTH, NO_VALUE, column_widths, render, terminal_width

HOSTILE = [
    {
        "doc_id": "social:x:gen-7f3a",
        "source": "[bold]wire[/bold]",
        "headline": "Shares [/] slide :x: after [red]export curbs[/red] hit chip makers :thumbs_up:",
        "score": -0.8512,
    },
    {"doc_id": "news:[link=https://evil.example]n1", "source": "wire", "headline": "[/]", "score": None},
]


def lines_of(text: str) -> list[str]:
    return text.splitlines()


def test_a_table_of_hostile_stored_text_prints_it_as_it_is_at_80_columns() -> None:
    out = render(HOSTILE, "table", width=80)  # rich would raise MarkupError on "[/]" if it read markup
    flat = " ".join(out.split())
    for text in ("social:x:gen-7f3a", "[bold]wire[/bold]", "[/]", ":x:", "[red]export", ":thumbs_up:", "[link="):
        assert text in flat, text
    assert "❌" not in out and "👍" not in out
    assert all(len(line) <= 80 for line in lines_of(out)), out


def test_no_word_of_the_compact_alerts_table_is_split_at_80_columns() -> None:
    fired = datetime(2026, 12, 6, 10, 45, tzinfo=UTC)
    alert = {"fired_at": fired, "rule_id": "symbol-negative-burst", "severity": "critical", "symbol": "NVDA",
             "topic": "", "metric": "negative_share", "value": 0.8123, "comparison": ">=", "threshold": 0.6,
             "doc_count": 143, "delivery_state": "delivered"}  # fmt: skip
    rows = compact_alerts([alert, {**alert, "symbol": "", "topic": "Fed | Central Banks", "rule_id": "topic-gloom"}])
    out = render(rows, "table", width=80)
    words = set(out.split())
    for row in rows:
        for cell in row.values():
            assert set(str(cell).split()) <= words, (cell, out)
    assert all(len(line) <= 80 for line in lines_of(out))
    header = lines_of(out)[: next(i for i, line in enumerate(lines_of(out)) if line.startswith("─"))]
    assert {"fired", "(UTC)", "rule", "severity", "delivery"} <= set(" ".join(header).split()), "a table, not records"


def test_rows_too_wide_for_the_terminal_become_records_with_words_whole() -> None:
    row = {"doc_id": "news:reuters-20261206-0001", "url": "https://example.com/" + "a" * 40,
           "headline": "Nvidia slides", "symbols": ["NVDA", "AMD"], "topic": "Stock Movement",
           "sentiment": "negative", "score": -0.85}  # fmt: skip
    out = render([row, row], "table", width=80)
    assert re.search(r"^doc_id\s+news:reuters-20261206-0001$", out, re.MULTILINE), out
    assert row["url"] in out.split() and "NVDA; AMD" in out
    assert all(len(line) <= 80 for line in lines_of(out))


def test_a_missing_value_is_a_dash_in_a_table_empty_in_csv_and_null_in_json() -> None:
    rows = [{"name": "NVDA", "window_mean": -0.4, "baseline_mean": None}]
    table = render(rows, "table", width=80)
    assert "None" not in table and NO_VALUE in lines_of(table)[-1].split()
    assert render(rows, "csv").splitlines()[1] == "NVDA,-0.4000,"
    assert json.loads(render(rows, "json")) == rows


def test_control_characters_in_stored_text_do_not_reach_the_terminal() -> None:
    out = render([{"headline": "red\x1b[31m alert\nsecond line\x07"}], "table", width=80)
    assert "\x1b" not in out and "\x07" not in out
    assert "second line" in out


def test_column_widths_give_each_column_its_longest_word_or_refuse() -> None:
    columns = [["rule", "symbol-negative-burst"], ["measured", "negative_share 0.81 >= 0.6"]]
    assert column_widths(columns, 200) == [21, 26]
    narrow = column_widths(columns, 40)
    assert narrow is not None and narrow[0] == 21 and 14 <= narrow[1] <= 40 - 21 - 2
    assert column_widths(columns, 30) is None, "21 + 14 + a gap cannot fit 30 columns"


@pytest.mark.parametrize(("columns", "expected"), [("132", 132), ("40", MIN_WIDTH)])
def test_the_table_width_follows_columns_and_never_drops_below_80(
    columns: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    assert terminal_width() == expected
    wide = render([{"headline": "word " * 40}], "table")
    assert max(len(line) for line in lines_of(wide)) <= expected
