"""Credentials in URLs never reach printed or logged configuration."""

from __future__ import annotations

import pytest

from config import Settings
from config.masking import MASK, is_secret_name, mask_url


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://admin:pw@grafana:3000/x?page=2", f"https://{MASK}@grafana:3000/x?page=2"),
        ("https://token@h", f"https://{MASK}@h"),
        ("clickhouse://u:p@ss@db:9000/finsent", f"clickhouse://{MASK}@db:9000/finsent"),
        ("https://h/api?password=hunter2", f"https://h/api?password={MASK}"),
        ("https://h/?user=bob&token=t0k&page=2", f"https://h/?user=bob&token={MASK}&page=2"),
        (
            "https://h/?api_key=k&apiKey=k2;client_secret=s",
            f"https://h/?api_key={MASK}&apiKey={MASK};client_secret={MASK}",
        ),
        (
            "https://b.s3/o?X-Amz-Signature=abc&X-Amz-Credential=id",
            f"https://b.s3/o?X-Amz-Signature={MASK}&X-Amz-Credential={MASK}",
        ),
        ("https://h/cb#access_token=t&state=1", f"https://h/cb#access_token={MASK}&state=1"),
        ("https://h/?sig=abc&design=plain", f"https://h/?sig={MASK}&design=plain"),
        ("https://h/?token=", "https://h/?token="),
        ("store at s3://k:s@bucket/x and https://h/?pwd=1", f"store at s3://{MASK}@bucket/x and https://h/?pwd={MASK}"),
        ("https://h/path", "https://h/path"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("k1:9093,k2:9093", "k1:9093,k2:9093"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked


@pytest.mark.parametrize("name", ["password", "PASSWD", "pwd", "token", "secret", "key", "api_key", "AuthToken", "sig"])
def test_credential_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["page", "database", "secure", "compression", "verify", "signal", "user"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_the_printed_configuration_masks_query_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_GRAFANA_URL", "https://grafana.example.com/?token=graf-t0ken&orgId=1")
    monkeypatch.setenv("FINSENT_STORE_URL", "clickhouse://finsent:db-pw@db:9000/finsent?secure=true")
    monkeypatch.setenv("FINSENT_KAFKA_BOOTSTRAP", "sasl://svc:kafka-pw@k1:9093")
    view = str(Settings(_env_file=None).public_view())  # type: ignore[call-arg]
    for secret in ("graf-t0ken", "db-pw", "kafka-pw", "svc"):
        assert secret not in view
    assert "orgId=1" in view and "secure=true" in view
