"""compose/: docker-compose accepts the stack, images are pinned, services are health-checked, no secret is written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
SECRET_KEY = re.compile(r"PASSWORD|TOKEN|SECRET|HASH_KEY")
# ${VAR}, ${VAR:?message} or ${VAR:-} (an empty default); never a default value.
SECRET_REFERENCE = re.compile(r"\$\{[A-Z][A-Z0-9_]*(:\?[^}]*|:-)?\}")
ONE_SHOT = {"no", "on-failure"}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def run_config(env_file: Path | None) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    args = [binary, *(["--env-file", str(env_file)] if env_file else []), "-f", str(COMPOSE_FILE), "config", "-q"]
    # A clean environment: only the env file may supply the variables.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_docker_compose_accepts_the_file_with_the_example_env() -> None:
    result = run_config(ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_run_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = run_config(empty)
    assert result.returncode != 0
    assert "Missing mandatory value" in result.stderr


def test_compose_file_avoids_what_docker_compose_1_29_rejects() -> None:
    document = compose()
    assert not {"name", "include"} & set(document)
    for name, service in services().items():
        assert "gpus" not in service, name
        assert "start_interval" not in service.get("healthcheck", {}), name
        env_files = service.get("env_file", [])
        assert all(isinstance(item, str) for item in ([env_files] if isinstance(env_files, str) else env_files)), name


@pytest.mark.parametrize("name", sorted(services()))
def test_image_is_pinned(name: str) -> None:
    image = services()[name]["image"]
    repository, _, tag = image.rpartition(":")
    assert repository and "/" not in tag, f"{image}: no tag"
    assert tag not in ("latest", "") and not tag.startswith("latest-"), f"{image}: pin a version"


@pytest.mark.parametrize("name", sorted(services()))
def test_long_running_service_is_health_checked(name: str) -> None:
    service = services()[name]
    assert "restart" in service, f"{name}: set a restart policy"
    if service["restart"] in ONE_SHOT:
        return
    healthy_deps = [dep for dep, spec in _depends_on(service) if spec.get("condition") == "service_healthy"]
    assert "healthcheck" in service or healthy_deps, f"{name}: add a healthcheck or depend on a healthy service"


@pytest.mark.parametrize("name", sorted(services()))
def test_dependencies_wait_for_a_condition_they_can_meet(name: str) -> None:
    for dep, spec in _depends_on(services()[name]):
        condition = spec.get("condition")
        assert condition in ("service_healthy", "service_completed_successfully"), f"{name} → {dep}"
        target = services()[dep]
        if condition == "service_healthy":
            assert "healthcheck" in target, f"{name} waits for {dep}, which has no healthcheck"
        else:
            assert target.get("restart") == "no", f"{dep} must be a one-shot service"


def test_no_literal_secrets() -> None:
    found = list(_secret_values(compose()))
    assert found, "expected secrets wired from the environment"
    literal = [(key, value) for key, value in found if not SECRET_REFERENCE.fullmatch(str(value))]
    assert not literal, f"write secrets as ${{VAR:?...}} references, not values: {literal}"


def test_gpu_worker_reserves_a_gpu_under_its_profile() -> None:
    gpu = services()["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


def test_the_api_runs_by_default_and_is_checked_on_healthz() -> None:
    api = services()["api"]
    assert "profiles" not in api and api["command"][:2] == ["finsent", "api"]
    assert "/healthz" in " ".join(api["healthcheck"]["test"])


def test_grafana_provisioning_matches_finsent_and_the_mounts() -> None:
    datasources = yaml.safe_load((COMPOSE_DIR / "grafana/provisioning/datasources/clickhouse.yaml").read_text())
    (source,) = datasources["datasources"]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["uid"] == Settings.model_fields["grafana_datasource_uid"].default
    providers = yaml.safe_load((COMPOSE_DIR / "grafana/provisioning/dashboards/finsent.yaml").read_text())
    path = providers["providers"][0]["options"]["path"]
    assert f"../dashboards:{path}:ro" in services()["grafana"]["volumes"]
    assert any(volume.startswith("./clickhouse/users.d/") for volume in services()["clickhouse"]["volumes"]), (
        "ClickHouse users are mounted"
    )


def _depends_on(service: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return [(dep, {}) for dep in depends]
    return list(depends.items())


def _secret_values(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """(key, value) for every scalar whose key names a secret, in mappings and KEY=VALUE lists."""
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from _secret_values(value, str(child_key))
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and "=" in item:
                name, _, value = item.partition("=")
                yield from _secret_values(value, name)
            else:
                yield from _secret_values(item, key)
    elif SECRET_KEY.search(key.upper()):
        yield key, node


def test_the_topic_job_creates_the_configured_topics_before_any_worker_starts() -> None:
    init = services()["kafka-init"]
    assert init["command"] == ["finsent", "topics", "create"] and init["restart"] == "no"
    assert init["environment"]["FINSENT_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert services()["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name in ("worker", "worker-gpu"):
        assert services()[name]["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"


def test_the_kafka_image_is_the_version_the_tests_run() -> None:
    from finsent.dev.apache_kafka import KAFKA_VERSION

    pom = (ROOT / "tests/kafka/pom.xml").read_text()
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in pom
    assert services()["kafka"]["image"] == f"apache/kafka:{KAFKA_VERSION}"
