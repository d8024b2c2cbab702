"""AlertRecord / AlertRow: deterministic ids, whole-second UTC times, scope checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from schemas.alerts import ALERT_COLUMNS, AlertRecord, AlertRow, alert_id_for


def test_alert_id_is_derived_from_rule_scope_key_and_window_end(make_alert) -> None:
    first = make_alert(0)
    assert first.alert_id == make_alert(0, value=0.9, headlines=[]).alert_id  # re-evaluation: same id
    assert first.alert_id == alert_id_for("neg-burst", "symbol", "NVDA", first.fired_at)
    assert first.alert_id != make_alert(1).alert_id
    assert first.alert_id != make_alert(0, symbol="AAPL").alert_id
    assert first.alert_id != make_alert(0, rule_id="other").alert_id
    assert first.alert_id != make_alert(0, scope="topic", topic="NVDA").alert_id


def test_fired_at_is_whole_seconds_in_utc(make_alert) -> None:
    local = datetime(2026, 11, 23, 15, 0, 0, 999_999, tzinfo=timezone(timedelta(hours=1)))
    alert = make_alert(fired_at=local)
    assert alert.fired_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert alert.alert_id == make_alert(fired_at=datetime(2026, 11, 23, 14, 0)).alert_id  # naive = UTC


def test_explicit_ids_must_be_url_and_tag_safe(make_alert) -> None:
    assert make_alert(alert_id="engine-1:NVDA.2026").alert_id == "engine-1:NVDA.2026"
    with pytest.raises(ValidationError, match="alert_id"):
        make_alert(alert_id="a&b c")


def test_scope_needs_its_key(make_alert) -> None:
    with pytest.raises(ValidationError, match="needs a symbol"):
        make_alert(symbol="")
    with pytest.raises(ValidationError, match="needs a topic"):
        make_alert(scope="topic", symbol="")
    assert make_alert(scope="all", symbol="").scope_key == ""


def test_the_wire_form_round_trips(make_alert) -> None:
    alert = make_alert()
    payload = alert.model_dump_json()
    assert '"schema_version":1' in payload
    assert AlertRecord.model_validate_json(payload) == alert


def test_rows_carry_the_delivery_bookkeeping(make_alert) -> None:
    alert = make_alert()
    row = AlertRow.pending(alert)
    assert (row.delivery_state, row.delivery_attempts, row.annotation_id, row.version) == ("pending", 0, 0, 1)
    later = row.next_version(delivery_state="delivered", annotation_id=7)
    assert (later.version, later.alert_id, later.record()) == (2, alert.alert_id, alert)
    assert set(ALERT_COLUMNS) == set(AlertRow.model_fields) - {"schema_version"}
