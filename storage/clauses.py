"""``Where``: one query's WHERE conditions, built up together with the parameters they bind."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Self

_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Where:
    """Conditions joined by ``AND``, each with the values its ``%(name)s`` placeholders take.

    Values are only ever bound as parameters (the backends escape them); a condition's text is the
    calling code's own, never built from input.
    """

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.params: dict[str, Any] = {}

    def add(self, condition: str, **params: Any) -> Self:
        """Add ``condition``, whose placeholders take ``params``; a name bound to another value is an error."""
        for name, value in params.items():
            if name in self.params and self.params[name] != value:
                raise ValueError(f"query parameter {name!r} is bound to two values")
        self.conditions.append(condition)
        self.params.update(params)
        return self

    def given(self, condition: str, **params: Any) -> Self:
        """Add ``condition`` unless a value in ``params`` is None (an optional filter left out)."""
        if any(value is None for value in params.values()):
            return self
        return self.add(condition, **params)

    def between(self, column: str, start: datetime, end: datetime) -> Self:
        """``start <= column < end``, bound as ``start`` and ``end``."""
        if not _COLUMN.match(column):
            raise ValueError(f"not a column name: {column!r}")
        return self.add(f"{column} >= %(start)s AND {column} < %(end)s", start=start, end=end)

    @property
    def sql(self) -> str:
        """The conditions joined by ``AND``; ``1`` when there are none."""
        return " AND ".join(self.conditions) or "1"
