"""The Grafana wrapper: annotation tags and text, idempotency lookup, error mapping (against the fake)."""

from __future__ import annotations

import pytest

from alerts.exceptions import GrafanaAuthError, GrafanaRejected, GrafanaUnavailable
from alerts.grafana import Grafana, _api_base, annotation_tags, annotation_text, format_window, public_url
from tests.fakes.grafana import TOKEN, FakeGrafana
from tests.fakes.openapi import SPEC_PATH


def test_annotation_carries_tags_time_and_escaped_text(grafana: Grafana, fake_grafana: FakeGrafana, make_alert) -> None:
    alert = make_alert(severity="critical", headlines=["Nvidia <b>slides</b> & falls", "second", "third"])
    annotation_id = grafana.post_annotation(alert)
    [stored] = fake_grafana.annotations
    assert stored["id"] == annotation_id
    assert stored["tags"] == [
        "finsent",
        "rule:neg-burst",
        "symbol:NVDA",
        "severity:critical",
        f"alert:{alert.alert_id}",
    ]
    assert stored["time"] == int(alert.fired_at.timestamp()) * 1000
    text = stored["text"]
    assert "negative_share = 0.8 &gt;= threshold 0.6 over 5m (40 documents)" in text
    assert "Nvidia &lt;b&gt;slides&lt;/b&gt; &amp; falls" in text and "<b>" not in text
    assert text.index("slides") < text.index("second") < text.index("third")
    [post] = fake_grafana.calls("POST", "/api/annotations")
    assert post.headers["Authorization"] == f"Bearer {TOKEN}"
    assert set(post.body) == {"time", "tags", "text"}  # no nulls for unset fields
    assert fake_grafana.violations == []


def test_topic_and_all_scopes_tag_accordingly(make_alert) -> None:
    assert "topic:Fed | Central Banks" in annotation_tags(make_alert(scope="topic", topic="Fed | Central Banks"))
    tags = annotation_tags(make_alert(scope="all", symbol=""))
    assert not any(tag.startswith(("symbol:", "topic:")) for tag in tags)
    assert annotation_text(make_alert(headlines=[f"h{i}" for i in range(9)])).count("•") == 5
    assert [format_window(s) for s in (90, 300, 7200, 86400)] == ["90s", "5m", "2h", "1d"]


def test_find_annotation_looks_up_the_alert_tag(grafana: Grafana, fake_grafana: FakeGrafana, make_alert) -> None:
    alert, other = make_alert(0), make_alert(1)
    assert grafana.find_annotation(alert.alert_id) is None
    posted = grafana.post_annotation(alert)
    grafana.post_annotation(other)
    assert grafana.find_annotation(alert.alert_id) == posted
    [lookup, *_] = fake_grafana.calls("GET", "/api/annotations")
    assert lookup.query == {"tags": [f"alert:{alert.alert_id}"], "type": ["annotation"], "limit": ["10"]}
    assert fake_grafana.violations == []


@pytest.mark.parametrize("mode", ["refused", "503", "slow"])
def test_outages_raise_grafana_unavailable(fake_grafana: FakeGrafana, mode: str) -> None:
    grafana = Grafana(fake_grafana.url, TOKEN, timeout_s=0.5)
    {"refused": fake_grafana.down, "503": lambda: fake_grafana.down(503), "slow": lambda: fake_grafana.slow(1.5)}[
        mode
    ]()
    with pytest.raises(GrafanaUnavailable) as raised:
        grafana.find_annotation("a1")
    assert TOKEN not in str(raised.value)
    fake_grafana.up()
    assert grafana.find_annotation("a1") is None  # recovers on the same client
    assert fake_grafana.violations == []


def test_a_wrong_token_is_an_auth_error_without_the_token(fake_grafana: FakeGrafana) -> None:
    grafana = Grafana(fake_grafana.url, "not-the-token-s3cret", timeout_s=1.0)
    with pytest.raises(GrafanaAuthError) as raised:
        grafana.find_annotation("a1")
    assert raised.value.status_code == 401
    assert "s3cret" not in str(raised.value) and "s3cret" not in repr(grafana)
    assert fake_grafana.violations == []


@pytest.mark.skipif(not SPEC_PATH.is_file(), reason="no OpenAPI spec: the fake does not validate")
def test_the_fake_rejects_requests_outside_the_spec(grafana: Grafana, fake_grafana: FakeGrafana) -> None:
    # grafana-client's own add_annotation sends unset fields as null, which the schema does not allow.
    with pytest.raises(GrafanaRejected) as raised:
        grafana._call("post", grafana.api.annotations.add_annotation, time_from=1, tags=["x"], text="t")
    assert raised.value.status_code == 400
    assert any("panelId: None is not of type 'integer'" in v for v in fake_grafana.violations)
    assert fake_grafana.annotations == []


def test_urls_keep_sub_paths_and_hide_credentials() -> None:
    assert _api_base("https://example.com/grafana") == "https://example.com/grafana/"
    assert _api_base("http://127.0.0.1:3000") == "http://127.0.0.1:3000"
    assert public_url("https://admin:pw@example.com:8443/grafana?verify=false") == "https://example.com:8443/grafana"
    assert Grafana("https://example.com/grafana", "t").api.client.url == "https://example.com/grafana/api"
    assert Grafana("https://example.com", "t", verify_tls=False).api.client.verify is False
