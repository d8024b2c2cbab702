"""The demo's live view draws stored text (symbols, topics, rule ids, headlines) as text, never as markup."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import orjson
from rich.console import Console

from finsent.dev.live import ScoreBoard, render
from schemas.alerts import AlertRecord


def test_the_live_view_shows_markup_and_emoji_codes_in_stored_text_as_they_are() -> None:
    board = ScoreBoard()
    for number in range(3):
        board.add(orjson.dumps({"symbol": "[/]", "doc_id": f"d{number}", "topic": "[bold]Earnings :x:", "score": -0.5,
                                "sentiment": -1}))  # fmt: skip
    board.add_alert(AlertRecord(
        fired_at=datetime(2026, 12, 6, 10, 45, tzinfo=UTC), severity="critical", rule_id="gloom", scope="topic",
        topic="[/]", metric="mean_score", value=-0.5, comparison="<", threshold=-0.3, window_s=300, doc_count=3,
        headlines=["Chips [/] :x:"],
    ))  # fmt: skip
    console = Console(width=160, record=True, file=io.StringIO())  # markup and emoji on, as the demo's console
    console.print(render(board, {"docs": 3}))
    out = console.export_text()
    assert "[/]" in out and "[bold]Earnings :x:" in out and "Chips [/] :x:" in out and "❌" not in out
