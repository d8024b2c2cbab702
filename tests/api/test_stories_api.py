"""``GET /v1/stories``: the seeded documents grouped by story, most copies first."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import auth
from tests.dashboards.seed import BURST_SYMBOL, NOW


def test_stories_of_a_range_most_copies_first(client: TestClient, keys: dict[str, str]) -> None:
    params = {"from": (NOW - timedelta(hours=6)).isoformat(), "to": NOW.isoformat(), "symbol": BURST_SYMBOL}
    found = client.get("/v1/stories", params=params | {"limit": 5}, headers=auth(keys["read"]))
    assert found.status_code == 200, found.text
    stories = found.json()
    assert 0 < len(stories) <= 5
    assert [s["copies"] for s in stories] == sorted((s["copies"] for s in stories), reverse=True)
    assert all(s["first_headline"] and s["sources"] and -1 <= s["mean_score"] <= 1 for s in stories)


def test_stories_need_a_key_and_a_sane_limit(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/v1/stories").status_code == 401
    assert client.get("/v1/stories", params={"limit": 501}, headers=auth(keys["read"])).status_code == 422
