"""Query parameters rendered as the drivers render them."""

from __future__ import annotations

import pytest

from storage.values import IntegersText, render_params


def test_integers_render_as_one_string_literal() -> None:
    sql = render_params("SELECT splitByChar(',', %(keys)s)", {"keys": IntegersText([3, 10, 4_294_967_295])})
    assert sql == "SELECT splitByChar(',', '3,10,4294967295')"


def test_integers_text_refuses_what_is_not_an_integer() -> None:
    with pytest.raises(ValueError):
        IntegersText(["1'); DROP TABLE documents; --"])  # type: ignore[list-item]
    assert str(IntegersText([])) == "''"
