"""One duration grammar for rules, the CLI and the API."""

from __future__ import annotations

import pytest

from schemas.durations import DURATION_PATTERN, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("90s", 90), ("15m", 900), ("6h", 21_600), ("7d", 604_800), (" 10 m ", 600), (30, 30)],
)
def test_durations_read_the_same_everywhere(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "-1m", "1w", "", "1.5h", True, None, 2.5, "99999999999d"])
def test_anything_else_is_a_one_line_error(text: object) -> None:
    with pytest.raises(ValueError, match="duration") as caught:
        parse_duration(text)
    assert "\n" not in str(caught.value)


def test_limits_name_both_ends() -> None:
    with pytest.raises(ValueError, match="between 1m and 1d"):
        parse_duration("2d", minimum_s=60, maximum_s=86_400)
    with pytest.raises(ValueError, match="between 1m and 1d"):
        parse_duration("30s", minimum_s=60, maximum_s=86_400)


def test_ten_years_is_the_longest_duration() -> None:
    assert parse_duration("3650d") == 3650 * 86_400
    with pytest.raises(ValueError, match="between"):
        parse_duration("3651d")


def test_format_is_the_shortest_exact_spelling() -> None:
    assert [format_duration(s) for s in (90, 300, 3600, 86_400 * 7, 0)] == ["90s", "5m", "1h", "7d", "0s"]


def test_the_pattern_matches_the_grammar() -> None:
    import re

    assert re.match(DURATION_PATTERN, "15m") and not re.match(DURATION_PATTERN, "15 minutes")


def test_the_default_range_end_includes_what_was_stored_this_second() -> None:
    from datetime import UTC, datetime

    from schemas.durations import end_of_now

    stored = datetime.now(UTC).replace(microsecond=0)  # stored times are whole seconds
    end = end_of_now()
    assert end.microsecond == 0 and stored < end
