"""The test broker's cluster id: the storage tool takes an id starting with "-" for an option."""

from __future__ import annotations

import uuid

import pytest

from finsent.dev import apache_kafka


def test_a_cluster_id_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])  # "-A..." then "AA..."
    monkeypatch.setattr(apache_kafka.uuid, "uuid4", lambda: next(drawn))
    assert apache_kafka.new_cluster_id() == "A" * 22
