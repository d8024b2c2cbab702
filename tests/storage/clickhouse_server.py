"""Fixtures for tests that need a real ClickHouse server: Debian's clickhouse-server (18.16).

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``: one server per
session on free local ports, and a fresh database name per test.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_BINARIES = ("clickhouse-server", "/usr/sbin/clickhouse-server")
SKIP_REASON = "clickhouse-server not installed: make test installs it (apt-get install clickhouse-server)"
START_TIMEOUT_S = 30.0
_databases = itertools.count()

CONFIG_XML = """<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{root}/log/server.log</log>
        <errorlog>{root}/log/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <path>{root}/data/</path>
    <tmp_path>{root}/tmp/</tmp_path>
    <user_files_path>{root}/user_files/</user_files_path>
    <format_schema_path>{root}/format_schemas/</format_schema_path>
    <users_config>{root}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>{timezone}</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>20</max_concurrent_queries>
</yandex>
"""

USERS_XML = """<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_binary() -> str | None:
    for candidate in SERVER_BINARIES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _server_timezone() -> str:
    """Not UTC on purpose: code that leans on the server's zone fails here, not in production."""
    return "Asia/Kolkata" if Path("/usr/share/zoneinfo/Asia/Kolkata").exists() else "UTC"


def _write_config(root: Path, tcp_port: int, http_port: int) -> Path:
    for sub in ("log", "data", "tmp", "user_files", "format_schemas"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "users.xml").write_text(USERS_XML)
    config = root / "config.xml"
    config.write_text(CONFIG_XML.format(root=root, tcp_port=tcp_port, http_port=http_port, timezone=_server_timezone()))
    return config


def _wait_for_ping(process: subprocess.Popen[bytes], http_port: int, root: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/ping", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    log = root / "log" / "server.err.log"
    tail = log.read_text()[-2_000:] if log.exists() else "(no error log)"
    pytest.fail(f"clickhouse-server did not answer /ping within {START_TIMEOUT_S:.0f} s:\n{tail}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A private clickhouse-server on 127.0.0.1; yields its native (TCP) port."""
    binary = _server_binary()
    if binary is None:
        pytest.skip(SKIP_REASON)
    root = tmp_path_factory.mktemp("clickhouse-server")
    tcp_port, http_port = free_port(), free_port()
    config = _write_config(root, tcp_port, http_port)
    with open(root / "log" / "stdout.log", "wb") as output:
        process = subprocess.Popen(
            [binary, f"--config-file={config}"], cwd=root, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_ping(process, http_port, root)
        yield tcp_port
    finally:
        _stop(process)


@pytest.fixture
def clickhouse_url(clickhouse_server: int) -> str:
    """A URL for a database of its own on the session's server (created by init_schema)."""
    return f"clickhouse://default@127.0.0.1:{clickhouse_server}/finsent_test_{next(_databases)}"


@pytest.fixture
def closed_port() -> int:
    """A local port with no listener: connections to it are refused."""
    return free_port()


class ClickHouseProcess:
    """A private clickhouse-server that a test can stop and start again (same ports, same data)."""

    def __init__(self, root: Path) -> None:
        binary = _server_binary()
        if binary is None:
            pytest.skip(SKIP_REASON)
        self.binary, self.root = binary, root
        self.tcp_port, self.http_port = free_port(), free_port()
        self.config = _write_config(root, self.tcp_port, self.http_port)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"clickhouse://default@127.0.0.1:{self.tcp_port}/finsent_outage"

    def start(self) -> ClickHouseProcess:
        with open(self.root / "log" / "stdout.log", "ab") as output:
            self.process = subprocess.Popen(
                [self.binary, f"--config-file={self.config}"], cwd=self.root, stdout=output, stderr=subprocess.STDOUT
            )
        _wait_for_ping(self.process, self.http_port, self.root)
        return self

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None
