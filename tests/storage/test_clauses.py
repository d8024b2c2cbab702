"""``Where``: conditions and their bound parameters, optional filters left out, no value in the SQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.clauses import Where
from storage.values import render_params

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)


def test_conditions_join_with_and_and_values_stay_parameters() -> None:
    where = Where().between("event_time", START, END).given("symbol = %(symbol)s", symbol="x' OR 1=1 --")
    assert where.sql == "event_time >= %(start)s AND event_time < %(end)s AND symbol = %(symbol)s"
    assert where.params == {"start": START, "end": END, "symbol": "x' OR 1=1 --"}
    assert "symbol = 'x\\' OR 1=1 --'" in render_params(where.sql, where.params)


def test_an_optional_filter_without_a_value_is_left_out() -> None:
    where = Where().given("topic = %(topic)s", topic=None).given("a = %(a)s AND b = %(b)s", a=1, b=None)
    assert (where.sql, where.params) == ("1", {})


def test_one_name_bound_to_two_values_is_refused() -> None:
    where = Where().add("key = %(key)s", key="a").add("other = %(key)s", key="a")
    assert where.params == {"key": "a"}
    with pytest.raises(ValueError, match="'key'"):
        where.add("key != %(key)s", key="b")


def test_a_range_takes_only_a_column_name() -> None:
    with pytest.raises(ValueError, match="column"):
        Where().between("minute) OR (1", START, END)
